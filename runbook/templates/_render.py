"""Templates as runbook renders them: every `{{ }}` value shell-quoted unless it ends with
`| raw`, in sandboxed Jinja2 (_jinja.py).

Quoting happens in `finalize`, which Jinja applies to the value of every `{{ }}`; `raw`
marks its result so `finalize` leaves it alone. Inventory data can therefore never inject
shell syntax into a command unless the author asked for exactly that, in writing.

Text without any Jinja syntax (most titles and commands) is its own rendering: Jinja2 is
imported only for a template, so a playbook without any never loads it (~40 ms of the
start of every run, before its first host could be dialled).
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Mapping, Sequence
from typing import Any

from runbook.errors import InputError, Issue
from runbook.model import Host, Location, RunMode


class Raw(str):
    """Text the author marked `| raw`: substituted as is, unquoted."""

    __slots__ = ()


class Namespace(dict[str, Any]):
    """`vars`, `host`, `host.vars`, `run`: keys win over dict methods (`vars.items` is a var)."""

    __slots__ = ("label",)

    def __init__(self, label: str, items: Mapping[str, Any]) -> None:
        super().__init__(items)
        self.label = label

    def __getattribute__(self, name: str) -> Any:
        if not name.startswith("_") and dict.__contains__(self, name):
            value = dict.__getitem__(self, name)
            if isinstance(value, dict) and not isinstance(value, Namespace):
                return Namespace(f"{object.__getattribute__(self, 'label')}.{name}", value)
            return value
        return super().__getattribute__(name)


def label_of(obj: Any) -> str | None:
    """`vars`, `host.vars`, ... for a Namespace; None for anything else."""
    return object.__getattribute__(obj, "label") if isinstance(obj, Namespace) else None


def _text(value: Any, sep: str) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        if type(value) is not str and _is_markup(value):
            # `| tojson`, `| safe` return Markup, whose `+` HTML-escapes what is added to
            # it: shell quotes around it would come out as &#39;. Plain text it is.
            return str.__str__(value)
        return value
    if isinstance(value, Mapping):
        # the file's order: YAML keys may mix types that cannot be sorted together
        return json.dumps(dict(value), default=str)
    if isinstance(value, (list, tuple)):
        return sep.join(_text(v, sep) for v in value)
    return str(value)


def _is_markup(value: str) -> bool:
    """A Markup string: only a template makes one, so markupsafe is loaded already then."""
    import sys

    markupsafe = sys.modules.get("markupsafe")
    return markupsafe is not None and isinstance(value, markupsafe.Markup)


def text_of(value: Any) -> str:
    """A value as a template substitutes it, before quoting."""
    return _text(value, " ")


def _quote(value: Any) -> str:
    if isinstance(value, Raw):
        return value
    if isinstance(value, (list, tuple)):
        # A list becomes several shell words, each quoted: `rm {{ vars.files }}` is safe.
        return " ".join(shlex.quote(_text(v, " ")) for v in value)
    return shlex.quote(_text(value, " "))


def _plain(value: Any) -> str:
    return _text(value, ", ")


def has_template(text: str) -> bool:
    """Whether `text` holds any Jinja syntax at all (most titles do not)."""
    return "{{" in text or "{%" in text or "{#" in text


def context(
    vars: Mapping[str, Any],
    host: Host | None,
    run_id: str,
    mode: RunMode,
    steps: Mapping[str, Any] | None = None,
    hosts: Sequence[Host] | None = None,
) -> dict[str, Any]:
    """What templates see: `vars`, `run`, for remote steps `host`; `steps` where a step
    reads others, and a manual step's `hosts` (name, address, vars)."""
    ctx: dict[str, Any] = {
        "vars": Namespace("vars", vars),
        "run": Namespace("run", {"id": run_id, "mode": mode}),
    }
    if steps is not None:
        ctx["steps"] = steps
    if hosts is not None:
        ctx["hosts"] = hosts_view(hosts)
    if host is not None:
        ctx["host"] = Namespace(
            "host",
            {
                "name": host.name,
                "address": host.address,
                "port": host.port,
                "user": host.user,
                "groups": list(host.groups),
                "vars": Namespace("host.vars", host.vars),
            },
        )
    return ctx


def hosts_view(hosts: Sequence[Host]) -> list[Namespace]:
    """A manual step's `hosts` in its text: name, address and vars of each."""
    return [
        Namespace(
            f"hosts['{h.name}']",
            {"name": h.name, "address": h.address, "vars": Namespace("host.vars", h.vars)},
        )
        for h in hosts
    ]


def render_command(template: str, ctx: Mapping[str, Any], location: Location | None = None) -> str:
    """A shell command with every substituted value quoted; InputError when it cannot render."""
    return _render(template, ctx, True, location)


def render_text(template: str, ctx: Mapping[str, Any], location: Location | None = None) -> str:
    """Plain text (title, manual instructions): nothing quoted."""
    return _render(template, ctx, False, location)


def _render(source: str, ctx: Mapping[str, Any], command: bool, where: Location | None) -> str:
    if not has_template(source):
        return source
    from runbook.templates._jinja import RENDER_ERRORS, compile_template, describe_error

    try:
        return compile_template(source, command).render(ctx)
    except RENDER_ERRORS as e:
        message, hint = describe_error(e, ctx)
        raise InputError([Issue(where, f"template: {message}", hint)]) from None

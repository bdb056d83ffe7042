"""Sandboxed Jinja2 templates: every `{{ }}` value shell-quoted unless it ends with `| raw`.

Quoting happens in `finalize`, which Jinja applies to the value of every `{{ }}`; `raw`
marks its result so `finalize` leaves it alone. Inventory data can therefore never inject
shell syntax into a command unless the author asked for exactly that, in writing.
"""

from __future__ import annotations

import difflib
import json
import re
import shlex
from collections.abc import Mapping, Sequence
from typing import Any

import jinja2
from jinja2 import nodes
from jinja2.exceptions import SecurityError, TemplateSyntaxError, UndefinedError
from jinja2.sandbox import ImmutableSandboxedEnvironment
from markupsafe import Markup

from runbook.errors import InputError, Issue
from runbook.model import Host, Location, RunMode
from runbook.secrets import MASK, Redactor, SecretText, is_secret_name
from runbook.templates._filters import ansible_filters
from runbook.templates._reads import Read, root_reads


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


class _Undefined(jinja2.StrictUndefined):
    @property
    def _undefined_message(self) -> str:
        label = label_of(self._undefined_obj)
        if label is not None:
            return f"'{label}.{self._undefined_name}' is undefined"
        return str(super()._undefined_message)


def _text(value: Any, sep: str) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Markup):
        # `| tojson`, `| safe` return Markup, whose `+` HTML-escapes what is added to it:
        # shell quotes around it would come out as &#39;. Plain text it is.
        return str.__str__(value)
    if isinstance(value, str):
        return value
    if isinstance(value, Mapping):
        # the file's order: YAML keys may mix types that cannot be sorted together
        return json.dumps(dict(value), default=str)
    if isinstance(value, (list, tuple)):
        return sep.join(_text(v, sep) for v in value)
    return str(value)


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


def _raw(value: Any) -> Raw:
    if isinstance(value, jinja2.Undefined):
        str(value)  # raises the undefined error
    return Raw(_text(value, " "))


class _Sandbox(ImmutableSandboxedEnvironment):
    def is_safe_attribute(self, obj: Any, attr: str, value: Any) -> bool:
        # `vars.update` is the variable named update, not dict.update: reading it is safe.
        if isinstance(obj, Namespace) and dict.__contains__(obj, attr):
            return True
        return bool(super().is_safe_attribute(obj, attr, value))


def _environment(finalize: Any) -> ImmutableSandboxedEnvironment:
    env = _Sandbox(
        undefined=_Undefined, autoescape=False, finalize=finalize, keep_trailing_newline=True
    )
    env.filters.update(ansible_filters(Raw))
    env.filters["raw"] = _raw
    return env


# What a user's expression can raise while rendering, besides jinja2's own errors.
RENDER_ERRORS: tuple[type[Exception], ...] = (
    jinja2.TemplateError,
    ArithmeticError,
    TypeError,
    ValueError,
    LookupError,
    AttributeError,
    RecursionError,
)

_COMMAND_ENV = _environment(_quote)
_TEXT_ENV = _environment(_plain)
_CACHE_MAX = 20_000
_cache: dict[tuple[bool, str], jinja2.Template] = {}
_reads: dict[tuple[bool, str], tuple[Read, ...]] = {}


def has_template(text: str) -> bool:
    """Whether `text` holds any Jinja syntax at all (most titles do not)."""
    return "{{" in text or "{%" in text or "{#" in text


def compile_template(source: str, command: bool) -> jinja2.Template:
    """Compiled template (cached: a big playbook repeats the same commands)."""
    key = (command, source)
    template = _cache.get(key)
    if template is None:
        if len(_cache) >= _CACHE_MAX:
            _cache.clear()
            _reads.clear()
        env = _COMMAND_ENV if command else _TEXT_ENV
        # Parsed once: the tree gives both the code and what the template reads.
        tree = env.parse(source)
        reads = root_reads(tree)  # before compiling, which may rewrite the tree
        template = _cache[key] = env.from_string(tree)
        _reads[key] = reads
    return template


def parse_template(source: str, command: bool) -> nodes.Template:
    """The syntax tree of a template (TemplateSyntaxError when it has none)."""
    return (_COMMAND_ENV if command else _TEXT_ENV).parse(source)


def template_reads(source: str, command: bool) -> tuple[Read, ...]:
    """What a template reads of `vars` and `host` (see template_reads.py)."""
    key = (command, source)
    found = _reads.get(key)
    if found is None:
        compile_template(source, command)
        found = _reads[key]
    return found


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
    try:
        return compile_template(source, command).render(ctx)
    except RENDER_ERRORS as e:
        message, hint = describe_error(e, ctx)
        raise InputError([Issue(where, f"template: {message}", hint)]) from None


def render_masked(source: str, ctx: Mapping[str, Any], command: bool, seen: list[str]) -> str:
    """`source` with the value of every `{{ }}` shown as ***; `seen` gets the text each one
    stood for. The view of a template that reads a secret but cannot be compared."""
    sep = " " if command else ", "

    def finalize(value: Any) -> str:
        seen.append(_text(value, sep))
        return MASK

    # A rare fallback (secret_forms.py): a fresh, uncached environment is cheap enough.
    return str(_environment(finalize).from_string(source).render(ctx))


def describe_error(err: Exception, ctx: Mapping[str, Any]) -> tuple[str, str]:
    """(message, hint) for a template failure, with a did-you-mean where one helps.

    Python's messages quote the values involved (`'dict object' has no attribute
    'hunter2'`), so every secret the context holds is masked out of both."""
    message, hint = _describe(err, ctx)
    redactor = Redactor(_secret_texts(ctx))
    return redactor.text(message), redactor.text(hint)


def _secret_texts(ctx: Mapping[str, Any]) -> list[str]:
    """Secret playbook values (marked by `variables`) and secret-named host variables."""
    found: list[str] = []

    def walk(value: Any, secret: bool) -> None:
        if isinstance(value, Mapping):
            for k, v in dict.items(value) if isinstance(value, dict) else value.items():
                walk(v, secret or is_secret_name(str(k)))
        elif isinstance(value, (list, tuple)):
            for v in value:
                walk(v, secret)
        elif isinstance(value, SecretText) or (secret and value is not None):
            found.append(str(value))

    walk(ctx.get("vars") or {}, False)
    host = ctx.get("host")
    if isinstance(host, dict):
        walk(dict.get(host, "vars") or {}, False)
    return found


def _describe(err: Exception, ctx: Mapping[str, Any]) -> tuple[str, str]:
    if isinstance(err, TemplateSyntaxError):
        return f"syntax error: {err.message}", syntax_hint(err)
    if isinstance(err, UndefinedError):
        return str(err.message), _undefined_hint(str(err.message), ctx)
    if isinstance(err, SecurityError):
        return f"not allowed in the sandbox: {err}", "templates may only read vars, host and run"
    return f"{type(err).__name__}: {err}", "check the expression between {{ and }}"


def syntax_hint(err: TemplateSyntaxError) -> str:
    text = err.message or ""
    for kind, known in (("filter", _COMMAND_ENV.filters), ("test", _COMMAND_ENV.tests)):
        marker = f"No {kind} named '"
        if marker in text:
            name = text.split(marker, 1)[1].split("'", 1)[0]
            close = difflib.get_close_matches(name, list(known), n=1)
            return f"did you mean '{close[0]}'?" if close else f"see Jinja2's list of {kind}s"
    return "check that every {{ has its }} and every {% its %}"


_UNDEFINED = re.compile(r"'([\w.]+)' is undefined")


def _undefined_hint(message: str, ctx: Mapping[str, Any]) -> str:
    found = _UNDEFINED.search(message)
    if found is None:
        return "check the names; `runbook hosts --format json` shows each host's vars"
    *parents, name = found.group(1).split(".")
    if not parents:
        return _top_level_hint(name, ctx)
    within: Any = ctx
    for part in parents:
        within = dict.get(within, part) if isinstance(within, dict) else None
    label = ".".join(parents)
    known = list(dict.keys(within)) if isinstance(within, dict) else []
    close = difflib.get_close_matches(name, known, n=1)
    if close:
        return f"did you mean '{label}.{close[0]}'?"
    if label == "vars":
        return "define it under `vars:` at the top of the playbook"
    if label.startswith("host"):
        return "set it in the inventory, on the host or one of its groups"
    return f"'{label}' has: {', '.join(sorted(known)) or 'nothing'}"


def _top_level_hint(name: str, ctx: Mapping[str, Any]) -> str:
    if name == "host":
        return "`host` exists only in remote steps (with `hosts:`), in run/skip_if/until/verify"
    variables = ctx.get("vars")
    if isinstance(variables, dict) and dict.__contains__(variables, name):
        return f"did you mean 'vars.{name}'?"
    close = difflib.get_close_matches(name, list(ctx), n=1)
    if close:
        return f"did you mean '{close[0]}'?"
    return "templates see `vars.NAME`, `host.name`, `host.address`, `host.vars.NAME`, `run.id`"

"""Sandboxed Jinja2: the environments, the compiled-template cache, and what a failed
template's message and hint say. Imported only when a text holds Jinja syntax (_render.py)."""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from typing import Any

import jinja2
from jinja2 import nodes
from jinja2.exceptions import SecurityError, TemplateSyntaxError, UndefinedError
from jinja2.sandbox import ImmutableSandboxedEnvironment

from runbook.secrets import MASK, Redactor, SecretText, is_secret_name
from runbook.templates._filters import ansible_filters
from runbook.templates._reads import Read, root_reads
from runbook.templates._render import Namespace, Raw, _plain, _quote, _text, label_of


class _Undefined(jinja2.StrictUndefined):
    @property
    def _undefined_message(self) -> str:
        label = label_of(self._undefined_obj)
        if label is not None:
            return f"'{label}.{self._undefined_name}' is undefined"
        return str(super()._undefined_message)


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

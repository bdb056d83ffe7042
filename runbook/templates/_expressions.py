"""Templates that give values, not text: `when` and `choices` with their native types, and
a templated `hosts:` pattern checked value by value."""

from __future__ import annotations

import re
from collections.abc import Container, Mapping
from typing import Any

import jinja2

from runbook.errors import InputError, Issue
from runbook.model import Location
from runbook.templates._jinja import _TEXT_ENV, RENDER_ERRORS, _environment, describe_error
from runbook.templates._render import Raw, _text

_expressions: dict[str, Any] = {}


def check_expression(source: str) -> None:
    """TemplateSyntaxError when `source` is not one Jinja expression (`when`)."""
    _TEXT_ENV.compile_expression(source)


_WHOLE = re.compile(r"\s*\{\{-?(.*?)-?\}\}\s*", re.S)


def evaluate(expression: str, ctx: Mapping[str, Any], where: Location | None = None) -> Any:
    """A Jinja expression's value with its native type (`when`, `choices`), sandboxed.

    A template that is one `{{ expr }}` is taken as `expr`. InputError when it fails.
    """
    whole = _WHOLE.fullmatch(expression)
    source = whole.group(1) if whole else expression
    try:
        compiled = _expressions.get(source)
        if compiled is None:
            compiled = _expressions[source] = _TEXT_ENV.compile_expression(
                source, undefined_to_none=False
            )
        value = compiled(**ctx)
        if isinstance(value, jinja2.Undefined):
            str(value)  # raises with the undefined name
        return value
    except RENDER_ERRORS as e:
        message, hint = describe_error(e, ctx)
        raise InputError([Issue(where, message, hint)]) from None


def render_names(
    source: str, ctx: Mapping[str, Any], names: Container[str], where: Location | None = None
) -> tuple[str, list[str]]:
    """A templated `hosts:` pattern, and what is wrong with its values: each must be an
    inventory host or group name (pattern syntax only with `| raw`), never null or empty."""
    problems: list[str] = []

    def finalize(value: Any) -> str:
        if isinstance(value, Raw):
            return str(value)
        items = list(value) if isinstance(value, (list, tuple)) else [value]
        if value is None or not items or not any(_text(i, ":") for i in items):
            problems.append("a value substituted in `hosts` is empty")
        for item in items:
            text = _text(item, ":")
            if text and text not in names:
                problems.append(f"{text!r} is not a host or group of the inventory")
        return ":".join(_text(i, ":") for i in items)

    try:
        return str(_environment(finalize).from_string(source).render(ctx)), problems
    except RENDER_ERRORS as e:
        message, hint = describe_error(e, ctx)
        raise InputError([Issue(where, message, hint)]) from None

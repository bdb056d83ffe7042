"""Readers for the fields of steps that decide: `output`, `input`, `when`, `chance`, `example`.

Only the shape is checked here; what the templates read (`steps['x']`) is checked once
every step is known (runbook/load/_step_reads.py).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any, get_args

from runbook.load._fields import Field
from runbook.load._values import BadValue, read_bool, read_text, type_name
from runbook.model import Input, Output, OutputType

OUTPUT_TYPES: tuple[str, ...] = get_args(OutputType)
INPUT_KEYS: Mapping[str, str] = {
    "choices": "A list of allowed values, or a template giving one.",
    "pattern": "A regular expression the whole value must match.",
    "default": "The value taken when the operator just presses Enter (template).",
    "prompt": "The question asked (template).",
    "secret": "Never shown or journaled; asked again after a resume.",
}
_ONE_OF = f"{', '.join(OUTPUT_TYPES[:-1])} or {OUTPUT_TYPES[-1]}"
_TYPES_HINT = f"write one of {', '.join(OUTPUT_TYPES)}, or {{type: int, secret: true}}"


def read_output(field: Field, value: Any) -> Output:
    if isinstance(value, str):
        return Output(_output_type(value, ()))
    if not isinstance(value, dict):
        raise BadValue(f"`output` must be a type name, not {type_name(value)}", _TYPES_HINT)
    for key in value:
        if key not in ("type", "secret"):
            raise BadValue(
                f"`output` has an unknown key {key!r}", "it has `type` and `secret`", (key,)
            )
    secret = False
    if "secret" in value:
        try:
            secret = read_bool(Field("output.secret", "bool", ""), value["secret"])
        except BadValue as e:
            raise BadValue(e.message, e.hint, ("secret",)) from None
    return Output(_output_type(value.get("type", "text"), ("type",)), secret)


def _output_type(value: Any, at: tuple[str, ...]) -> OutputType:
    if not isinstance(value, str) or value not in OUTPUT_TYPES:
        shown = repr(value) if isinstance(value, (str, int, float)) else type_name(value)
        raise BadValue(f"`output` type must be {_ONE_OF}, not {shown}", _TYPES_HINT, at)
    return value  # type: ignore[return-value]


def read_input(field: Field, value: Any) -> Input:
    if not isinstance(value, dict):
        raise BadValue(
            f"`input` must be a mapping, not {type_name(value)}",
            "write e.g. input: {choices: [db-a, db-b], default: db-a}",
        )
    for key in value:
        if key not in INPUT_KEYS:
            raise BadValue(
                f"`input` has an unknown key {key!r}",
                f"input keys are: {', '.join(INPUT_KEYS)}",
                (key,),
            )
    texts: dict[str, str | None] = {}
    for key in ("pattern", "default", "prompt"):
        raw = value.get(key)
        if raw is None:
            texts[key] = None
            continue
        if isinstance(raw, (int, float)) and not isinstance(raw, bool) and key == "default":
            raw = str(raw)  # `default: 3` is the text 3: input values are text
        try:
            texts[key] = read_text(Field(f"input.{key}", "text", ""), raw)
        except BadValue as e:
            raise BadValue(e.message, e.hint, (key,)) from None
    if texts["pattern"] is not None:
        try:
            re.compile(texts["pattern"])
        except re.error as e:
            raise BadValue(
                f"`input.pattern` is not a valid regular expression: {e}",
                "fix the expression (Python's `re` syntax)",
                ("pattern",),
            ) from None
    secret = False
    if "secret" in value:
        try:
            secret = read_bool(Field("input.secret", "bool", ""), value["secret"])
        except BadValue as e:
            raise BadValue(e.message, e.hint, ("secret",)) from None
    return Input(
        _choices(value.get("choices")), texts["pattern"], texts["default"], texts["prompt"], secret
    )


def _choices(raw: Any) -> tuple[str, ...] | str | None:
    if raw is None:
        return None
    if isinstance(raw, str):
        if "{{" not in raw and "{%" not in raw:
            raise BadValue(
                "`input.choices` must be a list, or a template giving one",
                'write e.g. choices: [db-a, db-b], or choices: "{{ ... | list }}"',
                ("choices",),
            )
        return raw
    if not isinstance(raw, list) or not raw:
        raise BadValue(
            f"`input.choices` must be a non-empty list, not {type_name(raw)}",
            "write e.g. choices: [db-a, db-b]",
            ("choices",),
        )
    out: list[str] = []
    for i, item in enumerate(raw):
        if isinstance(item, bool) or not isinstance(item, (str, int, float)):
            raise BadValue(
                f"`input.choices` item must be text, not {type_name(item)}",
                "write each choice as text",
                ("choices", i),
            )
        out.append(str(item))
    return tuple(out)


def read_expression(field: Field, value: Any) -> str:
    if isinstance(value, bool):
        raise BadValue(
            f"`{field.name}` must be an expression, not {str(value).lower()}",
            "write a Jinja expression such as \"not steps['check'].ok\", or remove the field",
        )
    text = read_text(field, value).strip()
    if text.startswith("{{") and text.endswith("}}"):
        raise BadValue(
            f"`{field.name}` is an expression: it takes no {{{{ }}}}",
            f'write {field.name}: "{text[2:-2].strip()}"',
        )
    return text


_PERCENT = re.compile(r"\s*(\d+(?:\.\d+)?)\s*%\s*")


def read_chance(field: Field, value: Any) -> float:
    hint = "write a probability from 0 to 1 (0.2) or a percentage (20%)"
    if isinstance(value, bool):
        raise BadValue(f"`chance` must be a probability, not {str(value).lower()}", hint)
    if isinstance(value, str):
        found = _PERCENT.fullmatch(value)
        if found is None:
            raise BadValue(f"`chance` {value!r} is not a probability", hint)
        p = float(found.group(1)) / 100
    elif isinstance(value, (int, float)):
        p = float(value)
    else:
        raise BadValue(f"`chance` must be a probability, not {type_name(value)}", hint)
    if not 0.0 <= p <= 1.0:
        raise BadValue(f"`chance` must be between 0 and 1 (0% and 100%), not {value}", hint)
    return p


def read_any(field: Field, value: Any) -> Any:
    return value


DECIDE_READERS: Mapping[str, Callable[[Field, Any], Any]] = {
    "output": read_output,
    "input": read_input,
    "expression": read_expression,
    "chance": read_chance,
    "any": read_any,
}

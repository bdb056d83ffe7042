"""Readers for the value of each field kind; a bad value raises BadValue with a fix hint."""

from __future__ import annotations

import unicodedata
from collections.abc import Callable
from typing import Any

from runbook.durations import parse_duration
from runbook.load._fields import ID_PATTERN, ID_RULE, Field
from runbook.model import Estimate

SubPath = tuple[str | int, ...]


class BadValue(Exception):
    """A value that does not fit its field; `at` points inside it (a list item, a sub-key)."""

    def __init__(self, message: str, hint: str = "", at: SubPath = ()) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.at = at


def type_name(value: Any) -> str:
    """How YAML would call the type of `value`, for messages."""
    if value is None:
        return "nothing (null)"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "text"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return type(value).__name__


def _quote_hint(value: Any) -> str:
    if isinstance(value, (int, float, bool)):
        return f"quote it to make it text: '{value}'"
    return ""


def read_text(field: Field, value: Any) -> str:
    if value is None:
        raise BadValue(f"`{field.name}` has no value", "write it, or remove the field")
    if not isinstance(value, str):
        raise BadValue(f"`{field.name}` must be text, not {type_name(value)}", _quote_hint(value))
    if not value.strip():
        raise BadValue(f"`{field.name}` is empty", "write something, or remove the field")
    if "\x00" in value:
        # YAML allows "\0" in double quotes; no shell command or terminal line can hold it.
        raise BadValue(f"`{field.name}` holds a NUL character (\\0)", "remove it")
    return value


def read_id(field: Field, value: Any) -> str:
    text = read_text(field, value)
    if not ID_PATTERN.fullmatch(text):
        fixed = "-".join(part for part in _slug(text).split("-") if part) or "step-1"
        raise BadValue(
            f"`{field.name}` {text!r} is not a valid id",
            f"use lowercase letters, digits, '.', '_' and '-' ({ID_RULE}), e.g. {fixed!r}",
        )
    return text


def _slug(text: str) -> str:
    # 'Étape réseau' → 'etape-reseau': accents dropped, not the letters that carry them
    plain = unicodedata.normalize("NFKD", text.lower())
    plain = "".join(c for c in plain if not unicodedata.combining(c))
    return "".join(c if (c.isascii() and c.isalnum()) or c in "._-" else "-" for c in plain)


def slug_id(text: str) -> str:
    """A valid id made from arbitrary text (a file name), for playbooks without `playbook:`."""
    slug = "-".join(part for part in _slug(text).split("-") if part)
    slug = slug.lstrip("._-")
    return slug if slug and ID_PATTERN.fullmatch(slug) else "playbook"


_DURATIONS: dict[str, float] = {}  # a big playbook repeats a few dozen duration texts


def read_duration(field: Field, value: Any) -> float:
    try:
        if isinstance(value, str):
            seconds = _DURATIONS.get(value)
            if seconds is None:
                seconds = _DURATIONS[value] = parse_duration(value)
        else:
            seconds = parse_duration(value)
    except ValueError as e:
        message, _, hint = str(e).partition("; ")
        raise BadValue(f"`{field.name}`: {message}", hint) from None
    if field.kind == "positive_duration" and seconds <= 0:
        raise BadValue(f"`{field.name}` must be more than 0", "write e.g. 30s, 15m, 1h")
    return seconds


def read_int(field: Field, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        hint = "write a whole number"
        if isinstance(value, str) and value.strip().isdigit():
            hint = f"remove the quotes: {value.strip()}"
        raise BadValue(f"`{field.name}` must be a whole number, not {type_name(value)}", hint)
    if field.minimum is not None and value < field.minimum:
        raise BadValue(
            f"`{field.name}` must be at least {field.minimum}, not {value}",
            f"write {field.minimum} or more",
        )
    return value


def read_bool(field: Field, value: Any) -> bool:
    if not isinstance(value, bool):
        hint = "write true or false"
        if isinstance(value, str) and value.strip().lower() in ("true", "false", "yes", "no"):
            hint = "write true or false without quotes"
        raise BadValue(f"`{field.name}` must be true or false, not {type_name(value)}", hint)
    return value


def read_choice(field: Field, value: Any) -> str:
    *first, last = field.choices
    options = f"{', '.join(first)} or {last}" if first else last
    if not isinstance(value, str) or value not in field.choices:
        shown = repr(value) if isinstance(value, (str, int, float)) else type_name(value)
        raise BadValue(f"`{field.name}` must be {options}, not {shown}", f"write {options}")
    return value


def _strings(field: Field, value: Any, what: str) -> list[tuple[str, SubPath]]:
    """A string or a non-empty list of strings, each with where it stands."""
    if isinstance(value, str):
        if not value.strip():
            raise BadValue(f"`{field.name}` is empty", f"name {what}, or remove the field")
        return [(value.strip(), ())]
    if not isinstance(value, list):
        raise BadValue(
            f"`{field.name}` must be text or a list, not {type_name(value)}",
            f"write one {what} or a list of them",
        )
    if not value:
        raise BadValue(f"`{field.name}` is an empty list", f"name {what}, or remove the field")
    items: list[tuple[str, SubPath]] = []
    for i, item in enumerate(value):
        if isinstance(item, dict) and len(item) == 1 and "phase" in item:
            raise BadValue(
                f"`{field.name}` item is a mapping {{phase: {item['phase']}}}",
                f"write 'phase:{item['phase']}' with no space after the colon; "
                f"YAML reads `phase: {item['phase']}` as a mapping",
                (i,),
            )
        if not isinstance(item, str) or not item.strip():
            raise BadValue(
                f"`{field.name}` item must be {what}, not {type_name(item)}",
                _quote_hint(item) or f"write {what}",
                (i,),
            )
        items.append((item.strip(), (i,)))
    return items


def read_hosts(field: Field, value: Any) -> str:
    # A list is a union, exactly like `a:b` in Ansible's pattern syntax.
    return ":".join(text for text, _ in _strings(field, value, "a host pattern"))


def read_needs(field: Field, value: Any) -> list[tuple[str, SubPath]]:
    return _strings(field, value, "a step id or phase:NAME")


ESTIMATE_KEYS = ("min", "likely", "max")
_ESTIMATE_FIELDS = {k: Field(f"estimate.{k}", "duration", "") for k in ESTIMATE_KEYS}


def read_estimate(field: Field, value: Any) -> Estimate:
    if not isinstance(value, dict):
        if isinstance(value, list):
            raise BadValue(
                "`estimate` must be a duration or {min, likely, max}, not a list",
                "write e.g. 20m or {min: 5m, likely: 10m, max: 40m}",
            )
        return Estimate.single(read_duration(field, value))
    for key in value:
        if key not in ESTIMATE_KEYS:
            raise BadValue(
                f"`estimate` has an unknown key {key!r}",
                "an estimate has min, likely and max",
                (key,),
            )
    seconds: dict[str, float] = {}
    for key in ESTIMATE_KEYS:
        if key not in value:
            raise BadValue(
                f"`estimate` needs `{key}`",
                "write all three: {min: 5m, likely: 10m, max: 40m}, or a single duration",
            )
        try:
            seconds[key] = read_duration(_ESTIMATE_FIELDS[key], value[key])
        except BadValue as e:
            raise BadValue(e.message, e.hint, (key,)) from None
    lo, likely, hi = seconds["min"], seconds["likely"], seconds["max"]
    if not lo <= likely <= hi:
        raise BadValue(
            f"`estimate` must have min <= likely <= max, got {value['min']} / "
            f"{value['likely']} / {value['max']}",
            "reorder the three durations",
        )
    return Estimate(lo, likely, hi)


BASIC_READERS: dict[str, Callable[[Field, Any], Any]] = {
    "id": read_id,
    "text": read_text,
    "command": read_text,
    "duration": read_duration,
    "positive_duration": read_duration,
    "int": read_int,
    "bool": read_bool,
    "choice": read_choice,
    "hosts": read_hosts,
    "needs": read_needs,
    "estimate": read_estimate,
}

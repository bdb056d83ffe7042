"""JSON Schema (draft 2020-12) of the playbook format, generated from the loader's field table.

Editors use it through yaml-language-server (`# yaml-language-server: $schema=...`). What it
cannot say (a step's kind may come from `defaults`, ids must be unique, `needs` must name
steps) is left to `runbook validate`, which says it with file:line:col.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from runbook.load._fields import (
    DEFAULTS_FIELDS,
    ENV_VAR_KEYS,
    ID_RULE,
    STEP_FIELDS,
    TOP_FIELDS,
    Field,
)

DRAFT = "https://json-schema.org/draft/2020-12/schema"
# The forms load/durations.py accepts: seconds, or number+unit parts (`1h30m`), spaces allowed.
DURATION_PATTERN = r"^\s*(\d+(\.\d+)?|(\d+(\.\d+)?\s*[dhmsDHMS]\s*)+)\s*$"
ENV_PATTERN = r"^[A-Za-z_][A-Za-z0-9_]*$"

_DURATION = {
    "anyOf": [
        {"type": "number", "minimum": 0},
        {"type": "string", "pattern": DURATION_PATTERN},
    ],
    "description": "90s, 15m, 2h, 1h30m, 1d, or a number of seconds",
}


def _strings(what: str) -> dict[str, Any]:
    one = {"type": "string", "minLength": 1}
    return {
        "anyOf": [one, {"type": "array", "items": one, "minItems": 1}],
        "description": what,
    }


def _fragment(field: Field) -> dict[str, Any]:
    kind = field.kind
    if kind == "id":
        frag: dict[str, Any] = {"type": "string", "pattern": f"^{ID_RULE}$"}
    elif kind in ("text", "command"):
        frag = {"type": "string", "minLength": 1}
    elif kind == "duration":
        frag = {"$ref": "#/$defs/duration"}
    elif kind == "positive_duration":
        frag = {"$ref": "#/$defs/duration", "not": {"const": 0}}
    elif kind == "int":
        frag = {"type": "integer"}
        if field.minimum is not None:
            frag["minimum"] = field.minimum
    elif kind == "bool":
        frag = {"type": "boolean"}
    elif kind == "choice":
        frag = {"enum": list(field.choices)}
    elif kind in ("hosts", "needs", "include"):
        frag = _strings(field.help)
    elif kind == "estimate":
        frag = {"$ref": "#/$defs/estimate"}
    elif kind == "vars":
        frag = {"type": "object", "additionalProperties": {"$ref": "#/$defs/variable"}}
    elif kind == "defaults":
        frag = {"$ref": "#/$defs/defaults"}
    elif kind == "steps":
        frag = {"type": "array", "items": {"$ref": "#/$defs/step"}}
    elif kind == "output":
        types = {"enum": ["text", "int", "float", "json", "lines"]}
        frag = {
            "anyOf": [
                types,
                {
                    "type": "object",
                    "properties": {"type": types, "secret": {"type": "boolean"}},
                    "additionalProperties": False,
                },
            ]
        }
    elif kind == "input":
        text = {"type": "string", "minLength": 1}
        frag = {
            "type": "object",
            "properties": {
                "choices": {"anyOf": [text, {"type": "array", "items": text, "minItems": 1}]},
                "pattern": text,
                "default": {"type": ["string", "number"]},
                "prompt": text,
                "secret": {"type": "boolean"},
            },
            "additionalProperties": False,
        }
    elif kind == "expression":
        frag = {"type": "string", "minLength": 1}
    elif kind == "chance":
        frag = {
            "anyOf": [
                {"type": "number", "minimum": 0, "maximum": 1},
                {"type": "string", "pattern": r"^\s*\d+(\.\d+)?\s*%\s*$"},
            ]
        }
    elif kind == "any":
        frag = {}
    else:
        from runbook.load._step_extras import EXTRA_SCHEMAS

        if kind not in EXTRA_SCHEMAS:  # pragma: no cover - a new kind must get a fragment
            raise AssertionError(f"no schema for field kind {kind}")
        frag = dict(EXTRA_SCHEMAS[kind])
    return {**frag, "description": field.help}


def _object(fields: Mapping[str, Field]) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {name: _fragment(f) for name, f in fields.items()},
        "additionalProperties": False,
    }


def _step() -> dict[str, Any]:
    step = _object(STEP_FIELDS)
    step["required"] = [n for n, f in STEP_FIELDS.items() if f.required]
    commands = [{"required": [n]} for n, f in STEP_FIELDS.items() if f.kind == "command"]
    # What the schema can say of SPEC's kind rules on its own: the rest needs `defaults`.
    step["allOf"] = [
        {"if": {"required": ["manual"]}, "then": {"not": {"anyOf": commands}}},
        {
            "if": {"required": ["local"], "properties": {"local": {"const": True}}},
            "then": {"not": {"required": ["hosts"]}},
        },
    ]
    return step


def playbook_schema() -> dict[str, Any]:
    """The JSON Schema of a playbook file."""
    top = _object(TOP_FIELDS)
    estimate = {
        "anyOf": [
            {"$ref": "#/$defs/duration"},
            {
                "type": "object",
                "properties": {k: {"$ref": "#/$defs/duration"} for k in ("min", "likely", "max")},
                "required": ["min", "likely", "max"],
                "additionalProperties": False,
            },
        ]
    }
    env_var = {
        "type": "object",
        "properties": {
            "env": {"type": "string", "pattern": ENV_PATTERN, "description": ENV_VAR_KEYS["env"]},
            "secret": {"type": "boolean", "description": ENV_VAR_KEYS["secret"]},
            "default": {"description": ENV_VAR_KEYS["default"]},
        },
        "required": ["env"],
        "additionalProperties": False,
    }
    return {
        "$schema": DRAFT,
        "$id": "urn:runbook:playbook",
        "title": "runbook playbook",
        "description": "A restore playbook: dependency-ordered manual, remote and local steps.",
        **top,
        "$defs": {
            "duration": _DURATION,
            "estimate": estimate,
            "variable": {
                "anyOf": [
                    env_var,
                    {"not": {"type": "object", "required": ["env"]}},
                ],
                "description": "A value, or {env: NAME, secret: true, default: VALUE}",
            },
            "defaults": _object(DEFAULTS_FIELDS),
            "step": _step(),
        },
    }

"""A host's stdout as a value (`output:`), and what a rehearsal's hosts "print"."""

from __future__ import annotations

import json
import math
import re
from typing import Any

from runbook.model import OutputType, Step

_INT = re.compile(r"-?[0-9]+")
ZEROS: dict[str, Any] = {"text": "", "int": 0, "float": 0.0, "json": {}, "lines": []}


def parse_output(kind: OutputType, stdout: str) -> Any:
    """`stdout` (its trailing newline removed) as `kind`; ValueError says what came."""
    text = stdout[:-1] if stdout.endswith("\n") else stdout
    if kind == "text":
        return text
    if kind == "lines":
        return [line for line in text.splitlines() if line.strip()]
    shown = repr(text if len(text) <= 60 else text[:57] + "...")
    stripped = text.strip()
    if kind == "int":
        if not _INT.fullmatch(stripped):
            raise ValueError(f"expected an integer, got {shown}")
        return int(stripped)
    if kind == "float":
        try:
            value = float(stripped)
        except ValueError:
            raise ValueError(f"expected a number, got {shown}") from None
        if math.isnan(value):
            raise ValueError(f"expected a number, got {shown}")
        return value
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        raise ValueError(f"expected JSON ({e.msg} at line {e.lineno}), got {shown}") from None


def rehearsed_text(step: Step, host: str | None) -> str:
    """What a host "prints" in a rehearsal: its `example`, else the type's zero."""
    example = step.example
    if isinstance(example, dict) and host is not None and host in example:
        example = example[host]
    elif isinstance(example, dict) and step.output is not None and step.output.type != "json":
        example = None  # per host, and this host is not listed
    if example is None:
        kind = step.output.type if step.output is not None else "text"
        example = ZEROS[kind]
    if isinstance(example, str):
        return example + "\n"
    if isinstance(example, list) and (step.output is None or step.output.type == "lines"):
        return "".join(f"{line}\n" for line in example)
    if isinstance(example, (dict, list)):
        return json.dumps(example) + "\n"
    if isinstance(example, bool):
        return ("true" if example else "false") + "\n"
    return f"{example}\n"

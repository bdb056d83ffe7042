"""The value that answers a manual step's `input`, checked against what it waits with.

`manual_waiting.data.input` holds the input as rendered when the step started (its
choices may come from earlier steps), so every terminal checks against the same thing.
"""

from __future__ import annotations

import re
from typing import Any

from runbook.events import StepState
from runbook.secrets import MASK


def input_value(
    s: StepState, answer: str, value: str | None, at_engine: bool
) -> tuple[str | None, str | None]:
    """(an error, the value to journal) for answering `s` with `answer` and `value`."""
    spec: Any = s.input
    if spec is None:
        if value is not None:
            return f"step {s.id} asks no value: leave out --value", None
        return None, None
    if answer != "done":
        return None, None  # skip/fail: there is no value to give
    if spec.get("secret"):
        if not at_engine:
            return (
                f"step {s.id} asks a secret value: it is answered only at the terminal of the "
                "engine running the run (a secret is never journaled)",
                None,
            )
        return (None, MASK) if value else (f"step {s.id} needs a value", None)
    if value is None or value == "":
        value = spec.get("default")
    problem = value_problem(s.id, spec, value)
    return (problem, None) if problem is not None else (None, value)


def value_problem(step_id: str, spec: Any, value: str | None) -> str | None:
    """Why `value` cannot answer the (rendered, not secret) `input` `spec` of a step."""
    choices = spec.get("choices")
    if value is None:
        allowed = f" (one of: {', '.join(map(str, choices))})" if choices else ""
        return f"step {step_id} needs a value: answer with --value TEXT{allowed}"
    if choices and value not in [str(c) for c in choices]:
        allowed = ", ".join(map(str, choices))
        return f"{value!r} is not one of the choices of step {step_id}: {allowed}"
    pattern = spec.get("pattern")
    if pattern and re.fullmatch(pattern, value) is None:
        return f"{value!r} does not match the pattern of step {step_id}: {pattern}"
    return None

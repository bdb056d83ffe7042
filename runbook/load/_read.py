"""The reader of every field kind, in one table (`read_field`)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from runbook.load._fields import Field
from runbook.load._step_extras import EXTRA_READERS
from runbook.load._values import BASIC_READERS
from runbook.load._values_decide import DECIDE_READERS

READERS: Mapping[str, Callable[[Field, Any], Any]] = {
    **BASIC_READERS,
    **DECIDE_READERS,
    **EXTRA_READERS,
}


def read_field(field: Field, value: Any) -> Any:
    """The value of `field` as the model holds it; BadValue when it does not fit."""
    return READERS[field.kind](field, value)

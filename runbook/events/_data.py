"""Reading event data the fold cannot trust to be well formed (an old, newer or damaged
journal): a wrong type reads as absent, never as an exception."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def number(v: Any) -> float | None:
    """A float, or None for anything that is not a number (booleans included)."""
    return float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else None


def count(v: Any) -> int | None:
    """An int, or None for anything else (booleans and floats included)."""
    return v if type(v) is int else None  # `type`: a bool is an int subclass


def names(v: Any) -> tuple[str, ...]:
    """A list of names (step ids, hosts) as a tuple of str; () for anything else."""
    return tuple(str(x) for x in v) if isinstance(v, (list, tuple)) else ()


def mapping(v: Any) -> Mapping[str, Any]:
    """A mapping, or an empty one."""
    return v if isinstance(v, Mapping) else {}

"""Building objects by the hundred thousand (a 10,000-step playbook and its plan).

Two costs that only show at that scale: the cyclic garbage collector rescanning every
object built so far, and the `__init__` that `dataclass(frozen=True)` generates, which
sets each field through `object.__setattr__` (13 µs for a Step's 23 fields, more than
reading the step from its YAML).
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import MISSING, fields, is_dataclass
from typing import Any, TypeVar

T = TypeVar("T")

# Objects left from a load (or a plan) above which they are frozen out of later
# collections: ~1,000 steps, or a few thousand inventory hosts.
FREEZE_AFTER = 20_000


@contextmanager
def paused_gc() -> Iterator[None]:
    """No cyclic garbage collection while loading: the loaders build hundreds of thousands of
    acyclic objects, and each collection pass rescans them all (it doubled the load time of
    a 10,000-step playbook).

    A large load is then frozen (`gc.freeze()`): re-enabled as is, the collector would walk
    all of it up to three times (young, middle, full generation) during whatever comes
    next, ~0.25 s of the plan of a 10,000-step playbook. What a load keeps lives as long as
    the command; small loads (tests, everyday playbooks) are left to the collector, so
    that the few cycles a load leaves behind are collected in long-lived processes.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            if gc.get_count()[0] > FREEZE_AFTER:
                gc.freeze()
            gc.enable()


class _Spec:
    """A frozen dataclass's fields: plain defaults, default factories, required names."""

    __slots__ = ("defaults", "direct", "factories", "names")

    def __init__(self, cls: type[Any]) -> None:
        self.defaults: dict[str, Any] = {}
        self.factories: list[tuple[str, Callable[[], Any]]] = []
        for f in fields(cls):
            if f.default is not MISSING:
                self.defaults[f.name] = f.default
            elif f.default_factory is not MISSING:
                self.factories.append((f.name, f.default_factory))
        self.names = frozenset(f.name for f in fields(cls))
        # Only plain frozen dataclasses: anything that runs code on init keeps its __init__.
        self.direct = (
            is_dataclass(cls)
            and not hasattr(cls, "__post_init__")
            and "__slots__" not in cls.__dict__
            and all(f.init for f in fields(cls))
        )


_SPECS: dict[type[Any], _Spec] = {}


def frozen(cls: type[T], values: Mapping[str, Any]) -> T:
    """`cls(**values)` for a frozen dataclass, its fields filled directly (~5× faster)."""
    spec = _SPECS.get(cls)
    if spec is None:
        spec = _SPECS[cls] = _Spec(cls)
    if not spec.direct or not values.keys() <= spec.names:
        return cls(**values)  # the generated __init__, and its TypeError for bad arguments
    obj: T = object.__new__(cls)
    state = obj.__dict__
    state.update(spec.defaults)
    for name, factory in spec.factories:
        if name not in values:
            state[name] = factory()
    state.update(values)
    if len(state) != len(spec.names):  # a required field is missing
        return cls(**values)
    return obj

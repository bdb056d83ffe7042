"""Bulk building: frozen dataclasses filled directly, the collector paused around loads."""

from __future__ import annotations

import dataclasses
import gc

import pytest

from runbook.bulk import frozen, paused_gc
from runbook.model import Estimate, Location, Step

WHERE = Location("p.yml", 3, 5)


def test_frozen_builds_what_the_dataclass_would() -> None:
    values = {"id": "a", "title": "A", "phase": "p", "kind": "local", "location": WHERE}
    step = frozen(Step, dict(values, run="true", retries=2))
    assert step == Step(**values, run="true", retries=2)
    assert step.estimate == Estimate.single(300.0, False)  # defaults and default factories
    other = frozen(Step, values)
    assert other.field_locations == {} and other.field_locations is not step.field_locations
    with pytest.raises(dataclasses.FrozenInstanceError):
        step.id = "b"  # type: ignore[misc]
    assert dataclasses.replace(step, id="b").id == "b"


def test_frozen_refuses_what_the_dataclass_refuses() -> None:
    with pytest.raises(TypeError, match="missing"):
        frozen(Step, {"id": "a"})
    with pytest.raises(TypeError, match="titel"):
        frozen(Step, {"id": "a", "titel": "A", "phase": "p", "kind": "local", "location": WHERE})


def test_paused_gc_restores_the_collector() -> None:
    assert gc.isenabled()
    with paused_gc():
        assert not gc.isenabled()
        with paused_gc():
            assert not gc.isenabled()
        assert not gc.isenabled()
    assert gc.isenabled()

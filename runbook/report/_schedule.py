"""The plan's P50 schedule: when each step would start and end if every estimate held.

Earliest start by dependency layering of the `likely` estimates (the critical-path method):
a step starts when the last step it needs ends. `--concurrency` is ignored on purpose: the
schedule shows what the dependencies allow, so a Gantt row that starts late against it shows
waiting as well as slow work.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from runbook.model import DEFAULT_ESTIMATE_S


@dataclass(frozen=True)
class PlannedSlot:
    """Offsets in seconds from the run start."""

    start_s: float
    end_s: float

    @property
    def duration_s(self) -> float:
        return self.end_s - self.start_s


def likely_s(step: Mapping[str, Any]) -> float:
    """A plan step's likely duration (its single estimate, or 5m when it had none)."""
    est = step.get("estimate") or {}
    value = est.get("likely_s", DEFAULT_ESTIMATE_S) if isinstance(est, Mapping) else None
    return float(value) if isinstance(value, (int, float)) else DEFAULT_ESTIMATE_S


def planned_schedule(plan_steps: Sequence[Mapping[str, Any]]) -> dict[str, PlannedSlot]:
    """Earliest start and end of every step of a Plan JSON's `steps`."""
    by_id = {str(s.get("id")): s for s in plan_steps}
    slots: dict[str, PlannedSlot] = {}
    for root in by_id:
        # Iterative depth-first so a 10,000-step chain cannot hit the recursion limit; a
        # cycle (impossible in a validated plan, but the journal is input here) counts as 0.
        stack: list[tuple[str, bool]] = [(root, False)]
        visiting: set[str] = set()
        while stack:
            sid, expanded = stack.pop()
            if sid in slots:
                continue
            needs = [str(n) for n in by_id[sid].get("needs") or () if str(n) in by_id]
            if not expanded:
                visiting.add(sid)
                stack.append((sid, True))
                stack.extend((n, False) for n in needs if n not in slots and n not in visiting)
                continue
            start = max((slots[n].end_s for n in needs if n in slots), default=0.0)
            slots[sid] = PlannedSlot(start, start + likely_s(by_id[sid]))
            visiting.discard(sid)
    return slots

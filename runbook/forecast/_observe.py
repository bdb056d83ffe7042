"""What the forecaster sees of a run: per step, done / running since when / still to do.

Built either from the run's events (a small fold of its own, so the forecaster and the
benchmark can work from an export) or from the engine's RunState.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from runbook.clock import parse_iso

DONE = "done"
RUNNING = "running"
TO_DO = "todo"

# RunState step statuses (docs/ARCHITECTURE.md) → what they mean for the remaining work.
_CATEGORY = {
    "succeeded": DONE,
    "skipped": DONE,
    "running": RUNNING,
    "waiting": RUNNING,
    "claimed": RUNNING,
    "pending": TO_DO,
    "failed": TO_DO,  # the restore is not back until someone retries or replaces it
    "blocked": TO_DO,
}


@dataclass(frozen=True)
class StepObs:
    """One step as evidence."""

    category: str = TO_DO
    started: float | None = None  # when the running step (its current try) began
    work_s: float | None = None  # a finished step's own work time, to learn from
    finished_seq: float = 0  # orders finished steps by recency (seq or finish time)
    expect_remaining_s: float | None = None  # `runbook expect`, as said at `expect_ts`
    expect_ts: float | None = None


@dataclass(frozen=True)
class Observations:
    """A run as the forecaster needs it."""

    started: float | None = None  # run start: the RTO counts from here
    steps: Mapping[str, StepObs] = field(default_factory=dict)
    concurrency: int | None = None
    plan: Mapping[str, Any] | None = None


def _data(e: Any) -> tuple[str, str | None, float, Mapping[str, Any], int]:
    if isinstance(e, Mapping):
        return e["type"], e.get("step"), parse_iso(e["ts"]), e.get("data") or {}, e["seq"]
    return e.type, e.step, parse_iso(e.ts), e.data or {}, e.seq


def observe_events(events: Iterable[Any]) -> Observations:
    """Fold journal events (Event objects or exported dicts) into Observations."""
    steps: dict[str, StepObs] = {}
    started: float | None = None
    concurrency: int | None = None
    plan: Mapping[str, Any] | None = None
    for e in events:
        kind, step, ts, data, seq = _data(e)
        if kind == "run_started":
            started = ts if started is None else started
            plan = data.get("plan") or plan
            opts = data.get("options") or {}
            concurrency = opts.get("concurrency") or None
            for s in (plan or {}).get("steps", ()):
                steps.setdefault(str(s["id"]), StepObs())
            continue
        if step is None:
            continue
        cur = steps.get(step, StepObs())
        if kind in ("step_started", "manual_waiting"):
            if cur.category != RUNNING:
                cur = StepObs(RUNNING, started=ts)
        elif kind == "step_succeeded":
            work = data.get("duration_s")
            if cur.work_s is not None and cur.category == RUNNING:
                work = cur.work_s  # a manual step's work time, from manual_answered
            if work is None and cur.started is not None:
                work = ts - cur.started
            cur = StepObs(DONE, work_s=None if work is None else float(work), finished_seq=seq)
        elif kind == "manual_answered":
            answer = data.get("answer")
            if answer == "done":
                work = data.get("work_s")
                if work is None and cur.started is not None:
                    work = ts - cur.started
                cur = replace(cur, work_s=None if work is None else float(work))
        elif kind == "step_skipped":
            cur = StepObs(DONE, finished_seq=seq)
        elif kind in ("step_failed", "step_blocked") or kind == "operator_retry":
            cur = StepObs(TO_DO)
        elif kind == "operator_expect":
            cur = replace(cur, expect_remaining_s=float(data["remaining_s"]), expect_ts=ts)
        steps[step] = cur
    return Observations(started, steps, concurrency, plan)


def observe_state(state: Any) -> Observations:
    """Observations from a RunState (the fold), read through its documented fields."""
    steps: dict[str, StepObs] = {}
    for sid, s in state.steps.items():
        cat = category(s.status)
        if cat == DONE:
            work = None
            if s.status == "succeeded":
                work = s.work_s if s.kind == "manual" and s.work_s is not None else s.duration_s
            order = s.finished if s.finished is not None else 0.0
            steps[sid] = StepObs(DONE, work_s=work, finished_seq=order)
        elif cat == RUNNING:
            # A manual step's work starts at its claim; unclaimed, the whole wait counts
            # as work, as state.manual_times does when it is answered.
            start = s.claimed_at or s.attempt_started or s.waiting_since or s.started
            exp = s.expect
            steps[sid] = StepObs(
                RUNNING,
                started=start,
                expect_remaining_s=None if exp is None else float(exp.remaining_s),
                expect_ts=None if exp is None else float(exp.at),
            )
        else:
            steps[sid] = StepObs(TO_DO)
    opts = state.options or {}
    conc = opts.get("concurrency")
    return Observations(state.started, steps, int(conc) if conc else None, state.plan or None)


def category(status: str) -> str:
    """DONE, RUNNING or TO_DO for a RunState step status."""
    return _CATEGORY.get(status, TO_DO)

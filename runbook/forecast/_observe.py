"""What the forecaster sees of a run: per step, done / running since when / still to do.

Read from the run's folded state (runbook/events): the engine's RunState, or the events
of an earlier run or an export folded here, so the forecaster reads a run the way
`status` and the reports do.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from runbook.events import Event, RunState

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
    # A manual step: waiting for someone to pick it up (not yet claimed), and for a
    # finished one how long it waited (its operator latency, apart from the work).
    unclaimed: bool = False
    wait_s: float | None = None


@dataclass(frozen=True)
class Observations:
    """A run as the forecaster needs it."""

    started: float | None = None  # run start: the RTO counts from here
    steps: Mapping[str, StepObs] = field(default_factory=dict)
    concurrency: int | None = None
    plan: Mapping[str, Any] | None = None


def _event(e: Any) -> Event:
    """An Event, or an exported one (`export --format jsonl`: a dict of the same fields)."""
    if isinstance(e, Event):
        return e
    seq = e.get("seq")
    return Event(
        str(e.get("run_id") or ""),
        seq if isinstance(seq, int) else 0,
        str(e.get("ts") or ""),
        str(e.get("type") or ""),
        e.get("step"),
        e.get("host"),
        e.get("data") or {},
    )


def observe_events(events: Iterable[Any]) -> Observations:
    """Journal events (Event objects or exported dicts) as Observations, through the fold."""
    state = RunState()
    for e in events:
        state.apply(_event(e))
    return observe_state(state)


def observe_state(state: Any) -> Observations:
    """Observations from a RunState (the fold), read through its documented fields."""
    steps: dict[str, StepObs] = {}
    for sid, s in state.steps.items():
        cat = category(s.status)
        if cat == DONE:
            work = wait = None
            if s.status == "succeeded":
                work = s.work_s if s.kind == "manual" and s.work_s is not None else s.duration_s
                wait = s.wait_s if s.kind == "manual" else None
            order = s.finished if s.finished is not None else 0.0
            steps[sid] = StepObs(DONE, work_s=work, finished_seq=order, wait_s=wait)
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
                unclaimed=s.status == "waiting",
            )
        else:
            steps[sid] = StepObs(TO_DO)
    opts = state.options or {}
    conc = opts.get("concurrency")
    return Observations(state.started, steps, int(conc) if conc else None, state.plan or None)


def category(status: str) -> str:
    """DONE, RUNNING or TO_DO for a RunState step status."""
    return _CATEGORY.get(status, TO_DO)

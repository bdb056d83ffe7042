"""A run's state as a fold over its journal events: `fold(events)`, then `apply(event)`.

Resume, `status`, the reports, the forecaster and the live view all read the same fold,
so what one shows is what the others act on: this is the only table of state transitions
(run level in _fold_run.py, steps in _fold_steps.py, hosts in _fold_hosts.py). Besides
where things stand, it keeps what they need of the history: each step's attempts with
their hosts, failed attempts counted against `retries`, the hosts already done, and the
engine lives (each `run_resumed` starts one) that tell resume whether a `run` ended.

The fold trusts the journal's order and never raises on an event it does not expect: an
old, newer or damaged journal still folds to something readable.

Manual steps keep the operator's waiting time apart from the work: see
runbook/events/_step_state.py for the rule (`manual_times`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from runbook.clock import parse_iso
from runbook.events._event import Event
from runbook.events._fold_hosts import HOST_HANDLERS
from runbook.events._fold_run import RUN_HANDLERS, EngineLife
from runbook.events._fold_steps import STEP_HANDLERS
from runbook.events._host_state import HostState
from runbook.events._step_state import (
    FINISHED_RUN,
    FINISHED_STEP,
    STEP_STATUSES,
    Attempt,
    Expectation,
    PhaseProgress,
    StepState,
    manual_times,
)
from runbook.events._tail import TAIL_CHARS, TAIL_LINES, keep_tail

__all__ = [
    "FINISHED_RUN",
    "FINISHED_STEP",
    "STEP_STATUSES",
    "TAIL_CHARS",
    "TAIL_LINES",
    "Attempt",
    "EngineLife",
    "Expectation",
    "HostState",
    "PhaseProgress",
    "RunState",
    "StepState",
    "fold",
    "keep_tail",
    "manual_times",
]


@dataclass
class RunState:
    """Where a run stands, as its events tell it."""

    run_id: str = ""
    playbook: str = ""
    playbook_path: str | None = None
    title: str = ""
    mode: str = ""
    operator: str | None = None
    rto_s: float | None = None
    plan: Mapping[str, Any] = field(default_factory=dict)
    options: Mapping[str, Any] = field(default_factory=dict)
    status: str = "running"  # running, interrupted, succeeded, failed, aborted
    result: str | None = None
    started: float | None = None
    finished: float | None = None
    interrupted_reason: str | None = None
    resumes: int = 0
    last_seq: int = 0
    last_ts: float | None = None
    last_ts_text: str | None = None
    last_type: str | None = None
    steps: dict[str, StepState] = field(default_factory=dict)  # plan order
    eta: Mapping[str, Any] | None = None  # data of the last eta event
    eta_ts: float | None = None
    rto_warning_at: float | None = None  # the `eta` that first gave P(miss RTO) over 50%
    host_keys: list[Mapping[str, Any]] = field(default_factory=list)
    lives: list[EngineLife] = field(default_factory=list)  # one per engine that held the run
    life: int = 0  # the current engine life: 0 for the first engine, + 1 per run_resumed
    # team mode: engines joined and not left, and what each may claim (reach, no_local)
    engines: dict[str, Mapping[str, Any]] = field(default_factory=dict)
    _dependents: dict[str, list[str]] | None = field(default=None, repr=False, compare=False)

    # -- queries --------------------------------------------------------------------------

    @property
    def is_finished(self) -> bool:
        return self.status in FINISHED_RUN

    def step(self, step_id: str) -> StepState:
        """The step, created on the fly if the plan did not name it."""
        s = self.steps.get(step_id)
        if s is None:
            s = self.steps[step_id] = StepState(step_id, planned=False)
            self._dependents = None
        return s

    def counts(self) -> dict[str, int]:
        """Steps per status (every status present, zeros included)."""
        out = dict.fromkeys(STEP_STATUSES, 0)
        for s in self.steps.values():
            out[s.status] = out.get(s.status, 0) + 1
        return out

    def phases(self) -> list[PhaseProgress]:
        """Progress per phase, in plan order."""
        order = list(self.plan.get("phases") or [])
        by_name: dict[str, PhaseProgress] = {p: PhaseProgress(p) for p in order}
        for s in self.steps.values():
            p = by_name.setdefault(s.phase, PhaseProgress(s.phase))
            p.total += 1
            p.done += s.finished_ok
            p.counts[s.status] = p.counts.get(s.status, 0) + 1
        return [p for p in by_name.values() if p.total]

    def dependents(self, step_id: str) -> list[str]:
        """Steps that name `step_id` in their needs, in plan order."""
        if self._dependents is None:
            deps: dict[str, list[str]] = {}
            for s in self.steps.values():
                for n in s.needs:
                    deps.setdefault(n, []).append(s.id)
            self._dependents = deps
        return self._dependents.get(step_id, [])

    def waiting_on(self, step_id: str) -> list[str]:
        """The needs of a step that have not succeeded or been skipped yet."""
        s = self.steps.get(step_id)
        if s is None:
            return []
        return [n for n in s.needs if not (n in self.steps and self.steps[n].finished_ok)]

    def holds_up(self, step_id: str) -> list[str]:
        """Unfinished steps downstream of `step_id` (transitively), in plan order."""
        seen: set[str] = set()
        todo = [step_id]
        while todo:
            for d in self.dependents(todo.pop()):
                if d not in seen:
                    seen.add(d)
                    todo.append(d)
        return [s for s in self.steps if s in seen and self.steps[s].status not in FINISHED_STEP]

    def with_status(self, *statuses: str) -> list[StepState]:
        """Steps in any of `statuses`, in plan order."""
        return [s for s in self.steps.values() if s.status in statuses]

    # -- the fold -------------------------------------------------------------------------

    def apply(self, e: Event) -> None:
        """Fold one more event (events must come in seq order)."""
        try:
            ts = parse_iso(e.ts)
        except (ValueError, TypeError, AttributeError):  # a damaged journal: keep the clock
            ts = self.last_ts if self.last_ts is not None else 0.0
        self.last_seq = e.seq
        self.last_ts = ts
        self.last_ts_text = e.ts
        self.last_type = e.type
        if not self.run_id:
            self.run_id = e.run_id
        handler = _HANDLERS.get(e.type)
        if handler is not None:
            d = e.data
            if type(d) is not dict and not isinstance(d, Mapping):  # dict: the fast check
                d = {}
            handler(self, e, ts, d)


def fold(events: Iterable[Event]) -> RunState:
    """A run's state from its events, in seq order."""
    state = RunState()
    for e in events:
        state.apply(e)
    return state


Handler = Callable[[RunState, Event, float, Mapping[str, Any]], None]
_HANDLERS: dict[str, Handler] = {**RUN_HANDLERS, **STEP_HANDLERS, **HOST_HANDLERS}

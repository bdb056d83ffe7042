"""A run's state as a fold over its journal events: `fold(events)`, then `apply(event)`.

Resume, `status`, the forecaster and the live view all read the same fold, so what one
shows is what the others act on. The fold trusts the journal's order and never raises on
an event it does not expect: an old or newer journal still folds to something readable.

Manual steps keep the operator's waiting time apart from the work: see
runbook/events/_step_state.py for the rule (`manual_times`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from runbook.clock import parse_iso
from runbook.events._event import Event
from runbook.events._step_state import (
    FINISHED_RUN,
    FINISHED_STEP,
    OUTPUT_TAIL_CHARS,
    STEP_STATUSES,
    Expectation,
    HostState,
    PhaseProgress,
    StepState,
    manual_times,
)

__all__ = [
    "FINISHED_RUN",
    "FINISHED_STEP",
    "OUTPUT_TAIL_CHARS",
    "STEP_STATUSES",
    "Expectation",
    "HostState",
    "PhaseProgress",
    "RunState",
    "StepState",
    "fold",
    "manual_times",
]


@dataclass
class RunState:
    """Where a run stands, as its events tell it."""

    run_id: str = ""
    playbook: str = ""
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
    host_keys: list[Mapping[str, Any]] = field(default_factory=list)
    _dependents: dict[str, list[str]] | None = field(default=None, repr=False, compare=False)

    # -- queries --------------------------------------------------------------------------

    @property
    def is_finished(self) -> bool:
        return self.status in FINISHED_RUN

    def step(self, step_id: str) -> StepState:
        """The step, created on the fly if the plan did not name it."""
        s = self.steps.get(step_id)
        if s is None:
            s = self.steps[step_id] = StepState(step_id)
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
        ts = parse_iso(e.ts)
        self.last_seq = e.seq
        self.last_ts = ts
        self.last_ts_text = e.ts
        self.last_type = e.type
        if not self.run_id:
            self.run_id = e.run_id
        handler = _HANDLERS.get(e.type)
        if handler is not None:
            handler(self, e, ts, e.data)


def fold(events: Iterable[Event]) -> RunState:
    """A run's state from its events, in seq order."""
    state = RunState()
    for e in events:
        state.apply(e)
    return state


# -- event handlers ----------------------------------------------------------------------


def _floats(v: Any) -> float | None:
    return float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else None


def _run_started(r: RunState, e: Event, ts: float, d: Mapping[str, Any]) -> None:
    r.playbook = str(d.get("playbook") or "")
    r.title = str(d.get("title") or "")
    r.mode = str(d.get("mode") or "")
    r.operator = d.get("operator")
    r.rto_s = _floats(d.get("rto_s"))
    r.plan = d.get("plan") or {}
    r.options = d.get("options") or {}
    r.status, r.started = "running", ts
    for p in r.plan.get("steps") or []:
        sid = str(p.get("id"))
        r.steps[sid] = StepState(
            id=sid,
            title=str(p.get("title") or ""),
            phase=str(p.get("phase") or ""),
            kind=str(p.get("kind") or "remote"),
            needs=tuple(p.get("needs") or ()),
            hosts=tuple(p.get("hosts") or ()),
            estimate=p.get("estimate") or {},
            owner=p.get("owner"),
        )
    if r.rto_s is None:
        r.rto_s = _floats(r.plan.get("rto_s"))
    r._dependents = None


def _run_resumed(r: RunState, e: Event, ts: float, d: Mapping[str, Any]) -> None:
    r.status, r.result, r.finished, r.interrupted_reason = "running", None, None, None
    r.resumes += 1


def _run_interrupted(r: RunState, e: Event, ts: float, d: Mapping[str, Any]) -> None:
    r.status = "interrupted"
    r.interrupted_reason = d.get("reason")


def _run_finished(r: RunState, e: Event, ts: float, d: Mapping[str, Any]) -> None:
    result = str(d.get("result") or "failed")
    r.status = r.result = result if result in FINISHED_RUN else "failed"
    r.finished = ts


def _step_started(r: RunState, e: Event, ts: float, d: Mapping[str, Any]) -> None:
    s = r.step(e.step or "")
    s.status = "running"
    s.attempts = int(d.get("attempt") or s.attempts + 1)
    s.started = s.started if s.started is not None else ts
    s.attempt_started, s.finished, s.duration_s = ts, None, None
    s.reason, s.failed_hosts, s.blocked_by, s.retry_pending = None, (), (), False
    s.answer = s.answered_at = s.wait_s = s.work_s = None
    s.waiting_since = s.claimed_at = s.claimed_by = None
    hosts = d.get("hosts")
    if isinstance(hosts, (list, tuple)):
        s.host_states = {str(h): HostState(str(h)) for h in hosts}
    else:
        s.host_states = {h: HostState(h) for h in s.hosts}


def _host(r: RunState, e: Event) -> HostState:
    s = r.step(e.step or "")
    name = e.host or ""
    h = s.host_states.get(name)
    if h is None:
        h = s.host_states[name] = HostState(name)
    return h


def _host_started(r: RunState, e: Event, ts: float, d: Mapping[str, Any]) -> None:
    h = _host(r, e)
    if h.status != "running":
        h.started = ts
    h.status, h.action, h.finished = "running", d.get("action"), None
    h.attempt = int(d.get("attempt") or h.attempt or 1)


def _host_output(r: RunState, e: Event, ts: float, d: Mapping[str, Any]) -> None:
    h = _host(r, e)
    h.tail = (h.tail + str(d.get("text") or ""))[-OUTPUT_TAIL_CHARS:]


def _host_succeeded(r: RunState, e: Event, ts: float, d: Mapping[str, Any]) -> None:
    h = _host(r, e)
    h.status = "skipped" if d.get("skipped") else "succeeded"
    h.finished, h.duration_s = ts, _floats(d.get("duration_s"))
    h.reason = h.message = h.exit_code = None


def _host_failed(r: RunState, e: Event, ts: float, d: Mapping[str, Any]) -> None:
    h = _host(r, e)
    h.status, h.finished, h.duration_s = "failed", ts, _floats(d.get("duration_s"))
    h.reason, h.message = d.get("reason"), d.get("message")
    code = d.get("exit_code")
    h.exit_code = code if isinstance(code, int) else None


def _step_retrying(r: RunState, e: Event, ts: float, d: Mapping[str, Any]) -> None:
    s = r.step(e.step or "")
    s.failed_hosts = tuple(d.get("failed_hosts") or ())


def _step_finished(s: StepState, status: str, ts: float, d: Mapping[str, Any]) -> None:
    s.status, s.finished, s.retry_pending = status, ts, False
    s.duration_s = _floats(d.get("duration_s"))
    if s.duration_s is None and s.attempt_started is not None:
        s.duration_s = ts - s.attempt_started
    if isinstance(d.get("attempts"), int):
        s.attempts = d["attempts"]


def _step_succeeded(r: RunState, e: Event, ts: float, d: Mapping[str, Any]) -> None:
    s = r.step(e.step or "")
    _step_finished(s, "succeeded", ts, d)
    s.reason, s.failed_hosts, s.blocked_by = None, (), ()


def _step_failed(r: RunState, e: Event, ts: float, d: Mapping[str, Any]) -> None:
    s = r.step(e.step or "")
    _step_finished(s, "failed", ts, d)
    s.failed_hosts = tuple(d.get("failed_hosts") or ())
    s.reason = d.get("reason")


def _step_skipped(r: RunState, e: Event, ts: float, d: Mapping[str, Any]) -> None:
    s = r.step(e.step or "")
    _step_finished(s, "skipped", ts, d)
    s.reason, s.blocked_by = d.get("reason"), ()
    if d.get("operator") is not None:
        s.operator, s.note = d.get("operator"), d.get("note")
    _release(r, s.id)


def _step_blocked(r: RunState, e: Event, ts: float, d: Mapping[str, Any]) -> None:
    s = r.step(e.step or "")
    s.status, s.blocked_by = "blocked", tuple(d.get("by") or ())


def _manual_waiting(r: RunState, e: Event, ts: float, d: Mapping[str, Any]) -> None:
    s = r.step(e.step or "")
    s.status, s.waiting_since = "waiting", ts
    s.claimed_by = s.claimed_at = s.answer = s.answered_at = None
    s.started = s.started if s.started is not None else ts
    s.attempt_started = s.attempt_started or ts
    s.instructions = d.get("instructions")
    if d.get("owner") and not s.owner:
        s.owner = d.get("owner")


def _manual_claimed(r: RunState, e: Event, ts: float, d: Mapping[str, Any]) -> None:
    s = r.step(e.step or "")
    s.status, s.claimed_by, s.claimed_at = "claimed", d.get("operator"), ts


def _manual_answered(r: RunState, e: Event, ts: float, d: Mapping[str, Any]) -> None:
    s = r.step(e.step or "")
    answer = str(d.get("answer") or "done")
    wait, work, _ = manual_times(s, ts)
    s.answer, s.answered_at = answer, ts
    s.operator, s.note = d.get("operator"), d.get("note")
    s.wait_s = _floats(d.get("wait_s"))
    s.work_s = _floats(d.get("work_s"))
    s.wait_s = wait if s.wait_s is None else s.wait_s
    s.work_s = work if s.work_s is None else s.work_s
    # The answer settles the step even before an engine acts on it: `status` and `resume`
    # must see it when no engine is running. The engine's step_* event that follows agrees.
    status = {"done": "succeeded", "skip": "skipped", "fail": "failed"}.get(answer, "succeeded")
    _step_finished(s, status, ts, {"duration_s": (s.wait_s or 0.0) + (s.work_s or 0.0)})
    if status == "skipped":
        s.reason = "operator"
        _release(r, s.id)
    elif status == "failed":
        s.reason = "operator"


def _operator_retry(r: RunState, e: Event, ts: float, d: Mapping[str, Any]) -> None:
    s = r.step(e.step or "")
    s.operator, s.note, s.retry_pending = d.get("operator"), d.get("note"), True
    if s.status in ("failed", "blocked"):
        s.status, s.finished, s.blocked_by = "pending", None, ()
        _release(r, s.id)


def _release(r: RunState, step_id: str) -> None:
    """`step_id` no longer fails: steps blocked only by it wait for it again (pending)."""
    for other in r.steps.values():
        if other.status == "blocked" and step_id in other.blocked_by:
            other.blocked_by = tuple(b for b in other.blocked_by if b != step_id)
            if not other.blocked_by:
                other.status = "pending"


def _operator_expect(r: RunState, e: Event, ts: float, d: Mapping[str, Any]) -> None:
    s = r.step(e.step or "")
    remaining = _floats(d.get("remaining_s"))
    if remaining is not None:
        s.expect = Expectation(remaining, ts, d.get("operator"), d.get("note"))


def _eta(r: RunState, e: Event, ts: float, d: Mapping[str, Any]) -> None:
    r.eta, r.eta_ts = d, ts


def _host_key_accepted(r: RunState, e: Event, ts: float, d: Mapping[str, Any]) -> None:
    r.host_keys.append({"host": e.host, **d})


_HANDLERS = {
    "run_started": _run_started,
    "run_resumed": _run_resumed,
    "run_interrupted": _run_interrupted,
    "run_finished": _run_finished,
    "step_started": _step_started,
    "host_started": _host_started,
    "host_output": _host_output,
    "host_succeeded": _host_succeeded,
    "host_failed": _host_failed,
    "step_retrying": _step_retrying,
    "step_succeeded": _step_succeeded,
    "step_failed": _step_failed,
    "step_skipped": _step_skipped,
    "step_blocked": _step_blocked,
    "manual_waiting": _manual_waiting,
    "manual_claimed": _manual_claimed,
    "manual_answered": _manual_answered,
    "operator_retry": _operator_retry,
    "operator_expect": _operator_expect,
    "eta": _eta,
    "host_key_accepted": _host_key_accepted,
}

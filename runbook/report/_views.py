"""The report's step and host records, drawn from the folded state (runbook/events).

Nothing here decides where a step stands: status, blocks, attempts, hosts and each
attempt's start and outcome are the fold's. What is decided here is how to draw them:
the plan's schedule beside each step, a host's row over its attempts, and the Gantt bars.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from runbook.events import Attempt, EngineLife, HostState, RunState, StepState
from runbook.report._records import HostRecord, Segment, StepRecord, Timeline
from runbook.report._schedule import planned_schedule

_HOST_RESULT = {"skipped": "already done", "pending": "not run"}
_ENDS = frozenset({"succeeded", "failed", "skipped"})


def _num(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def fill_from_state(tl: Timeline, state: RunState) -> None:
    """The run, its plan and every step of `tl`, as `state` has them."""
    tl.run_id = state.run_id
    tl.playbook = state.playbook
    tl.title = state.title or state.playbook
    tl.mode = state.mode
    tl.operator = _text(state.operator)
    tl.playbook_path = _text(state.playbook_path)
    tl.rto_s = state.rto_s
    tl.rto_warning_at = state.rto_warning_at
    tl.started, tl.finished = state.started, state.finished
    tl.status = state.status
    plan = state.plan
    phases = plan.get("phases")
    tl.phases = [str(p) for p in phases] if isinstance(phases, list) else []
    tl.plan_p50_s = _num(plan.get("p50_s"))
    tl.plan_p90_s = _num(plan.get("p90_s"))
    tl.critical_path = tuple(str(c) for c in plan.get("critical_path") or ())
    raw: Sequence[Any] = plan.get("steps") or ()
    planned = {str(p["id"]): p for p in raw if isinstance(p, Mapping) and p.get("id")}
    slots = planned_schedule(list(planned.values()))
    for sid, s in state.steps.items():
        est = planned.get(sid, {}).get("estimate")
        rec = StepRecord(
            id=sid,
            title=s.title or sid,
            phase=s.phase,
            kind=s.kind,
            needs=s.needs,
            planned_hosts=s.hosts or _listed(s),
            owner=_text(s.owner),
            doc=s.doc,
            estimate_s=_num(est.get("likely_s")) if isinstance(est, Mapping) else None,
            planned=slots.get(sid),
            status=s.status,
            start=s.started,
            end=s.finished,
            attempts=s.attempts,
            operator=_text(s.claimed_by if s.status == "claimed" else s.operator),
            note=_text(s.note),
            blocked_by=s.blocked_by,
            blocked_at=s.blocked_at,
            wait_s=s.wait_s,
            work_s=s.work_s,
            segments=segments(s.history, state.lives),
            hosts=host_records(s),
        )
        tl.steps[sid] = rec


def _listed(s: StepState) -> tuple[str, ...]:
    """A step the plan gives no hosts: those its first attempt named, if any."""
    return next((a.listed for a in s.history if a.listed), ())


def host_records(s: StepState) -> dict[str, HostRecord]:
    """One record per host over the step's attempts: first start, latest outcome."""
    out: dict[str, HostRecord] = {}
    for attempt in s.history:
        for name, h in _each_state(attempt.hosts):
            reached = h.status != "pending" or h.attempt or h.tail
            rec = out.get(name)
            if rec is None:
                if not reached:
                    continue  # named by step_started, never reached
                rec = out[name] = HostRecord(name)
            if not reached:
                continue
            rec.start = rec.start if rec.start is not None else h.started
            rec.end = h.finished if h.finished is not None else rec.end
            rec.result = _HOST_RESULT.get(h.status, h.status)
            rec.attempts = max(rec.attempts, h.attempt)
    return out


def _each_state(hosts: Mapping[str, HostState]) -> Iterator[tuple[str, HostState]]:
    """Each host's states, oldest first: a journal that did not record a retry's start
    keeps the host's earlier attempts in the chain of `previous` states."""
    for name, last in hosts.items():
        chain: list[HostState] = []
        h: HostState | None = last
        while h is not None:
            chain.append(h)
            h = h.previous
        for state in reversed(chain):
            yield name, state


def segments(history: Sequence[Attempt], lives: Sequence[EngineLife]) -> list[Segment]:
    """The Gantt's bars: one per attempt, cut where it stopped being watched.

    An attempt's bar ends at its outcome, at the start of the next attempt (a retry's
    delay shows in the failed try's bar), or when its engine was interrupted, whichever
    came first; a bar cut short is drawn as "interrupted" and what its attempt did after
    a resume is not drawn again.
    """
    out = []
    for i, a in enumerate(history):
        # (engine life, order within it): an outcome, then a new attempt, then the stop
        ends: list[tuple[tuple[int, int], float, str]] = []
        if a.finished is not None and a.finished_life is not None and a.outcome in _ENDS:
            ends.append(((a.finished_life, 0), a.finished, a.outcome))
        if i + 1 < len(history):
            ends.append(((history[i + 1].life, 1), history[i + 1].started, "interrupted"))
        for n in range(a.life, len(lives)):
            stop = lives[n].interrupted
            if stop is not None:
                ends.append(((n, 2), stop, "interrupted"))
                break
        if ends:
            _, end, outcome = min(ends, key=lambda x: x[0])
            out.append(Segment(a.started, end, outcome))
        else:
            out.append(Segment(a.started))
    return out

"""The fold's step-level transitions: attempts, outcomes, blocks, and operators' decisions.

A failed step blocks its dependents; a step that no longer fails (an operator retried or
skipped it) lifts the blocks it caused, as the engine does (`_release` below and
runbook/engine/_operators.py): the dependents wait for it again, `pending`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from runbook.events._data import count, names, number
from runbook.events._event import Event
from runbook.events._host_state import HostState
from runbook.events._step_state import Attempt, Expectation, StepState, manual_times

if TYPE_CHECKING:
    from runbook.events._fold import RunState

ANSWERS = {"done": "succeeded", "skip": "skipped", "fail": "failed"}
FINAL = frozenset(ANSWERS.values())


def _step(r: RunState, e: Event) -> StepState:
    return r.step(e.step or "")


def _end_attempt(r: RunState, s: StepState, ts: float, outcome: str) -> None:
    """The latest attempt, if it is still under way, ends with `outcome`.

    A retried attempt stays the latest until the retry's step_started: a step outcome
    that comes first (a journal that does not record the retry's start) is its outcome.
    """
    if not s.history:
        return
    a = s.history[-1]
    if a.outcome == "running" or (a.outcome == "retrying" and outcome in FINAL):
        a.finished, a.finished_life, a.outcome = ts, r.life, outcome


def step_started(r: RunState, e: Event, ts: float, d: Mapping[str, Any]) -> None:
    s = _step(r, e)
    _end_attempt(r, s, ts, "abandoned")
    s.status = "running"
    s.attempts = count(d.get("attempt")) or s.attempts + 1
    if not s.planned and isinstance(d.get("kind"), str):
        s.kind = d["kind"]
    s.started = s.started if s.started is not None else ts
    s.attempt_started, s.finished, s.duration_s = ts, None, None
    s.reason, s.failed_hosts, s.blocked_by, s.blocked_at = None, (), (), None
    s.retry_pending, s.retry_due, s.tolerated = False, None, False
    s.answer = s.answered_at = s.wait_s = s.work_s = None
    s.waiting_since = s.claimed_at = s.claimed_by = None
    hosts = d.get("hosts")
    listed = names(hosts) if isinstance(hosts, (list, tuple)) else s.hosts
    s.host_states = {h: HostState(h) for h in listed}
    if not s.selected or s.attempts <= 1:
        s.selected = listed
    if isinstance(d.get("pattern"), str):
        s.pattern = d["pattern"]
    s.history.append(Attempt(s.attempts, ts, r.life, s.host_states, listed))


def step_retrying(r: RunState, e: Event, ts: float, d: Mapping[str, Any]) -> None:
    s = _step(r, e)
    s.failed_hosts = names(d.get("failed_hosts"))
    s.failures += 1
    s.retry_due = ts + (number(d.get("delay_s")) or 0.0)
    _end_attempt(r, s, ts, "retrying")


def _finish(r: RunState, s: StepState, status: str, ts: float, d: Mapping[str, Any]) -> None:
    s.status, s.finished, s.retry_pending, s.retry_due = status, ts, False, None
    s.duration_s = number(d.get("duration_s"))
    if s.duration_s is None and s.attempt_started is not None:
        s.duration_s = ts - s.attempt_started
    attempts = count(d.get("attempts"))
    if attempts is not None:
        s.attempts = attempts
    _end_attempt(r, s, ts, status)


def step_succeeded(r: RunState, e: Event, ts: float, d: Mapping[str, Any]) -> None:
    s = _step(r, e)
    _finish(r, s, "succeeded", ts, d)
    s.reason, s.failed_hosts, s.blocked_by, s.blocked_at = None, (), (), None


def step_failed(r: RunState, e: Event, ts: float, d: Mapping[str, Any]) -> None:
    s = _step(r, e)
    _finish(r, s, "failed", ts, d)
    s.failed_hosts = names(d.get("failed_hosts"))
    s.reason = d.get("reason")
    s.tolerated = d.get("tolerated") is True
    if s.tolerated:
        _release(r, s.id)


def step_skipped(r: RunState, e: Event, ts: float, d: Mapping[str, Any]) -> None:
    s = _step(r, e)
    _finish(r, s, "skipped", ts, d)
    s.reason, s.blocked_by, s.blocked_at = d.get("reason"), (), None
    if isinstance(d.get("when"), str):
        s.when = d["when"]
    if d.get("operator") is not None:
        s.operator, s.note = d.get("operator"), d.get("note")
    _release(r, s.id)


def step_blocked(r: RunState, e: Event, ts: float, d: Mapping[str, Any]) -> None:
    s = _step(r, e)
    s.status, s.blocked_by, s.blocked_at, s.retry_due = "blocked", names(d.get("by")), ts, None


def manual_waiting(r: RunState, e: Event, ts: float, d: Mapping[str, Any]) -> None:
    s = _step(r, e)
    s.status, s.waiting_since = "waiting", ts
    s.claimed_by = s.claimed_at = s.answer = s.answered_at = None
    s.started = s.started if s.started is not None else ts
    s.attempt_started = s.attempt_started or ts
    s.instructions = d.get("instructions")
    if isinstance(d.get("input"), Mapping):
        s.input = d["input"]
    if d.get("owner") and not s.owner:
        s.owner = d.get("owner")
    if not s.planned and s.kind == "remote":
        s.kind = "manual"
    if not s.history or s.history[-1].outcome != "running":
        s.history.append(Attempt(s.attempts, ts, r.life, s.host_states))


def manual_claimed(r: RunState, e: Event, ts: float, d: Mapping[str, Any]) -> None:
    s = _step(r, e)
    s.status, s.claimed_by, s.claimed_at = "claimed", d.get("operator"), ts


def manual_answered(r: RunState, e: Event, ts: float, d: Mapping[str, Any]) -> None:
    s = _step(r, e)
    answer = str(d.get("answer") or "done")
    wait, work, _ = manual_times(s, ts)
    s.answer, s.answered_at = answer, ts
    if "value" in d:
        s.value = d.get("value")
    s.operator, s.note = d.get("operator"), d.get("note")
    s.wait_s = number(d.get("wait_s"))
    s.work_s = number(d.get("work_s"))
    s.wait_s = wait if s.wait_s is None else s.wait_s
    s.work_s = work if s.work_s is None else s.work_s
    # The answer settles the step even before an engine acts on it: `status` and `resume`
    # must see it when no engine is running. The engine's step_* event that follows agrees.
    status = ANSWERS.get(answer, "succeeded")
    _finish(r, s, status, ts, {"duration_s": (s.wait_s or 0.0) + (s.work_s or 0.0)})
    if status == "skipped":
        s.reason = "operator"
        _release(r, s.id)
    elif status == "failed":
        s.reason = "operator"


def operator_retry(r: RunState, e: Event, ts: float, d: Mapping[str, Any]) -> None:
    s = _step(r, e)
    s.operator, s.note, s.retry_pending = d.get("operator"), d.get("note"), True
    if s.status in ("failed", "blocked"):
        s.status, s.finished, s.blocked_by, s.blocked_at = "pending", None, (), None
        s.failures = 0  # a retried step has its `retries` again
        _release(r, s.id)


def _release(r: RunState, step_id: str) -> None:
    """`step_id` no longer fails: steps blocked only by it wait for it again (pending)."""
    for other in r.steps.values():
        if other.status == "blocked" and step_id in other.blocked_by:
            other.blocked_by = tuple(b for b in other.blocked_by if b != step_id)
            if not other.blocked_by:
                other.status, other.blocked_at = "pending", None


def operator_expect(r: RunState, e: Event, ts: float, d: Mapping[str, Any]) -> None:
    s = _step(r, e)
    remaining = number(d.get("remaining_s"))
    if remaining is not None:
        s.expect = Expectation(remaining, ts, d.get("operator"), d.get("note"))


STEP_HANDLERS = {
    "step_started": step_started,
    "step_retrying": step_retrying,
    "step_succeeded": step_succeeded,
    "step_failed": step_failed,
    "step_skipped": step_skipped,
    "step_blocked": step_blocked,
    "manual_waiting": manual_waiting,
    "manual_claimed": manual_claimed,
    "manual_answered": manual_answered,
    "operator_retry": operator_retry,
    "operator_expect": operator_expect,
}

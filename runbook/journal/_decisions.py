"""Operator decisions, recorded in the journal: claim, confirm, retry, skip, expect.

Each decision is one `append_checked`: the check runs on the state folded inside the
write transaction, so two operators acting on the same step at once get one winner and
the other is told who won. A running engine polls the journal and acts on the event; with
no engine live, the decision waits in the journal for `runbook resume`.

Time: the real clock, but never earlier than the run's last event (the journal raises an
earlier time to it). A rehearsal's events carry virtual time, possibly ahead of the wall
clock; its chain must still read forwards, and a wait or work time must never be negative.
"""

from __future__ import annotations

import difflib
import getpass
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from runbook.clock import Clock, iso
from runbook.durations import format_duration
from runbook.errors import InputError, StateError
from runbook.events import Event, RunState, StepState, manual_times
from runbook.journal._input_value import input_value
from runbook.journal._protocol import EventStore
from runbook.journal._rows import EventData

Answer = Literal["done", "skip", "fail"]
RESUME_HINT = "no engine holds run {run_id}: recorded; continue with: runbook resume {run_id}"


@dataclass(frozen=True)
class Recorded:
    """What an operator command wrote and what to tell the operator."""

    run_id: str
    step: str
    events: tuple[Event, ...]
    message: str
    engine_live: bool


def operator_name(explicit: str | None, environ: Mapping[str, str] = os.environ) -> str:
    """--operator, else $RUNBOOK_OPERATOR, else the login user."""
    for name in (explicit, environ.get("RUNBOOK_OPERATOR")):
        if name and name.strip():
            return name.strip()
    try:
        return getpass.getuser()
    except Exception:  # no passwd entry (containers): still journal something honest
        return f"uid-{os.getuid()}"


def _when(ts: float | None) -> str:
    return iso(ts) if ts is not None else "?"


def _step_or_problem(state: RunState, step_id: str) -> StepState | str:
    if step_id in state.steps:
        return state.steps[step_id]
    close = difflib.get_close_matches(step_id, list(state.steps), n=3, cutoff=0.6)
    hint = f"; did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
    return f"run {state.run_id} has no step '{step_id}'{hint}"


def _finished(state: RunState) -> str:
    return f"run {state.run_id} finished ({state.status}) at {_when(state.finished)}"


def _require(state: RunState, step_id: str, *, allow_failed_run: bool = False) -> StepState:
    """The step, or StateError for an unknown step or a finished run."""
    if state.is_finished and not (allow_failed_run and state.status != "succeeded"):
        step = state.steps.get(step_id)
        if step is not None and step.answer is not None:
            # The last step's racing operators: say who answered it first, as for any step.
            raise StateError(f"{_not_waiting(step)}; {_finished(state)}")
        raise StateError(_finished(state) + "; nothing is waiting for an operator")
    found = _step_or_problem(state, step_id)
    if isinstance(found, str):
        raise StateError(found)
    return found


def _decide(
    journal: EventStore,
    run_id: str,
    type_: str,
    step_id: str,
    rule: Callable[[StepState], str | None],
    data: EventData,
    clock: Clock,
    *,
    allow_failed_run: bool = False,
) -> Event:
    """Journal a decision on a step if, as the write sees the run, `rule` allows it."""

    def check(state: RunState) -> str | None:
        try:
            step = _require(state, step_id, allow_failed_run=allow_failed_run)
        except StateError as err:
            return str(err)
        return rule(step)

    return journal.append_checked(
        run_id, type_, check=check, ts=clock.now(), step=step_id, data=data
    )


def _recorded(
    journal: EventStore, events: list[Event], message: str, *, hint_resume: bool
) -> Recorded:
    run_id = events[0].run_id
    live = journal.is_engine_live(run_id)
    if hint_resume:
        message += (
            "; the running engine picks it up" if live else "\n" + RESUME_HINT.format(run_id=run_id)
        )
    return Recorded(run_id, events[0].step or "", tuple(events), message, live)


def claim(
    journal: EventStore, run_id: str, step_id: str, *, operator: str, clock: Clock
) -> Recorded:
    """An operator takes a waiting manual step: its work time starts now."""

    def rule(s: StepState) -> str | None:
        if s.status == "claimed":
            return f"step {s.id} is already claimed by {s.claimed_by} (since {_when(s.claimed_at)})"
        if s.status != "waiting":
            return _not_waiting(s)
        return None

    event = _decide(journal, run_id, "manual_claimed", step_id, rule, {"operator": operator}, clock)
    return _recorded(
        journal,
        [event],
        f"{operator} claimed step {step_id}: its work time starts now",
        hint_resume=False,
    )


def _not_waiting(s: StepState) -> str:
    if s.answer is not None and s.status in ("succeeded", "skipped", "failed"):
        who = f" by {s.operator}" if s.operator else ""
        return f"step {s.id} was already answered ({s.answer}){who} at {_when(s.answered_at)}"
    if s.kind != "manual":
        return (
            f"step {s.id} is a {s.kind} step and is {s.status}; "
            f"only manual steps wait for an operator"
        )
    return f"step {s.id} is {s.status}, not waiting for an answer"


def confirm(
    journal: EventStore,
    run_id: str,
    step_id: str,
    *,
    answer: Answer,
    note: str | None,
    operator: str,
    clock: Clock,
    value: str | None = None,
    at_engine: bool = False,
) -> Recorded:
    """Answer a waiting (or claimed) manual step: done, skip or fail; `value` answers its
    `input` (a secret one only from the engine's own terminal: `at_engine`)."""

    def rule(s: StepState) -> str | None:
        if s.status not in ("waiting", "claimed"):
            return _not_waiting(s)
        return input_value(s, answer, value, at_engine)[0]

    def data(state: RunState, ts: float) -> dict[str, Any]:
        s = state.steps[step_id]
        wait_s, work_s, claimed = manual_times(s, ts)
        found: dict[str, Any] = {
            "answer": answer,
            "operator": operator,
            "note": note,
            "wait_s": round(wait_s, 3),
            "work_s": round(work_s, 3),
            "claimed": claimed,
        }
        if s.input is not None and answer == "done":
            found["value"] = input_value(s, answer, value, at_engine)[1]
        return found

    event = _decide(journal, run_id, "manual_answered", step_id, rule, data, clock)
    work = format_duration(float(event.data["work_s"]))
    wait = format_duration(float(event.data["wait_s"]))
    given = event.data.get("value")
    shown = f" with value {given}" if given is not None else ""
    message = f"step {step_id}: {answer}{shown} (by {operator}; waited {wait}, worked {work})"
    return _recorded(journal, [event], message, hint_resume=True)


def retry(
    journal: EventStore,
    run_id: str,
    step_id: str,
    *,
    operator: str,
    note: str | None,
    clock: Clock,
) -> Recorded:
    """Run a failed step again; for a blocked step, the failed steps that block it."""
    state = journal.state(run_id)
    step = _require(state, step_id, allow_failed_run=True)
    targets = [step_id]
    if step.status == "blocked":
        targets = [b for b in step.blocked_by if b in state.steps]
        targets = [b for b in targets if state.steps[b].status == "failed"] or [step_id]

    def rule(s: StepState) -> str | None:
        if s.status in ("failed", "blocked"):
            return None
        return f"step {s.id} is {s.status}; only a failed or blocked step can be retried"

    events = [
        _decide(
            journal,
            run_id,
            "operator_retry",
            target,
            rule,
            {"operator": operator, "note": note},
            clock,
            allow_failed_run=True,
        )
        for target in targets
    ]
    if targets == [step_id]:
        message = f"step {step_id} will be retried"
    else:
        message = f"step {step_id} is blocked by {', '.join(targets)}: that will be retried"
    return _recorded(journal, events, message, hint_resume=True)


def skip(
    journal: EventStore,
    run_id: str,
    step_id: str,
    *,
    note: str,
    operator: str,
    clock: Clock,
) -> Recorded:
    """Skip a failed, blocked or pending step; its dependents may then start."""
    if not note or not note.strip():
        raise InputError("skip needs --note TEXT: say why the step is skipped, for the audit")

    def rule(s: StepState) -> str | None:
        if s.status in ("failed", "blocked", "pending"):
            return None
        if s.status in ("waiting", "claimed"):
            return (
                f"step {s.id} is waiting for an operator; answer it with: "
                f"runbook confirm {run_id} {s.id} --skip --note TEXT"
            )
        return f"step {s.id} is {s.status}; only a failed, blocked or pending step can be skipped"

    event = _decide(
        journal,
        run_id,
        "step_skipped",
        step_id,
        rule,
        {"reason": "operator", "operator": operator, "note": note.strip()},
        clock,
        allow_failed_run=True,
    )
    return _recorded(journal, [event], f"step {step_id} skipped by {operator}", hint_resume=True)


def expect(
    journal: EventStore,
    run_id: str,
    step_id: str,
    remaining_s: float,
    *,
    note: str | None,
    operator: str,
    clock: Clock,
) -> Recorded:
    """An operator's word on how much longer a running or waiting step takes."""

    def rule(s: StepState) -> str | None:
        if s.status in ("running", "waiting", "claimed"):
            return None
        return f"step {s.id} is {s.status}; expect applies to a running or waiting step"

    event = _decide(
        journal,
        run_id,
        "operator_expect",
        step_id,
        rule,
        {"remaining_s": float(remaining_s), "note": note, "operator": operator},
        clock,
    )
    message = f"step {step_id}: expected to take {format_duration(remaining_s)} more ({operator})"
    return _recorded(journal, [event], message, hint_resume=False)

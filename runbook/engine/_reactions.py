"""Operator reactions: answers from this terminal, and decisions journaled from any other.

This terminal's answers (manual prompt, `--step` gate, resume question) arrive through
`Engine.answer` from the prompt thread; `confirm`, `claim`, `retry`, `skip` and `expect`
from other terminals arrive as journal events the engine polls. Either way the loop hands
them to these functions on its own thread, so there is one place where a step's fate
changes: the core (runbook/engine/_core.py).
"""

from __future__ import annotations

from runbook.engine._core import RunCore
from runbook.engine._outbox import Confirm
from runbook.engine._table import DONE_OK, StepRun
from runbook.events import Event

# Events other terminals write that the engine must act on.
INPUT_TYPES = frozenset(
    {"manual_claimed", "manual_answered", "operator_retry", "step_skipped", "operator_expect"}
)


def answered(
    core: RunCore,
    sid: str,
    choice: str,
    note: str,
    operator: str,
    now: float,
    value: str | None = None,
) -> None:
    """An operator answered this terminal's question about `sid` (`value`: its input)."""
    core.now = now
    q = core.questions.get(sid)
    run = core.table.get(sid)
    if q is None or run is None:
        return
    if q.kind == "manual":
        core.out.add(Confirm(sid, choice, note, operator, value))
        return
    core.questions.pop(sid, None)
    if q.kind == "gate":
        _gate_answer(core, run, choice, note, operator)
    else:
        _resume_answer(core, run, choice, note, operator)


def _gate_answer(core: RunCore, run: StepRun, choice: str, note: str, operator: str) -> None:
    if run.status != "gate":
        return
    if choice == "run":
        run.gate_passed = True
        core.begin_attempt(run)
    elif choice == "skip":
        core.skip(run, operator, note)
    else:
        core.table.set(run, "pending")
        core.aborting = True


def _resume_answer(core: RunCore, run: StepRun, choice: str, note: str, operator: str) -> None:
    if run.status != "ask":
        return
    if choice == "rerun" and not run.decided:
        core.table.set(run, "ready")  # its `when`, `hosts` or `input` is evaluated again
    elif choice == "rerun":
        for host in run.todo:
            run.modes[host] = "normal"
        core.table.set(run, "running")
        core.pump_hosts(run)
    elif choice == "skip":
        core.skip(run, operator, note)
    else:
        core.fail(run, "interrupted: the operator marked it failed", uncertain(run))


def uncertain(run: StepRun) -> list[str]:
    """The hosts whose `run` may or may not have happened, for the journal."""
    return sorted(h or "localhost" for h in run.uncertain)


def react(core: RunCore, e: Event, now: float) -> None:
    """An event that may come from another terminal: claim, answer, retry, skip."""
    core.now = now
    sid = e.step or ""
    run = core.table.get(sid)
    if run is None:
        return
    if e.type == "manual_claimed":
        core.withdraw(sid, f"claimed by {e.data.get('operator') or 'someone'}")
    elif e.type == "manual_answered":
        _manual_answered(core, run, e)
    elif e.type == "operator_retry":
        _operator_retry(core, run)
    elif e.type == "step_skipped" and run.status not in DONE_OK:
        _operator_skip(core, run)


def _manual_answered(core: RunCore, run: StepRun, e: Event) -> None:
    if run.status != "waiting":
        return
    d = e.data
    answer = str(d.get("answer") or "done")
    who = d.get("operator")
    core.withdraw(run.id, f"answered {answer} by {who or 'someone'}")
    duration = float(d.get("wait_s") or 0.0) + float(d.get("work_s") or 0.0)
    if answer == "done":
        core.out.emit("step_succeeded", step=run.id, duration_s=duration, attempts=run.attempt)
        core.succeed(run)
    elif answer == "skip":
        core.skip(run, who, d.get("note"))
    else:
        note = d.get("note")
        core.fail(run, f"operator: {note}" if note else "operator: failed", [])


def _operator_retry(core: RunCore, run: StepRun) -> None:
    if run.status not in ("failed", "blocked"):
        return
    core.table.clear_blocks(run)
    core.table.set(run, "pending")
    run.failures = 0
    run.failed.clear()
    core.table.unblock(run.id)
    core.table.ready_if_free(run)


def _operator_skip(core: RunCore, run: StepRun) -> None:
    """Another terminal skipped the step: stop whatever it was doing, count it done."""
    core.withdraw(run.id, "skipped by an operator")
    for job in run.active.values():
        job.done = True
        job.cancel.set()
    run.active.clear()
    run.todo.clear()
    core.table.clear_blocks(run)
    core.skipped(run)

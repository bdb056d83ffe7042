"""A manual step: its instructions and `input` journaled, then an operator's answer waited for.

In a rehearsal without --interactive, the rehearsal's clock answers "done" after the
step's drawn duration, with the `input`'s default (else its first choice, else the
step's `example`) as the value; a value the input would refuse (or none) fails the step,
naming why, where waiting would never end.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from runbook.engine._decide import DecideError
from runbook.engine._deciding import ask_operator
from runbook.engine._outbox import Confirm, Emit
from runbook.engine._table import StepRun
from runbook.journal import value_problem

if TYPE_CHECKING:
    from runbook.engine._core import RunCore


def start_manual(core: RunCore, run: StepRun) -> None:
    """Journal the step's start and what the operator is asked, then wait for an answer."""
    p = run.plan
    decider = core.decider
    rendered: dict[str, Any] | None = None
    if decider is not None and run.step.input is not None:
        try:
            rendered = decider.rendered_input(run.step)
        except DecideError as e:
            run.decided = False
            ask_operator(core, run, str(e))
            return
    run.input = rendered
    run.attempt += 1
    core.out.emit("step_started", step=p.id, attempt=run.attempt, kind=p.kind, hosts=list(p.hosts))
    text = core.work.instructions(p.id)
    data: dict[str, Any] = {"instructions": text, "hosts": list(p.hosts), "owner": p.owner}
    if rendered is not None:
        data["input"] = rendered
    core.out.add(Emit("manual_waiting", p.id, None, data))
    core.table.set(run, "waiting")
    run.started = run.started or core.now
    await_manual(core, run)


def await_manual(core: RunCore, run: StepRun) -> None:
    """A manual step waits: answered by the rehearsal's clock, or asked at the terminal."""
    sid = run.id
    if core.options.auto_answer and core.manual_duration is not None:
        at = core.now + core.manual_duration(sid)
        core.timers.add(at, lambda: _auto_answer(core, sid))
    elif core.can_ask:
        text = core.redactor.text(core.work.instructions(sid))
        core.ask(run, "manual", text, run.input)


def _auto_answer(core: RunCore, sid: str) -> None:
    run = core.table[sid]
    if run.status != "waiting":
        return
    value = None
    if core.decider is not None and run.input is not None:
        value = core.decider.rehearsed_answer(run.step, run.input)
        if value is None:
            why = "a rehearsal has no value to answer its `input` with: give the step an `example:`"
            core.out.add(Confirm(sid, "fail", why, "rehearsal", None))  # waiting would never end
            return
        refused = value_problem(sid, run.input, value)
        if refused is not None:
            why = f"a rehearsal cannot answer its `input`: {refused} (fix the step's `example:`)"
            core.out.add(Confirm(sid, "fail", why, "rehearsal", None))
            return
    core.out.add(Confirm(sid, "done", "", "rehearsal", value))

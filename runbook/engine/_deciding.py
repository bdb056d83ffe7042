"""A step that decides, at the moment it becomes ready (docs/playbook.md "Steps that decide").

Order: `when` first (false: the step is skipped, with its reason and expression), then
the hosts (a templated pattern rendered and resolved, `--limit` applied; `run_once`).
An expression that cannot be evaluated puts the step to an operator, as after a crash
(rerun evaluates it again, skip, or fail); with no terminal to ask, the step fails with
the message. A pattern that matches no host fails the step, naming the rendered pattern.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from runbook.engine._decide import DecideError, Decider, NoHosts
from runbook.engine._table import StepRun
from runbook.errors import InputError
from runbook.model import Step

if TYPE_CHECKING:
    from runbook.engine._core import RunCore


def decide_start(core: RunCore, decider: Decider, run: StepRun) -> bool:
    """Decide what only the start can; False when the step does not go on now."""
    step = run.step
    run.decided = True
    decider.forget(run.id)
    try:
        if step.when is not None and not decider.when_holds(step):
            # a rehearsal draws `when` with its chance: say so, it was not found false
            data: dict[str, Any] = {"reason": "when", "when": step.when}
            if decider.simulated and step.chance is not None:
                data["chance"] = step.chance
            core.out.emit("step_skipped", step=run.id, operator=None, note=None, **data)
            core.skipped(run)
            return False
        if run.plan.kind == "remote" and (step.hosts_at_run_time or step.run_once):
            planned = run.plan.hosts
            run.pattern, run.chosen = decider.hosts(step, tuple(h for h in planned if h))
            short = _quorum_short(step, run.pattern, run.chosen)
            if short is not None:  # validate cannot know how many hosts a template picks
                _fail_at_start(core, run, run.pattern, list(run.chosen), short)
                return False
        if step.reads:
            _render_now(core, run)
    except NoHosts as e:
        _fail_at_start(core, run, e.pattern, [], str(e))
        return False
    except DecideError as e:
        run.decided = False  # evaluated again when the operator says rerun
        ask_operator(core, run, str(e))
        return False
    return True


def _quorum_short(step: Step, pattern: str | None, chosen: tuple[str, ...]) -> str | None:
    """Why `min_ok` cannot be met by the hosts a run-time `hosts` chose (None: it can)."""
    if step.min_ok is None or not step.hosts_at_run_time:
        return None
    need = step.min_ok.of(len(chosen), round_up=True)
    if need <= len(chosen):
        return None
    return (
        f"min_ok {need} is more than the {len(chosen)} host(s) hosts '{pattern}' selected "
        f"({', '.join(chosen)})"
    )


def _fail_at_start(
    core: RunCore, run: StepRun, pattern: str | None, hosts: list[str], why: str
) -> None:
    run.attempt += 1
    core.out.emit(
        "step_started",
        step=run.id,
        attempt=run.attempt,
        kind=run.plan.kind,
        hosts=hosts,
        pattern=pattern,
    )
    core.fail(run, why, [])


def _render_now(core: RunCore, run: StepRun) -> None:
    """Render what reads earlier steps now, so a value that cannot be read is an operator's
    question before anything runs (not an error half-way through the hosts)."""
    try:
        if run.plan.kind == "manual":
            core.work.instructions(run.id)
            return
        for host in run.hosts:
            core.work.commands(run.id, host)
    except InputError as e:
        issue = e.issues[0] if e.issues else None
        why = issue.message if issue else str(e)
        raise DecideError(f"a template could not be rendered: {why}") from None


def ask_operator(core: RunCore, run: StepRun, message: str) -> None:
    """Nothing can decide but an operator: wait for one (or fail, with no terminal)."""
    if not core.can_ask:
        core.fail(run, f"{message} (needs an operator decision)", [])
        return
    core.table.set(run, "ask")
    core.ask(run, "resume", f"{message}\nrerun: evaluate it again; skip; fail")

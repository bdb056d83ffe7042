"""How a run begins: from nothing, or from its journal after an interruption (resume).

A resumed run is the fold of its journal (`RunState`), turned into per-step decisions by
runbook/engine/_recovery.py (never silently re-run what may have had effects); this
module puts those decisions into the same core a fresh run uses: finished steps stay
finished, failed ones block their dependents again, in-flight ones continue their
attempt (or ask an operator first).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping
from typing import Any

from runbook.engine._attempt import Finished
from runbook.engine._core import RunCore
from runbook.engine._reactions import uncertain
from runbook.engine._recovery import StepResume
from runbook.engine._table import DONE_OK, StepRun

FINISHED = frozenset({*DONE_OK, "failed"})


def start_fresh(core: RunCore, now: float) -> None:
    """A new run: journal the steps skipped by --only/--from/--limit, queue the rest."""
    core.now = now
    table = core.table
    for sid, reason in sorted(
        core.options.initial_skips.items(), key=lambda kv: table.order[kv[0]]
    ):
        core.out.emit("step_skipped", step=sid, reason=reason, operator=None, note=None)
        table.set(table[sid], "skipped")
    for run in table:
        if run.status == "skipped":
            table.release(run.id)
    for run in table:
        table.ready_if_free(run)


def start_resumed(
    core: RunCore,
    resume: Mapping[str, StepResume],
    started: Mapping[str, float | None],
    noted: Mapping[str, Any],
    operator: str,
    now: float,
) -> None:
    """Journal `run_resumed`, then pick every step up where the journal says it was.

    `started` is each step's first start (from the fold); `orphans` are the commands of
    the previous engine found still running and killed before deciding.
    """
    core.now = now
    table = core.table
    in_flight = sorted(s for s, r in resume.items() if r.status in ("running", "retry"))
    decisions = {s: r.decision for s, r in sorted(resume.items()) if r.decision}
    extra = dict(noted)
    core.out.emit(
        "run_resumed", operator=operator, in_flight=in_flight, decisions=decisions, **extra
    )
    for sid, r in resume.items():
        run = table.get(sid)
        if run is None:
            continue
        _restore(run, r, started.get(sid))
        if r.status == "blocked":
            table.restore_blocks(run, r.blocked_by)
        elif r.status in ("running", "retry"):
            table.set(run, "resuming")
        else:
            table.set(run, r.status if r.status in (*DONE_OK, "failed", "waiting") else "pending")
    _ask_secrets_again(core)
    table.count_unmet()
    ordered = table.in_order()
    for run in ordered:
        if run.status == "failed" and not run.tolerated:
            core.block_from(run)
    for run in ordered:
        if run.status == "pending":
            table.ready_if_free(run)
        elif run.status == "waiting":
            core.await_manual(run)
        elif run.status == "resuming" and run.id in resume:
            _continue(core, run, resume[run.id])


def _restore(run: StepRun, r: StepResume, started: float | None) -> None:
    run.attempt, run.failures, run.hosts_ok = r.attempt, r.failures, set(r.hosts_ok)
    run.started = started
    # Decided when it started: the same hosts again, `when` not asked twice.
    run.decided = r.attempt > 0 and r.status not in ("pending",)
    run.chosen, run.pattern = r.chosen, r.pattern
    run.tolerated = r.tolerated


def start_joined(core: RunCore, resume: Mapping[str, StepResume], now: float) -> None:
    """Team mode: an engine joins a run other engines work on. It journals nothing: what
    is finished stays so, failed steps block again, and what is in flight is `elsewhere`
    (runbook/engine/_claims.py) until its claimant journals its end."""
    core.now = now
    table = core.table
    for sid, r in resume.items():
        run = table.get(sid)
        if run is None:
            continue
        _restore(run, r, None)
        if r.status == "blocked":
            table.restore_blocks(run, r.blocked_by)
        elif r.status in ("running", "retry", "waiting"):
            table.set(run, "elsewhere")
        elif r.status in (*DONE_OK, "failed"):
            table.set(run, r.status)
    table.count_unmet()
    ordered = table.in_order()
    for run in ordered:
        if run.status == "failed" and not run.tolerated:
            table.block_from(run.id)
    for run in ordered:
        table.ready_if_free(run)


def adopt(core: RunCore, run: StepRun, r: StepResume, started: float | None) -> None:
    """Team mode: a step taken over from an engine that is gone, as `resume` would."""
    _restore(run, r, started)
    if r.status in ("running", "retry"):
        core.table.set(run, "resuming")
        _continue(core, run, r)
    elif r.status == "waiting":
        core.table.set(run, "waiting")
        core.await_manual(run)
    elif r.status in (*DONE_OK, "failed"):
        core.table.set(run, r.status)
    else:
        core.table.set(run, "pending")
        core.table.ready_if_free(run)


def _continue(core: RunCore, run: StepRun, r: StepResume) -> None:
    """An attempt that was in flight: go on with it, or ask an operator first."""
    if r.status == "retry":
        core.begin_attempt(run)
        return
    core.table.set(run, "running")
    run.failed = {h: Finished(False, reason=a, message=b) for h, (a, b) in r.failed.items()}
    run.todo = deque(r.todo)
    run.modes = dict(r.modes)
    if r.decision == "ask" and r.uncertain:
        run.uncertain = list(r.uncertain)
        if not core.can_ask:
            core.fail(run, "interrupted: needs an operator decision", uncertain(run))
            return
        core.table.set(run, "ask")
        where = ", ".join(h or "the control machine" for h in run.uncertain)
        core.ask(run, "resume", f"`run` was in progress on {where} when the engine stopped")
        return
    core.pump_hosts(run)


def _ask_secrets_again(core: RunCore) -> None:
    """A secret `input` lived in the previous engine's memory only: a manual step whose
    secret answer an unfinished step still reads is asked again (docs/playbook.md)."""
    decider = core.decider
    if decider is None:
        return
    table = core.table
    for run in table:
        spec = run.step.input
        if run.status != "succeeded" or spec is None or not spec.secret:
            continue
        if (run.id, "") in decider.secrets:
            continue
        readers = [r for r in table if run.id in r.step.reads and r.status not in FINISHED]
        if readers:
            table.set(run, "pending")
            run.decided = False

"""Host jobs, and team mode's hosts split over the engines' reaches (docs/team-mode.md).

The step's claimant runs the hosts it reaches. Each host outside its reach is *offered*
as its turn comes (the current batch only, within the step's `parallel`): one
`host_offered` event, and the host stays `away` in the claimant's table. An engine that
reaches it claims it (its own claim row and fence: `work_claimed` with `host`), runs the
host's sequence as a *guest* job and journals its host events under that fence. The
claimant folds those results as if they were its own (hosts succeeded, failures,
batches, `max_fail`, `min_ok`, retries) and alone decides the step. No I/O here: events
go to the core's outbox.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from runbook.engine import _batches as batches
from runbook.engine._attempt import Finished, HostAttempt, Mode
from runbook.engine._jobs import Job
from runbook.engine._table import StepRun

if TYPE_CHECKING:
    from runbook.engine._core import RunCore
    from runbook.events import Event

MODES = frozenset({"normal", "after_run", "verify_only"})


def new_job(core: RunCore, run: StepRun, host: str | None, attempt: int, mode: Mode) -> Job:
    """One host's attempt at the step, placed among the step's active hosts."""
    s = run.step
    core.next_job += 1
    seq = HostAttempt(
        core.work.commands(run.id, host),
        started=core.now,
        timeout_s=s.timeout_s,
        every_s=s.every_s,
        mode=mode,
    )
    job = Job(
        core.next_job,
        run.id,
        host,
        attempt,
        seq,
        seq.commands,
        remote=host is not None,
        started=core.now,
    )
    run.active[host] = job
    return job


def offer(core: RunCore, run: StepRun, host: str | None) -> None:
    """The claimant cannot reach `host`: offer it to the engines that do."""
    mode = run.modes.pop(host, "normal")
    extra: dict[str, Any] = {"mode": mode} if mode != "normal" else {}
    core.out.emit("host_offered", step=run.id, host=host, attempt=run.attempt, **extra)
    run.away.add(host)


def away_done(core: RunCore, run: StepRun, e: Event) -> None:
    """Another engine journaled how an offered host ended: the claimant counts it."""
    host = e.host
    run.away.discard(host)
    if run.quota is not None and run.quota.over:
        return  # the step's verdict is in already: nothing more follows from it
    d = e.data
    if e.type == "host_succeeded":
        run.hosts_ok.add(host)
    else:
        code = d.get("exit_code")
        run.failed[host] = Finished(
            False,
            reason=str(d.get("reason") or "error"),
            exit_code=code if isinstance(code, int) else None,
            message=str(d.get("message") or "failed"),
        )
    if run.quota is not None and batches.after_host(core, run):
        return
    core.pump_hosts(run)


def run_guest(core: RunCore, run: StepRun, host: str, attempt: int, mode: str) -> None:
    """Run a host this engine claimed of another engine's step (the step stays
    `elsewhere` here: its claimant decides it; the host's events are journaled here)."""
    job = new_job(core, run, host, attempt, mode if mode in MODES else "normal")  # type: ignore[arg-type]
    core.advance(job, job.seq.begin(core.now))


def uncertain_host(core: RunCore, run: StepRun, host: str, attempt: int, gone: str) -> None:
    """A host taken over in `run` that is neither idempotent nor checkable: it fails as
    uncertain (the claimant does not retry it); an operator retries or skips the step."""
    core.out.emit(
        "host_failed",
        step=run.id,
        host=host,
        attempt=attempt,
        duration_s=0.0,
        reason="uncertain",
        exit_code=None,
        message=f"`run` was in progress when engine {gone} died: needs an operator decision",
    )

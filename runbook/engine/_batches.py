"""Hosts in batches (`serial`), a limit of failures (`max_fail`) and a quorum (`min_ok`).

The core calls three hooks: when an attempt begins (which hosts it runs: the current
batch), when a host ends (a limit crossed or a quorum reached or out of reach ends the
step at once), and when an attempt ends (the next batch, or the step's verdict). Hosts
that will not run are journaled: `host_not_started` (max_fail crossed) or
`host_cancelled` (min_ok reached or out of reach; a command in `run` is left to finish).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from runbook.engine._attempt import Finished, Next
from runbook.engine._table import StepRun
from runbook.model import Count, Step

if TYPE_CHECKING:
    from runbook.engine._core import RunCore

Hosts = list[str | None]


@dataclass
class Quota:
    """One step's batches still to run, its failures so far, and its limits."""

    batches: deque[Hosts]
    current: Hosts
    max_fail: int | None  # failed hosts allowed; more: no new host starts
    min_ok: int | None  # hosts that must succeed; then the others are stopped
    failed: set[str | None] = field(default_factory=set)  # final failures (retries spent)
    over: bool = False  # the step's verdict is in: nothing more starts


def applies(step: Step) -> bool:
    """The new fields cost nothing when unused: only these steps get a Quota."""
    return bool(step.serial) or step.max_fail is not None or step.min_ok is not None


def batches_of(hosts: Hosts, sizes: tuple[Count, ...]) -> deque[Hosts]:
    """Ansible's `serial`: each size in turn (N, or N% of all hosts, at least 1), the last
    one repeating until every host has a batch."""
    total = len(hosts)
    out: deque[Hosts] = deque()
    i = 0
    k = 0
    while i < total:
        size = sizes[min(k, len(sizes) - 1)].of(total) if sizes else total
        size = max(1, size)
        out.append(hosts[i : i + size])
        i += size
        k += 1
    return out


def begin(core: RunCore, run: StepRun, hosts: Hosts) -> Hosts:
    """The hosts this attempt runs: all of them, or the current batch's not done yet."""
    step = run.step
    q = run.quota
    if q is None:
        total = len(run.hosts)
        limit = step.max_fail if step.max_fail is not None else (Count(0) if step.serial else None)
        q = run.quota = Quota(
            batches=batches_of(hosts, step.serial) if step.serial else deque([hosts]),
            current=[],
            max_fail=limit.of(total) if limit is not None else None,
            min_ok=step.min_ok.of(total, round_up=True) if step.min_ok is not None else None,
        )
        q.current = q.batches.popleft() if q.batches else []
        return list(q.current)
    # a retry (of this batch), or after a resume: the current batch's hosts not done yet
    return [h for h in q.current if h in hosts] if q.current else hosts


def _retries_left(run: StepRun) -> bool:
    return run.failures < run.step.retries


def after_host(core: RunCore, run: StepRun) -> bool:
    """A host of the step ended; True when that ended the step (its event is emitted)."""
    q = run.quota
    if q is None or q.over:
        return q is not None and q.over
    if q.min_ok is not None:
        if len(run.hosts_ok) >= q.min_ok:
            _stop_others(core, run, f"min_ok reached: {len(run.hosts_ok)} host(s) succeeded")
            step_succeeded(core, run)
            return True
        if not _retries_left(run):
            failed = q.failed | set(run.failed)
            if len(run.hosts) - len(failed) < q.min_ok:
                _stop_others(
                    core,
                    run,
                    f"min_ok {q.min_ok} out of reach: {len(failed)} of {len(run.hosts)} "
                    "host(s) failed",
                )
                core.fail(run, _reason(run, q), _names(failed))
                return True
    if q.max_fail is not None and not _retries_left(run):
        failed = q.failed | set(run.failed)
        if len(failed) > q.max_fail:
            _not_started(core, run, q, failed)
    return False


def attempt_done(core: RunCore, run: StepRun) -> bool:
    """The attempt ended on every host it started; True when this decided what follows."""
    q = run.quota
    if q is None:
        return False
    if q.over:
        return True
    if run.failed and _retries_left(run):
        return False  # the core retries the batch's failed hosts
    q.failed |= set(run.failed)
    if q.min_ok is not None and len(run.hosts_ok) >= q.min_ok:
        step_succeeded(core, run)
        return True
    if q.max_fail is not None and len(q.failed) > q.max_fail:
        _not_started(core, run, q, q.failed)
    if q.batches and not q.over:
        q.current = q.batches.popleft()
        run.failures = 0  # each batch has the step's retries
        run.failed.clear()
        run.todo = deque(q.current)
        core.pump_hosts(run)
        return True
    if q.failed:
        q.over = True
        core.fail(run, _reason(run, q), _names(q.failed))
        return True
    q.over = True
    step_succeeded(core, run)
    return True


def after_command(run: StepRun, nxt: Next) -> Next:
    """A host whose `run` was left to finish after the quorum was decided stops there:
    it is journaled as it ended, and nothing more runs on it."""
    q = run.quota
    if q is None or not q.over or isinstance(nxt, Finished):
        return nxt
    return Finished(True, message="stopped after run, nothing more ran: min_ok was already decided")


def _not_started(core: RunCore, run: StepRun, q: Quota, failed: set[str | None]) -> None:
    """Past max_fail: the hosts not started yet never start."""
    reason = f"max_fail {q.max_fail} exceeded: {len(failed)} host(s) failed"
    waiting = [*run.todo, *(h for batch in q.batches for h in batch)]
    run.todo.clear()
    q.batches.clear()
    q.current = [h for h in q.current if h not in waiting]
    for host in waiting:
        core.out.emit("host_not_started", step=run.id, host=host, reason=reason)


def _stop_others(core: RunCore, run: StepRun, reason: str) -> None:
    """The quorum is decided: hosts not started, or in skip_if/until/verify, are cancelled
    (their process groups ended); a host in `run` finishes and is journaled."""
    q = run.quota
    assert q is not None
    q.over = True
    waiting = [*run.todo, *(h for batch in q.batches for h in batch)]
    run.todo.clear()
    q.batches.clear()
    for host in waiting:
        core.out.emit("host_cancelled", step=run.id, host=host, reason=reason, action=None)
    for host, job in list(run.active.items()):
        if job.action == "run" and job.in_flight:
            continue
        job.cancel.set()
        job.done = True
        del run.active[host]
        core.out.emit("host_cancelled", step=run.id, host=host, reason=reason, action=job.action)


def _names(hosts: set[str | None]) -> list[str]:
    return sorted(h for h in hosts if h is not None)


def _reason(run: StepRun, q: Quota) -> str:
    failed = _names(q.failed | set(run.failed))
    shown = ", ".join(failed[:3]) + (f" +{len(failed) - 3} more" if len(failed) > 3 else "")
    if q.min_ok is not None:
        return (
            f"min_ok {q.min_ok} of {len(run.hosts)} out of reach: {len(failed)} host(s) "
            f"failed ({shown})"
        )
    return f"{len(failed)} of {len(run.hosts)} hosts failed ({shown})"


def step_succeeded(core: RunCore, run: StepRun) -> None:
    """Journal the step's success, then let its dependents go on."""
    now = core.now
    core.out.emit(
        "step_succeeded",
        step=run.id,
        duration_s=round(now - (run.started or now), 3),
        attempts=run.attempt,
    )
    core.succeed(run)

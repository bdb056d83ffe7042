"""The one core call behind `run` and `rehearse`.

Check the request, open the journal, plan, commit `run_started`, take the engine lock,
run the engine, and turn its result into an exit code. Commands supply a `Ui` (how to
show the run id, a listener, a terminal asker); nothing here prints. The parts live
beside it: session_prepare (the request, checked and planned), session_transport (local
and SSH), session_engine (building the engine, signals), session_resume (`runbook
resume`).

A live run connects to its first hosts as soon as the request is found valid, and sets
itself up (journal, plan, forecaster: numpy) while they connect, so the engine and the
forecaster are imported here only when needed.
"""

from __future__ import annotations

import os
import random
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from runbook.app._session_engine import (
    RESULT_EXIT,
    Ui,
    build_engine,
    exit_code,
    make_forecaster,
    operator_of,
    settle_heap,
    stop_on_signals,
)
from runbook.app._session_prepare import (
    Checked,
    Prepared,
    RunRequest,
    check,
    initial_skips,
    plan_checked,
    prepare,
    run_options,
)
from runbook.app._session_transport import (
    host_key_hook,
    select_transports,
    ssh_transport,
    warm_first_hosts,
)
from runbook.clock import Clock, RealClock, VirtualClock
from runbook.engine import RenderedWork
from runbook.errors import InputError, Interrupted
from runbook.executors import Transport
from runbook.model import RunMode

if TYPE_CHECKING:
    from runbook.executors.ssh import SshTransport
    from runbook.journal import StateRef
    from runbook.model import Durations

__all__ = [
    "RESULT_EXIT",
    "Prepared",
    "RunRequest",
    "Ui",
    "execute",
    "initial_skips",
    "make_forecaster",
    "prepare",
    "select_transports",
]


def execute(
    state_path: StateRef,
    req: RunRequest,
    ui: Ui,
    *,
    mode: RunMode = "live",
    environ: Mapping[str, str] | None = None,
    lease_s: float | None = None,
) -> int:
    """`runbook run` (mode live) and `runbook rehearse` (mode rehearsal)."""
    env = os.environ if environ is None else environ
    checked = check(req, env)
    playbook = checked.resolved.playbook
    hosts = checked.resolved.inventory.hosts
    rehearsal = mode == "rehearsal"
    durations: Durations | None = None
    seed: int | None = None
    if rehearsal:
        from runbook.load import load_durations
        from runbook.model import Durations

        durations = Durations()
        if req.durations is not None:
            durations = load_durations(req.durations, playbook, checked.step_hosts)
        seed = req.seed if req.seed is not None else random.SystemRandom().randrange(2**31)
    # Rendering everything also teaches the Redactor what templates make of secrets,
    # before `run_started` is written.
    probe = RenderedWork(
        checked.steps,
        checked.step_hosts,
        hosts,
        checked.values,
        "00000000-0000-0000",
        mode,
        checked.redactor,
    )
    probe.check_all()
    if req.step_gate and ui.asker is None:
        raise InputError("--step asks before each step and needs a terminal")
    remote: SshTransport | None = None
    if not rehearsal:
        remote = ssh_transport(checked.shapes, hosts, req)
        # Everything is checked: the first hosts connect while the run sets itself up.
        warm_first_hosts(remote, checked.shapes, hosts, req, checked.skips)
    try:
        return _run(state_path, req, ui, mode, env, checked, remote, durations, seed, lease_s)
    finally:
        if remote is not None:
            remote.close()  # closed already when the engine ran; not if it never started


def _run(
    state_path: StateRef,
    req: RunRequest,
    ui: Ui,
    mode: RunMode,
    env: Mapping[str, str],
    checked: Checked,
    remote: SshTransport | None,
    durations: Durations | None,
    seed: int | None,
    lease_s: float | None = None,
) -> int:
    from runbook.app._history import history_in  # numpy: while the first hosts connect
    from runbook.app._join_check import copy_sources, playbook_sha256
    from runbook.app._team import attach_team
    from runbook.events import fold
    from runbook.executors import RehearsalTimes
    from runbook.journal import open_journal

    playbook = checked.resolved.playbook
    rehearsal = mode == "rehearsal"
    real = RealClock()
    # A rehearsal starts on a whole second: the journal keeps milliseconds, so a seed then
    # gives the same durations to the millisecond, run after run.
    clock: Clock = VirtualClock(float(int(real.now())), req.speed) if rehearsal else real
    journal = open_journal(state_path, lease_s=lease_s)
    started = None
    try:
        run_id = journal.new_run(playbook.id, mode, clock.now())
        operator = operator_of(req.operator, env)
        hook = host_key_hook(journal, run_id, clock)
        transports: tuple[Transport | None, Transport | None] = (None, None)
        if not rehearsal:
            transports = select_transports(
                checked.shapes,
                checked.resolved.inventory.hosts,
                req,
                hook,
                run_id,
                remote,
                engine=getattr(journal, "engine", None),
            )
        # The journaled plan's P50/P90 and the first ETA learn from the same earlier runs.
        prepared = plan_checked(checked, req, history_in(journal, playbook.id, exclude=run_id))
        ui.announce(run_id)
        with journal.engine_lock(run_id):
            start = journal.append(
                run_id,
                "run_started",
                ts=clock.now(),
                data=prepared.redactor.data(
                    {
                        "playbook": playbook.id,
                        "title": playbook.title,
                        "mode": mode,
                        "operator": operator,
                        "rto_s": playbook.rto_s,
                        "playbook_path": str(Path(req.playbook).resolve()),
                        "playbook_sha256": playbook_sha256(
                            playbook.files, copy_sources(prepared.steps)
                        ),
                        "inventory": [str(Path(p).resolve()) for p in req.inventories],
                        "options": run_options(req, seed, rehearsal),
                        "plan": prepared.plan.to_json(),
                    }
                ),
            )
            started = start
            state = fold([start])
            times = (
                RehearsalTimes(playbook, prepared.step_hosts, durations, seed or 0, req.forks)
                if durations is not None  # a rehearsal
                else None
            )
            engine = build_engine(
                journal, run_id, prepared, state, clock, mode, req, operator, transports, times, ui
            )
            attach_team(engine, journal, run_id, [start], prepared.redactor,
                        remote=transports[1], hosts=checked.resolved.inventory.hosts)  # fmt: skip
            if ui.listener is not None:
                ui.listener.event(start, state)
            engine.start_fresh()
            settle_heap()
            with stop_on_signals(engine):
                result = engine.run()
    except KeyboardInterrupt:  # Ctrl-C or TERM before the engine took the run over
        if started is None:  # nothing journaled
            raise
        raise Interrupted(
            f"run {run_id} interrupted before its first step; continue with: "
            f"runbook resume {run_id}"
        ) from None
    finally:
        ui.done()
        journal.close()
    return exit_code(result)

"""The one core call behind `run` and `rehearse` (and, re-exported, `resume`).

Resolve the playbook and inventory, plan, open the journal, commit `run_started`, take the
engine lock, run the engine, and turn its result into an exit code. Commands supply a
`Ui` (how to show the run id, a listener, a terminal asker); nothing here prints.
The parts live beside it: session_prepare (the request, resolved and planned),
session_transport (local and SSH), session_engine (building the engine, signals),
session_resume (`runbook resume`).
"""

from __future__ import annotations

import os
import random
from collections.abc import Mapping
from pathlib import Path

from runbook.clock import Clock, RealClock, VirtualClock
from runbook.errors import InputError
from runbook.executors.base import Transport
from runbook.journal import Journal
from runbook.model import RunMode
from runbook.rehearsal import Durations, RehearsalTimes, load_durations
from runbook.session_engine import (
    RESULT_EXIT,
    Ui,
    build_engine,
    exit_code,
    make_forecaster,
    operator_of,
    stop_on_signals,
)
from runbook.session_prepare import Prepared, RunRequest, initial_skips, prepare, run_options
from runbook.session_resume import resume
from runbook.session_transport import host_key_hook, select_transports
from runbook.state import fold
from runbook.work import RenderedWork

__all__ = [
    "RESULT_EXIT",
    "Prepared",
    "RunRequest",
    "Ui",
    "execute",
    "initial_skips",
    "make_forecaster",
    "prepare",
    "resume",
    "select_transports",
]


def execute(
    state_path: Path,
    req: RunRequest,
    ui: Ui,
    *,
    mode: RunMode = "live",
    environ: Mapping[str, str] | None = None,
) -> int:
    """`runbook run` (mode live) and `runbook rehearse` (mode rehearsal)."""
    env = os.environ if environ is None else environ
    prepared = prepare(req, env, state_path)
    playbook = prepared.resolved.playbook
    rehearsal = mode == "rehearsal"
    durations = Durations()
    seed: int | None = None
    if rehearsal:
        if req.durations is not None:
            durations = load_durations(req.durations, playbook, prepared.step_hosts)
        seed = req.seed if req.seed is not None else random.SystemRandom().randrange(2**31)
    probe = RenderedWork(
        prepared.steps,
        prepared.step_hosts,
        prepared.resolved.inventory.hosts,
        prepared.values,
        "00000000-0000-0000",
        mode,
    )
    probe.check_all()
    if req.step_gate and ui.asker is None:
        raise InputError("--step asks before each step and needs a terminal")
    real = RealClock()
    # A rehearsal starts on a whole second: the journal keeps milliseconds, so a seed then
    # gives the same durations to the millisecond, run after run.
    clock: Clock = VirtualClock(float(int(real.now())), req.speed) if rehearsal else real
    journal = Journal(state_path)
    try:
        run_id = journal.new_run(playbook.id, mode, clock.now())
        operator = operator_of(req.operator, env)
        hook = host_key_hook(journal, run_id, clock)
        transports: tuple[Transport | None, Transport | None] = (None, None)
        if not rehearsal:
            transports = select_transports(
                prepared.plan, prepared.resolved.inventory.hosts, req, hook, run_id
            )
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
                        "inventory": [str(Path(p).resolve()) for p in req.inventories],
                        "options": run_options(req, seed, rehearsal),
                        "plan": prepared.plan.to_json(),
                    }
                ),
            )
            state = fold([start])
            times = (
                RehearsalTimes(playbook, prepared.step_hosts, durations, seed or 0, req.forks)
                if rehearsal
                else None
            )
            engine = build_engine(
                journal, run_id, prepared, state, clock, mode, req, operator, transports, times, ui
            )
            if ui.listener is not None:
                ui.listener.event(start, state)
            engine.start_fresh()
            with stop_on_signals(engine):
                result = engine.run()
    finally:
        ui.done()
        journal.close()
    return exit_code(result)

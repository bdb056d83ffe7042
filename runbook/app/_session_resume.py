"""`runbook resume RUN_ID`: replay the journal, settle in-flight steps, go on.

The run is rebuilt from its journal alone: the options it started with, its plan (the
playbook file is read again, so a fixed command counts, but its steps may not change),
and, for a rehearsal, the same seed and durations on a virtual clock that starts where
the journal stopped. Commands the crashed engine left running are ended first.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

from runbook.app._join_check import Joined, copy_sources, playbook_sha256, rehearsal_of
from runbook.app._session_engine import (
    Ui,
    build_engine,
    exit_code,
    operator_of,
    settle_heap,
    stop_on_signals,
)
from runbook.app._session_prepare import Prepared, RunRequest, prepare
from runbook.app._session_transport import end_remote_orphans, host_key_hook, select_transports
from runbook.app._team import attach_team
from runbook.clock import Clock, RealClock, VirtualClock
from runbook.engine import RenderedWork, analyse
from runbook.errors import Interrupted, StateError
from runbook.events import RunState, fold
from runbook.executors import RehearsalTimes, Transport, kill_orphans
from runbook.journal import EventStore, StateRef, open_journal
from runbook.load import load_durations
from runbook.model import Durations, RunMode
from runbook.plan import Plan


def _request(started: Mapping[str, Any], ui: Ui, operator: str | None) -> RunRequest:
    """The request the run started with, from `run_started.data`."""
    opts = dict(started.get("options") or {})
    speed = opts.get("speed")
    return RunRequest(
        playbook=Path(str(started.get("playbook_path"))),
        inventories=tuple(Path(p) for p in started.get("inventory") or ()),
        limit=opts.get("limit"),
        concurrency=opts.get("concurrency"),
        forks=int(opts.get("forks") or 50),
        step_gate=bool(opts.get("step")) and ui.asker is not None,
        accept_new_host_keys=bool(opts.get("accept_new_host_keys")),
        operator=operator,
        durations=Path(opts["durations"]) if opts.get("durations") else None,
        speed=float(speed) if isinstance(speed, (int, float)) else None,
        seed=opts.get("seed"),
        interactive=bool(opts.get("interactive")),
    )


def resume(
    state_path: StateRef,
    run_text: str,
    ui: Ui,
    *,
    operator: str | None = None,
    environ: Mapping[str, str] | None = None,
    lease_s: float | None = None,
    journal: EventStore | None = None,
    hold: Callable[[], AbstractContextManager[None]] | None = None,
    where: Joined | None = None,
    joining: bool = False,
) -> int:
    """`runbook resume RUN_ID`: replay the journal, settle in-flight steps, go on.

    `join` comes here too: its `journal`, and `hold` for the lease it took (instead of
    taking the run's lock); `joining`: other engines work on the run (team mode), so
    this one journals no `run_resumed` and ends no commands: it claims ready steps.
    """
    env = os.environ if environ is None else environ
    own = journal is None  # join passes its own, and closes it after its engine_left
    journal = journal or open_journal(state_path, create=False, lease_s=lease_s)
    run_id: str | None = None
    try:
        run_id = journal.resolve_run_id(run_text)
        events = journal.events(run_id)
        if not events or events[0].type != "run_started":
            raise StateError(f"run {run_id} has no run_started event; it cannot be resumed")
        state = fold(events)
        if state.status == "succeeded":
            raise StateError(f"run {run_id} already succeeded; there is nothing to resume")
        mode: RunMode = "rehearsal" if state.mode == "rehearsal" else "live"
        req = _request(events[0].data, ui, operator)
        if where is not None:  # join: this machine's paths, the same playbook content
            req = where.request(req)
        prepared = prepare(req, env)
        sha = None
        if not rehearsal_of(events):
            sha = playbook_sha256(prepared.resolved.playbook.files, copy_sources(prepared.steps))
        if where is not None:
            where.check(run_id, events, sha)
        _same_steps(run_id, state.plan, prepared.plan)
        plan = Plan.from_json(state.plan)
        _hosts_still_there(run_id, state, plan, prepared.resolved.inventory.hosts)
        prepared = Prepared(
            prepared.resolved,
            plan,
            prepared.steps,
            prepared.step_hosts,
            prepared.values,
            prepared.redactor,
            {},
        )
        rehearsal = mode == "rehearsal"
        times = None
        clock: Clock = RealClock()
        if rehearsal:
            durations = Durations()
            if req.durations is not None:
                durations = load_durations(
                    req.durations, prepared.resolved.playbook, prepared.step_hosts
                )
            times = RehearsalTimes(
                prepared.resolved.playbook,
                prepared.step_hosts,
                durations,
                int(req.seed or 0),
                req.forks,
            )
            clock = VirtualClock(state.last_ts or RealClock().now(), req.speed)
        who = operator_of(operator, env)
        hook = host_key_hook(journal, run_id, clock)
        transports: tuple[Transport | None, Transport | None] = (None, None)
        if not rehearsal:
            transports = select_transports(
                plan.steps,
                prepared.resolved.inventory.hosts,
                req,
                hook,
                run_id,
                engine=getattr(journal, "engine", None),
            )
        ui.announce(run_id)
        with hold() if hold is not None else journal.engine_lock(run_id):
            # Holding the run, any command still marked with its id belongs to a dead
            # engine: end it before deciding what was in flight.
            orphans: list[dict[str, Any]] = []
            if not rehearsal and not joining:
                # Their command lines may hold what a filter made of a secret: learn it.
                RenderedWork(
                    prepared.steps,
                    prepared.step_hosts,
                    prepared.resolved.inventory.hosts,
                    prepared.values,
                    run_id,
                    mode,
                    prepared.redactor,
                ).learn_secrets()
                orphans = kill_orphans(run_id, prepared.redactor.text)
                orphans += end_remote_orphans(
                    transports[1],
                    journal.events(run_id),
                    prepared.resolved.inventory.hosts,
                    prepared.redactor.text,
                )
            events = journal.events(run_id)  # as of now that we hold the run
            state = fold(events)
            engine = build_engine(
                journal,
                run_id,
                prepared,
                state,
                clock,
                mode,
                req,
                who,
                transports,
                times,
                ui,
                skips={},
            )
            joined = where or Joined()
            reach = joined.reach(prepared.resolved.inventory)
            attach_team(
                engine,
                journal,
                run_id,
                events,
                prepared.redactor,
                no_local=joined.no_local,
                reach=reach,
                remote=transports[1],
                hosts=prepared.resolved.inventory.hosts,
            )
            if joining:
                engine.start_joined(analyse(state, events, prepared.steps))
            else:
                noted: dict[str, Any] = {"orphans_killed": orphans} if orphans else {}
                if sha is not None:
                    noted["playbook_sha256"] = sha
                engine.start_resumed(analyse(state, events, prepared.steps), noted)
            settle_heap()
            with stop_on_signals(engine):
                result = engine.run()
    except KeyboardInterrupt:  # Ctrl-C or TERM before the engine took the run over
        if run_id is None:
            raise
        raise Interrupted(
            f"run {run_id} interrupted before it went on; continue with: runbook resume {run_id}"
        ) from None
    finally:
        ui.done()
        if own:
            journal.close()
    return exit_code(result)


def _same_steps(run_id: str, journaled: Mapping[str, Any], now: Plan) -> None:
    """The playbook may change between attempts (a fixed command), but not its steps."""
    before = [str(s.get("id")) for s in journaled.get("steps") or []]
    after = [s.id for s in now.steps]
    if sorted(before) == sorted(after):
        return
    gone = sorted(set(before) - set(after))
    added = sorted(set(after) - set(before))
    parts = []
    if gone:
        parts.append("removed " + ", ".join(gone))
    if added:
        parts.append("added " + ", ".join(added))
    raise StateError(
        f"the playbook's steps changed since run {run_id} started ({'; '.join(parts)}); "
        f"restore them to resume, or start a new run"
    )


def _hosts_still_there(
    run_id: str, state: RunState, plan: Plan, inventory: Mapping[str, object]
) -> None:
    """A step yet to start runs on the hosts the run planned: each must still be in the
    inventory (a command cannot be rendered, let alone run, for a host it no longer has).
    Such a step can be skipped; one in flight or failed is settled as before."""
    gone = [
        f"{p.id}: {', '.join(missing)}"
        for p in plan.steps
        if p.kind == "remote"
        and state.steps[p.id].status in ("pending", "blocked")
        and (missing := [h for h in p.hosts if h not in inventory])
    ]
    if gone:
        raise StateError(
            f"hosts of run {run_id} are no longer in the inventory ({'; '.join(gone)}); "
            f"put them back to resume, or skip those steps: runbook skip {run_id} STEP --note TEXT"
        )

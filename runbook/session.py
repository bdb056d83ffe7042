"""The one core call behind `run`, `rehearse` and `resume`.

Resolve the playbook and inventory, plan, open the journal, commit `run_started`, take the
engine lock, run the engine, and turn its result into an exit code. Commands supply a
`Ui` (how to show the run id, a listener, a terminal asker); nothing here prints.
"""

from __future__ import annotations

import difflib
import os
import random
import signal
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from runbook.clock import Clock, RealClock, VirtualClock
from runbook.dispatch import Dispatcher, TimerHeap
from runbook.engine import Engine
from runbook.engine_io import Asker, EngineOptions, Listener
from runbook.errors import (
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    EXIT_OK,
    InputError,
    Issue,
    StateError,
)
from runbook.estimate_simple import Forecaster, SimpleForecaster
from runbook.executors.base import Transport
from runbook.executors.local import LocalTransport
from runbook.executors.simulated import SimulatedWork
from runbook.history import forecaster_for
from runbook.journal import Journal
from runbook.model import RunMode, Step
from runbook.plan import Plan, build_plan
from runbook.recovery import analyse
from runbook.rehearsal import Durations, RehearsalTimes, load_durations
from runbook.secrets import Redactor
from runbook.state import fold
from runbook.work import RenderedWork

RESULT_EXIT = {"succeeded": EXIT_OK, "failed": EXIT_FAILED, "aborted": EXIT_FAILED}


@dataclass(frozen=True)
class RunRequest:
    """What `run` / `rehearse` were asked to do."""

    playbook: Path
    inventories: tuple[Path, ...] = ()
    limit: str | None = None
    only: tuple[str, ...] = ()
    from_step: str | None = None
    concurrency: int | None = None
    forks: int = 50
    step_gate: bool = False
    accept_new_host_keys: bool = False
    operator: str | None = None
    durations: Path | None = None  # rehearsal only
    speed: float | None = None  # rehearsal only; None: max
    seed: int | None = None
    interactive: bool = False


@dataclass
class Ui:
    """How a command shows a run: all optional, so tests can run the core bare."""

    announce: Callable[[str], None] = lambda run_id: None  # the run id, before anything runs
    listener: Listener | None = None
    asker: Callable[[Engine], Asker] | None = None  # a terminal that can answer questions
    done: Callable[[], None] = lambda: None  # the engine stopped (close the live view)
    extra: dict[str, Any] = field(default_factory=dict)


def make_forecaster(plan: Mapping[str, Any]) -> Forecaster:
    """The one place the forecaster is chosen (the Monte Carlo one replaces this)."""
    return SimpleForecaster(plan)


def select_transports(
    plan: Plan, hosts: Mapping[str, Any], req: RunRequest, on_host_key: Callable[..., None]
) -> tuple[Transport, Transport | None]:
    """The local transport, and SSH when a remote step will run (the one place SSH is chosen)."""
    local = LocalTransport()
    remote_steps = [s.id for s in plan.steps if s.kind == "remote" and s.hosts]
    if not remote_steps:
        return local, None
    try:
        from runbook.executors.ssh import SshTransport
    except ImportError:
        shown = ", ".join(remote_steps[:10]) + (" ..." if len(remote_steps) > 10 else "")
        raise InputError(
            [
                Issue(
                    None,
                    f"steps {shown} run over SSH, which this installation cannot do",
                    "rehearse the playbook instead, or install runbook with paramiko",
                )
            ]
        ) from None
    remote = SshTransport(
        hosts,
        inventory_sources=req.inventories or (Path("inventory"),),  # known_hosts beside it
        accept_new_host_keys=req.accept_new_host_keys,
        on_host_key_accepted=on_host_key,
    )
    return local, remote


@dataclass(frozen=True)
class Prepared:
    """A resolved playbook ready to run."""

    resolved: Any
    plan: Plan
    steps: Mapping[str, Step]
    step_hosts: Mapping[str, tuple[str, ...]]
    values: Mapping[str, Any]
    redactor: Redactor
    skips: Mapping[str, str]


def _did_you_mean(name: str, ids: Sequence[str]) -> str:
    close = difflib.get_close_matches(name, list(ids), n=1)
    return f"did you mean '{close[0]}'?" if close else "see: runbook plan PLAYBOOK"


def _ancestors(plan: Plan, sid: str) -> set[str]:
    needs = {s.id: s.needs for s in plan.steps}
    seen: set[str] = set()
    todo = list(needs.get(sid, ()))
    while todo:
        n = todo.pop()
        if n not in seen:
            seen.add(n)
            todo.extend(needs.get(n, ()))
    return seen


def initial_skips(plan: Plan, only: Sequence[str], from_step: str | None) -> dict[str, str]:
    """Steps a new run journals as skipped: --only, --from, and --limit leaving no host.

    `--from STEP` skips what STEP depends on, transitively (taken as done already); STEP,
    everything after it and every independent branch run.
    """
    ids = [s.id for s in plan.steps]
    issues = [
        Issue(None, f"--only/--from: no step '{n}' in the playbook", _did_you_mean(n, ids))
        for n in [*only, *([from_step] if from_step else [])]
        if n not in ids
    ]
    if issues:
        raise InputError(issues)
    skips: dict[str, str] = {}
    if from_step:
        for sid in _ancestors(plan, from_step):
            skips[sid] = "from"
    if only:
        for sid in ids:
            if sid not in only:
                skips.setdefault(sid, "only")
    for s in plan.steps:
        if s.kind == "remote" and not s.hosts:
            skips.setdefault(s.id, "limit")
    return skips


def prepare(req: RunRequest, environ: Mapping[str, str]) -> Prepared:
    """Load, resolve and plan; every problem is an InputError before anything runs."""
    from runbook.load.resolve import resolve
    from runbook.variables import resolve_vars

    if req.forks < 1:
        raise InputError("--forks must be at least 1")
    resolved = resolve(req.playbook, list(req.inventories), limit=req.limit)
    plan = build_plan(resolved, concurrency=req.concurrency)
    playbook = resolved.playbook
    step_hosts = {k: tuple(v) for k, v in resolved.step_hosts.items()}
    variables = resolve_vars(playbook, environ)
    skips = initial_skips(plan, req.only, req.from_step)
    steps = {s.id: s for s in playbook.steps}
    return Prepared(
        resolved, plan, steps, step_hosts, variables.values, Redactor(variables.secrets), skips
    )


def _options(req: RunRequest, seed: int | None, rehearsal: bool) -> dict[str, Any]:
    return {
        "concurrency": req.concurrency,
        "forks": req.forks,
        "limit": req.limit,
        "only": list(req.only),
        "from": req.from_step,
        "step": req.step_gate,
        "accept_new_host_keys": req.accept_new_host_keys,
        "speed": ("max" if req.speed is None else req.speed) if rehearsal else None,
        "seed": seed,
        "durations": str(req.durations.resolve()) if req.durations else None,
        "interactive": req.interactive,
    }


@contextmanager
def _signals(engine: Engine) -> Iterator[None]:
    """SIGINT/SIGTERM ask the engine to stop cleanly (journal it, kill, exit 130)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {}
    for sig in (signal.SIGINT, signal.SIGTERM):
        name = signal.Signals(sig).name
        previous[sig] = signal.signal(sig, lambda *_a, n=name: engine.request_stop(n))
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


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
    prepared = prepare(req, env)
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
        operator = _operator(req.operator, env)
        hook = _host_key_hook(journal, run_id, clock)
        if rehearsal:
            local: Transport | None
            remote: Transport | None
            local = remote = None
        else:
            local, remote = select_transports(
                prepared.plan, prepared.resolved.inventory.hosts, req, hook
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
                        "options": _options(req, seed, rehearsal),
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
            engine = _engine(
                journal,
                run_id,
                prepared,
                state,
                clock,
                mode,
                req,
                operator,
                local,
                remote,
                times,
                ui,
            )
            if ui.listener is not None:
                ui.listener.event(start, state)
            engine.start_fresh()
            with _signals(engine):
                result = engine.run()
    finally:
        ui.done()
        journal.close()
    return RESULT_EXIT.get(result, EXIT_INTERRUPTED)


def _operator(explicit: str | None, env: Mapping[str, str]) -> str:
    from runbook.operate import operator_name

    return operator_name(explicit, env)


def _host_key_hook(journal: Journal, run_id: str, clock: Clock) -> Callable[[str, str, str], None]:
    def record(host: str, key_type: str, fingerprint: str) -> None:
        journal.append(
            run_id,
            "host_key_accepted",
            ts=clock.now(),
            host=host,
            data={"key_type": key_type, "fingerprint": fingerprint},
        )

    return record


def _engine(
    journal: Journal,
    run_id: str,
    prepared: Prepared,
    state: Any,
    clock: Clock,
    mode: RunMode,
    req: RunRequest,
    operator: str,
    local: Transport | None,
    remote: Transport | None,
    times: RehearsalTimes | None,
    ui: Ui,
    skips: Mapping[str, str] | None = None,
) -> Engine:
    hosts = prepared.resolved.inventory.hosts
    work = RenderedWork(prepared.steps, prepared.step_hosts, hosts, prepared.values, run_id, mode)
    dispatcher = Dispatcher(
        clock=clock,
        timers=TimerHeap(),
        local=local,
        remote=remote,
        simulated=SimulatedWork(times) if times is not None else None,
        hosts=hosts,
        forks=req.forks,
    )
    options = EngineOptions(
        operator=operator,
        concurrency=req.concurrency,
        forks=req.forks,
        step_gate=req.step_gate,
        auto_answer=times is not None and not req.interactive,
        speed=req.speed,
        initial_skips=prepared.skips if skips is None else skips,
    )
    engine = Engine(
        journal=journal,
        run_id=run_id,
        plan=prepared.plan,
        steps=prepared.steps,
        state=state,
        work=work,
        clock=clock,
        dispatcher=dispatcher,
        forecaster=forecaster_for(journal, prepared.plan.to_json(), run_id=run_id, mode=mode),
        redactor=prepared.redactor,
        options=options,
        listener=ui.listener,
        manual_duration=times.step if times is not None else None,
    )
    if ui.asker is not None:
        engine.asker = ui.asker(engine)
    return engine


def resume(
    state_path: Path,
    run_text: str,
    ui: Ui,
    *,
    operator: str | None = None,
    environ: Mapping[str, str] | None = None,
) -> int:
    """`runbook resume RUN_ID`: replay the journal, settle in-flight steps, go on."""
    env = os.environ if environ is None else environ
    journal = Journal(state_path, create=False)
    try:
        run_id = journal.resolve_run_id(run_text)
        events = journal.events(run_id)
        if not events or events[0].type != "run_started":
            raise StateError(f"run {run_id} has no run_started event; it cannot be resumed")
        state = fold(events)
        if state.status == "succeeded":
            raise StateError(f"run {run_id} already succeeded; there is nothing to resume")
        started = events[0].data
        opts = dict(started.get("options") or {})
        mode: RunMode = state.mode if state.mode in ("live", "rehearsal") else "live"  # type: ignore[assignment]
        speed = opts.get("speed")
        req = RunRequest(
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
        prepared = prepare(req, env)
        _same_steps(run_id, state.plan, prepared.plan)
        plan = Plan.from_json(state.plan)
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
        who = _operator(operator, env)
        hook = _host_key_hook(journal, run_id, clock)
        local: Transport | None = None
        remote: Transport | None = None
        if not rehearsal:
            local, remote = select_transports(plan, prepared.resolved.inventory.hosts, req, hook)
        ui.announce(run_id)
        with journal.engine_lock(run_id):
            events = journal.events(run_id)  # as of now that we hold the run
            state = fold(events)
            engine = _engine(
                journal,
                run_id,
                prepared,
                state,
                clock,
                mode,
                req,
                who,
                local,
                remote,
                times,
                ui,
                skips={},
            )
            engine.start_resumed(analyse(state, events, prepared.steps))
            with _signals(engine):
                result = engine.run()
    finally:
        ui.done()
        journal.close()
    return RESULT_EXIT.get(result, EXIT_INTERRUPTED)


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

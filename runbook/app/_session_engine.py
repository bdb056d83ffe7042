"""Building an engine for a run, and what a command supplies to show it (`Ui`).

Shared by `execute` (run, rehearse) and `resume`: the dispatcher, the options, the
forecaster with this playbook's history, the terminal asker, and signal handling.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from runbook.app._session_prepare import Prepared, RunRequest
from runbook.app._signals import on_stop_signals, restore
from runbook.clock import Clock
from runbook.engine import RenderedWork
from runbook.errors import EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK
from runbook.executors import Transport
from runbook.model import RunMode

if TYPE_CHECKING:  # the engine is imported when one is built (see session.py)
    from runbook.engine import Asker, Decider, Engine, Listener
    from runbook.events import RunState
    from runbook.executors import RehearsalTimes
    from runbook.forecast import Forecaster
    from runbook.journal import EventStore

RESULT_EXIT = {"succeeded": EXIT_OK, "failed": EXIT_FAILED, "aborted": EXIT_FAILED}


def exit_code(result: str) -> int:
    """The exit code of an engine result word (anything else: interrupted, 130)."""
    return RESULT_EXIT.get(result, EXIT_INTERRUPTED)


@dataclass
class Ui:
    """How a command shows a run: all optional, so tests can run the core bare."""

    announce: Callable[[str], None] = lambda run_id: None  # the run id, before anything runs
    listener: Listener | None = None
    asker: Callable[[Engine], Asker] | None = None  # a terminal that can answer questions
    done: Callable[[], None] = lambda: None  # the engine stopped (close the live view)
    extra: dict[str, Any] = field(default_factory=dict)


def make_forecaster(plan: Mapping[str, Any]) -> Forecaster:
    """The deterministic fallback forecaster (runs use the Monte Carlo one with history)."""
    from runbook.forecast import SimpleForecaster

    return SimpleForecaster(plan)


def operator_of(explicit: str | None, env: Mapping[str, str]) -> str:
    """Who runs this: --operator, else $RUNBOOK_OPERATOR, else the login."""
    from runbook.journal import operator_name

    return operator_name(explicit, env)


def settle_heap() -> None:
    """Exempt what start-up built from garbage collection, for the rest of the process.

    The modules, the plan, the inventory and the templates live until exit. Frozen, the
    collector no longer walks them in each full collection during the run, nor while the
    interpreter finalises at exit (0.1-0.2 s of a `runbook run`, measured on bench/fanout).
    """
    gc.freeze()


@contextmanager
def stop_on_signals(engine: Engine) -> Iterator[None]:
    """SIGINT, SIGTERM and SIGHUP ask the engine to stop cleanly (journal it, kill, exit
    130); a SIGHUP lets go of the terminal first (runbook/app/_signals.py)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = on_stop_signals(engine.request_stop)
    try:
        yield
    finally:
        restore(previous)


def build_engine(
    journal: EventStore,
    run_id: str,
    prepared: Prepared,
    state: RunState,
    clock: Clock,
    mode: RunMode,
    req: RunRequest,
    operator: str,
    transports: tuple[Transport | None, Transport | None],
    times: RehearsalTimes | None,
    ui: Ui,
    skips: Mapping[str, str] | None = None,
) -> Engine:
    """An engine for `run_id`: live transports, or rehearsal `times` on a virtual clock."""
    from runbook.app._history import forecaster_for
    from runbook.engine import Dispatcher, Engine, EngineOptions, TimerHeap
    from runbook.executors import SimulatedWork

    hosts = prepared.resolved.inventory.hosts
    work = RenderedWork(
        prepared.steps, prepared.step_hosts, hosts, prepared.values, run_id, mode, prepared.redactor
    )
    decider = make_decider(prepared, state, run_id, mode, req)
    work.decider = decider
    local, remote = transports
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
        decider=decider,
    )
    if ui.asker is not None:
        engine.asker = ui.asker(engine)
    return engine


def make_decider(
    prepared: Prepared, state: RunState, run_id: str, mode: RunMode, req: RunRequest
) -> Decider | None:
    """The run-time decisions, for a playbook with steps that decide or are read."""
    from runbook.engine import Decider
    from runbook.load import select_hosts

    steps = prepared.steps
    if not any(s.decides or s.output is not None for s in steps.values()):
        return None
    inventory = prepared.resolved.inventory
    allowed = None
    if req.limit is not None and inventory.hosts:
        allowed = frozenset(select_hosts(inventory, req.limit))
    return Decider(steps, state, inventory, allowed, prepared.values, run_id, mode, req.seed)

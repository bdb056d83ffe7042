"""Earlier runs of a playbook, read from the journal, as the forecaster's history.

The only I/O part of the forecaster: it reads each earlier run's events and keeps, per
step, the work time of steps that succeeded (a manual step's work, not its wait) and the
manual steps' waits for an operator. Dry runs measure nothing and are left out;
unfinished runs still count for the steps they finished. Runs of the journal's other
playbooks are the reference class (runbook/forecast/_reference.py): each is summarised as
its plan against what it took, the prior of a playbook without runs of its own.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from runbook.events import RunState
from runbook.forecast import (
    DONE,
    History,
    MonteCarloForecaster,
    PastRun,
    ReferenceRun,
    observe_events,
    plan_json,
    reference_run,
)
from runbook.journal import EventStore, StateRef, open_journal, state_exists

MAX_RUNS = 20  # the most recent runs are the most like tonight; older ones add little
MAX_REFERENCE_RUNS = 20  # of the other playbooks, the most recent


def past_run(run_id: str, mode: str, events: Iterable[object]) -> PastRun:
    """The work times of the steps a run finished."""
    obs = observe_events(events)
    durations = {
        s: float(o.work_s)
        for s, o in obs.steps.items()
        if o.category == DONE and o.work_s is not None and o.work_s > 0
    }
    waits = tuple(float(o.wait_s) for o in obs.steps.values() if o.wait_s is not None)
    return PastRun(run_id, mode, durations, waits)


def _reference(journal: EventStore, playbook: str, exclude: str | None) -> tuple[ReferenceRun, ...]:
    """The latest runs of the journal's other playbooks, as the reference class."""
    others = [
        r
        for r in journal.runs()
        if r.playbook != playbook and r.run_id != exclude and r.mode != "dry-run"
    ]
    out: list[ReferenceRun] = []
    for r in others[-MAX_REFERENCE_RUNS:]:
        events = journal.events(r.run_id)
        state = RunState()
        for e in events:
            state.apply(e)
        if not state.plan:
            continue
        run = past_run(r.run_id, r.mode, events)
        ref = reference_run(r.run_id, r.mode, state.plan, run.durations, run.waits)
        if ref is not None:
            out.append(ref)
    return tuple(out)


def load_history(journal: EventStore, playbook: str, exclude: str | None = None) -> History:
    """History of `playbook` in `journal`, oldest first, without the run `exclude`."""
    runs: list[PastRun] = []
    candidates = [r for r in journal.runs() if r.playbook == playbook and r.run_id != exclude]
    for r in candidates[-MAX_RUNS:]:
        if r.mode == "dry-run":
            continue
        run = past_run(r.run_id, r.mode, journal.events(r.run_id))
        if run.durations:
            runs.append(run)
    return History(tuple(runs), _reference(journal, playbook, exclude))


def history_in(journal: EventStore, playbook: str, exclude: str | None = None) -> History | None:
    """Earlier runs of `playbook` in an open journal; None when there is none yet."""
    history = load_history(journal, playbook, exclude)
    return history if history.runs or history.reference else None


def history_at(state: StateRef, playbook: str) -> History | None:
    """Earlier runs of `playbook` in the state file at `state`; None when there is none yet.

    Read-only: planning never creates a state file.
    """
    if not state_exists(state):
        return None
    with open_journal(state, create=False) as journal:
        return history_in(journal, playbook)


def forecaster_for(
    journal: EventStore,
    plan: Any,
    *,
    run_id: str | None,
    mode: str,
    concurrency: int | None = None,
) -> MonteCarloForecaster:
    """The Monte Carlo forecaster for a run, with this playbook's earlier runs as history."""
    data = plan_json(plan)
    history = load_history(journal, str(data.get("playbook", "")), exclude=run_id)
    return MonteCarloForecaster(data, history, mode=mode, concurrency=concurrency)

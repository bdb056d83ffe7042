"""Earlier runs of a playbook, read from the journal, as the forecaster's history.

The only I/O part of the forecaster: it reads each earlier run's events and keeps, per
step, the work time of steps that succeeded (a manual step's work, not its wait).
Dry runs measure nothing and are left out; unfinished runs still count for the steps they
finished.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from runbook.forecast import DONE, History, MonteCarloForecaster, PastRun, observe_events, plan_json
from runbook.journal import EventStore, StateRef, open_journal, state_exists

MAX_RUNS = 20  # the most recent runs are the most like tonight; older ones add little


def past_run(run_id: str, mode: str, events: Iterable[object]) -> PastRun:
    """The work times of the steps a run finished."""
    obs = observe_events(events)
    durations = {
        s: float(o.work_s)
        for s, o in obs.steps.items()
        if o.category == DONE and o.work_s is not None and o.work_s > 0
    }
    return PastRun(run_id, mode, durations)


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
    return History(tuple(runs))


def history_in(journal: EventStore, playbook: str, exclude: str | None = None) -> History | None:
    """Earlier runs of `playbook` in an open journal; None when there is none yet."""
    history = load_history(journal, playbook, exclude)
    return history if history.runs else None


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

"""Writing the run's `eta`: forecast from the committed state, within the budget
(_eta.py decides when), by one engine at a time in team mode (the live one with the
lowest id: runbook/engine/_claims.py)."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from runbook.clock import iso
from runbook.events import Event
from runbook.forecast import eta_data

if TYPE_CHECKING:
    from runbook.engine._engine import Engine

RTO_WARNING_RISK = 0.5  # P(miss RTO) past which the `eta` carries `rto_warning`
ETA_TRIGGERS = frozenset(
    {
        "run_resumed",
        "step_started",
        "step_retrying",
        "step_succeeded",
        "step_failed",
        "step_skipped",
        "step_blocked",
        "manual_waiting",
        "manual_claimed",
        "manual_answered",
        "operator_retry",
        "operator_expect",
    }
)


def eta_marks(engine: Engine, event: Event) -> None:
    """Due ETAs as a step of ours starts (its estimate's marks) or an operator expects it."""
    st = engine.state.steps.get(event.step or "")
    if st is None:
        return
    if event.type == "step_started":
        e = engine.core.table[st.id].plan.estimate
        at = st.attempt_started or engine.clock.now()
        engine.eta.step_started(st.id, st.attempts, at, (e.likely_s, e.max_s))
    elif event.type == "operator_expect" and st.expect is not None:
        engine.eta.expected(st.id, st.attempts, st.expect.at + st.expect.remaining_s)


def write_eta(engine: Engine, force: bool = False) -> None:
    """Forecast from the committed state and journal it, within the forecasting budget."""
    if engine.team is not None and not engine.team.writes_eta:
        engine.eta.written(engine.clock.now(), 0.0)  # another engine forecasts the run
        return
    if not (force or engine.eta.affordable()):
        return  # stays due: the next turn with budget writes it
    t = time.monotonic()
    now = engine.clock.now()
    forecast = engine.forecaster.forecast(engine.state, now)
    data = eta_data(forecast, iso)
    risk = forecast.rto_risk
    if risk is not None and risk > RTO_WARNING_RISK and engine.state.rto_warning_at is None:
        # Once per run (resumes included): the moment to tell people the RTO will
        # likely be missed; `status` and the reports keep showing it from then on.
        data["rto_warning"] = True
    engine.commits.emit("eta", None, None, data)
    engine.commits.commit_or_group(results_coming(engine))  # it starts nothing
    engine.eta.written(now, time.monotonic() - t)


def results_coming(engine: Engine) -> bool:
    """Whether commands are still running whose results a batch that only tells may wait
    for (_commit.py); never in team mode or with decisions, which read the journal."""
    solo = engine.team is None and engine.core.decider is None
    return solo and engine.dispatcher.threads_in_flight > 0

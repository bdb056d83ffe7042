"""The ETA: duration models, what past runs and this run teach them, Monte Carlo. Pure
(numpy), no I/O."""

from __future__ import annotations

from typing import TYPE_CHECKING

from runbook.exports import lazy_exports

if TYPE_CHECKING:
    from runbook.forecast._model import (
        History as History,
        PastRun as PastRun,
    )
    from runbook.forecast._montecarlo import (
        MonteCarloForecaster as MonteCarloForecaster,
        plan_json as plan_json,
        planned as planned,
    )
    from runbook.forecast._observe import (
        DONE as DONE,
        observe_events as observe_events,
    )
    from runbook.forecast._reference import (
        ReferenceRun as ReferenceRun,
        reference_run as reference_run,
    )
    from runbook.forecast._simple import (
        Forecaster as Forecaster,
        SimpleForecaster as SimpleForecaster,
        eta_data as eta_data,
    )
else:  # at run time each name is imported on first use: see runbook/exports.py
    __getattr__, __all__ = lazy_exports(
        __name__,
        {
            "_model": ("History", "PastRun"),
            "_montecarlo": ("MonteCarloForecaster", "plan_json", "planned"),
            "_observe": ("DONE", "observe_events"),
            "_reference": ("ReferenceRun", "reference_run"),
            "_simple": ("Forecaster", "SimpleForecaster", "eta_data"),
        },
    )

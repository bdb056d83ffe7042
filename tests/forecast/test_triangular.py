"""The simple forecaster's pieces: quantiles of a three-point estimate, and the `eta` event."""

from __future__ import annotations

import math

import pytest

from runbook.clock import iso
from runbook.forecast._simple import Forecast, eta_data, triangular_quantile


def test_quantiles_of_a_three_point_estimate() -> None:
    assert triangular_quantile(5, 10, 40, 0.0) == 5
    assert triangular_quantile(5, 10, 40, 1.0) == 40
    assert triangular_quantile(0, 50, 100, 0.5) == 50  # symmetric: the median is the mode
    # P90 of {min 5m, likely 10m, max 40m}: 40 - sqrt(0.1 · 35 · 30) minutes
    assert math.isclose(
        triangular_quantile(300, 600, 2400, 0.9), 2400 - math.sqrt(0.1 * 2100 * 1800)
    )
    assert triangular_quantile(60, 60, 60, 0.9) == 60  # a single duration


@pytest.mark.parametrize("q", [0.05, 0.25, 0.5, 0.75, 0.95])
def test_the_quantile_is_where_the_cdf_says(q: float) -> None:
    lo, mode, hi = 300.0, 600.0, 2400.0
    x = triangular_quantile(lo, mode, hi, q)
    if x <= mode:
        cdf = (x - lo) ** 2 / ((hi - lo) * (mode - lo))
    else:
        cdf = 1 - (hi - x) ** 2 / ((hi - lo) * (hi - mode))
    assert math.isclose(cdf, q, abs_tol=1e-12)


def test_the_eta_event_data() -> None:
    f = Forecast(
        1_795_003_600.0, 1_795_007_200.25, 3600.0004, 7200.2496, ("a", "b"), 0.12, "simple"
    )
    assert eta_data(f, iso) == {
        "p50": iso(1_795_003_600.0),
        "p90": iso(1_795_007_200.25),
        "remaining_p50_s": 3600.0,
        "remaining_p90_s": 7200.25,
        "critical_path": ["a", "b"],
        "rto_risk": 0.12,
        "method": "simple",
    }

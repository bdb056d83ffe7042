"""The standard normal without scipy: known values, symmetry, and tails far out."""

from __future__ import annotations

import math

import numpy as np

from runbook.forecast._normal import cdf, log_survival, ppf, survival, upper_ppf


def test_known_values() -> None:
    # The erfc approximation is good to ~1e-7, far finer than any forecast needs.
    assert math.isclose(float(cdf(0.0)), 0.5, abs_tol=1e-7)
    assert math.isclose(float(cdf(1.959964)), 0.975, abs_tol=1e-6)
    assert math.isclose(float(cdf(-1.644854)), 0.05, abs_tol=1e-6)
    assert math.isclose(float(ppf(0.9)), 1.2815516, abs_tol=1e-6)
    assert math.isclose(float(ppf(0.5)), 0.0, abs_tol=1e-9)
    assert math.isclose(float(ppf(1e-6)), -4.753424, abs_tol=1e-5)


def test_symmetry_and_round_trip_on_arrays() -> None:
    x = np.linspace(-6, 6, 121)
    assert np.allclose(survival(x), cdf(-x), atol=1e-15)
    assert np.allclose(cdf(x) + survival(x), 1.0, atol=1e-12)
    p = np.linspace(0.001, 0.999, 999)
    assert np.allclose(cdf(ppf(p)), p, atol=1e-8)
    assert np.all(np.diff(ppf(p)) > 0)


def test_the_far_tail_stays_finite_and_accurate() -> None:
    # log P(Z > 40) by the asymptotic series: -x²/2 - log(x·√(2π)) - 1/x²...
    x = 40.0
    expected = -x * x / 2 - math.log(x * math.sqrt(2 * math.pi)) + math.log1p(-1 / x**2)
    assert math.isclose(float(log_survival(x)), expected, rel_tol=1e-6)
    assert float(survival(40.0)) == 0.0  # the plain tail underflows; the log one does not
    assert math.isclose(float(log_survival(-40.0)), 0.0, abs_tol=1e-300)
    q = np.array([1e-3, 1e-12, 1e-100])
    assert np.allclose(np.exp(log_survival(upper_ppf(q))), q, rtol=1e-6)

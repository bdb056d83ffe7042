"""Steps already under way: their remaining time given how long they have run.

A running step is known to take longer than its elapsed time; conditioning on that (with
the stuck-step tail) makes an overdue step's remaining time grow instead of reaching
zero, and tells how likely each sampled future was (a step far past its estimate makes a
slow run, or a stuck step, more likely). An operator's `runbook expect` replaces the model
for that step with their word, ageing as time passes.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from runbook.forecast._model import MIN_DURATION_S
from runbook.forecast._normal import log_survival, upper_ppf
from runbook.forecast._tail import Shares, Uniforms, conditional_log_total, survival

FloatArray = NDArray[np.float64]

EXPECT_SD = 0.25  # an operator's word on remaining time: close, not exact


def running_remaining(
    log_med: FloatArray,
    sd: float,
    elapsed: float,
    p: Shares,
    lam: float,
    z: Uniforms,
    u: Uniforms,
) -> tuple[FloatArray, FloatArray]:
    """(remaining seconds, log P(still running at `elapsed`)) per sample.

    `log_med` is the step's sampled log median (after the run's and phase's learned
    effects); `z` and `u` are its common random numbers (normal, uniform).
    """
    t = max(elapsed, MIN_DURATION_S)
    x = np.log(t) - log_med
    log_surv, _ = survival(x, sd, p, lam)
    over = conditional_log_total(x, sd, p, lam, z, u)
    remaining = np.maximum(t * np.exp(over) - elapsed, 0.0)
    return remaining, log_surv


def expected_remaining(remaining_s: float, since: float, z: Uniforms) -> FloatArray:
    """Remaining time after an operator said `remaining_s` more, `since` seconds ago."""
    log_med = np.log(max(remaining_s, MIN_DURATION_S))
    zf: FloatArray = z.astype(np.float64)
    since = max(since, 0.0)
    if since <= 0.0:
        return np.asarray(np.exp(log_med + EXPECT_SD * zf))
    # Their word was about the time from then: condition it on having lasted `since`.
    a = (np.log(max(since, MIN_DURATION_S)) - log_med) / EXPECT_SD
    w = np.clip(np.exp(log_survival(zf)), 1e-12, 1.0)
    if a > 8.0:
        zc = a - np.log(w) / a
    else:
        zc = upper_ppf(w * max(float(np.exp(log_survival(a))), 1e-300))
    return np.asarray(np.maximum(np.exp(log_med + EXPECT_SD * zc) - since, 0.0))

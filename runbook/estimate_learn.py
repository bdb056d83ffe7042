"""Live learning: how much slower than modelled this run is, from the steps it finished.

A linear-Gaussian model in log space: a finished step's log(actual / modelled median) is
g (a slowdown shared by every step: in a real outage everything is slower) + d_phase (that
phase's own departure) + the step's noise. Recent steps weigh more; a step far off the fit
(a stuck one) is explained as one that went badly wrong instead of dragging every other
step with it; when the noise is larger than the plan said, every future step's spread
widens with it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from runbook.estimate_model import MIN_DURATION_S, StepModels

FloatArray = NDArray[np.float64]

RUN_EFFECT_SD = 0.25  # prior spread of g without history: plans are often off by 1.4×
PHASE_SD = 0.15  # prior spread of a phase's departure from the run-wide slowdown
RECENCY_HALF_LIFE = 25.0  # finished steps; older evidence counts half as much
OUTLIER_P = 0.08  # a step goes badly wrong (stuck, waiting on a vendor) this often ...
OUTLIER_K = 3.5  # ... and then its log-spread is this many times wider
NOISE_PRIOR_N = 10.0  # pseudo-observations holding the noise scale at the plan's
NOISE_SCALE_BOUNDS = (0.7, 3.0)


@dataclass(frozen=True)
class Finished:
    """A finished step as evidence: its index in the models and its work time."""

    index: int
    duration_s: float


@dataclass(frozen=True)
class Posterior:
    """Gaussian belief over (g, d_phase...) and the learned noise scale."""

    mean: FloatArray  # shape (1 + phases,)
    chol: FloatArray  # lower Cholesky factor of the covariance
    noise_scale: float

    def draw(self, z: FloatArray) -> FloatArray:
        """Samples (n, 1 + phases) of the effects from standard normals `z` of that shape."""
        out: FloatArray = self.mean[None, :] + z @ self.chol.T
        return out


def learn(
    models: StepModels,
    finished: Sequence[Finished],
    prior_mean: float | None = None,
    prior_sd: float | None = None,
) -> Posterior:
    """The posterior of the run and phase effects given steps finished so far (oldest first)."""
    n_phase = len(models.phases)
    k = 1 + n_phase
    prior_mean = models.run_effect_prior if prior_mean is None else prior_mean
    # History moves the prior's centre only: tonight can be slower than every past run.
    prior_sd = RUN_EFFECT_SD if prior_sd is None else prior_sd
    prior_prec = np.diag([1.0 / prior_sd**2] + [1.0 / PHASE_SD**2] * n_phase)
    prior_vec = np.zeros(k)
    prior_vec[0] = prior_mean / prior_sd**2
    if not finished:
        cov = np.linalg.inv(prior_prec)
        return Posterior(
            _f64(np.linalg.solve(prior_prec, prior_vec)), _f64(np.linalg.cholesky(cov)), 1.0
        )
    idx = np.array([f.index for f in finished], dtype=np.int64)
    dur = np.array([max(f.duration_s, MIN_DURATION_S) for f in finished])
    y = np.log(dur) - models.mu[idx]
    sig = models.sigma[idx]
    ph = models.phase[idx]
    rank = np.arange(len(finished))[::-1].astype(np.float64)  # 0 = most recent
    recency = 0.5 ** (rank / RECENCY_HALF_LIFE)
    resp = np.zeros(len(finished))  # how likely each step was a badly-stuck one
    mean = _f64(np.linalg.solve(prior_prec, prior_vec))
    cov = np.linalg.inv(prior_prec)
    prec = prior_prec
    for _ in range(4):
        # The same two-part noise as the forecast's: a step far off the fit is explained
        # as one that went badly wrong, not as every step being slow.
        fit = mean[0] + mean[1 + ph]
        fit_var = cov[0, 0] + cov[1 + ph, 1 + ph] + 2.0 * cov[0, 1 + ph]
        v_in = sig**2 + fit_var
        v_out = (OUTLIER_K * sig) ** 2 + fit_var
        d_in = (1.0 - OUTLIER_P) * np.exp(-0.5 * (y - fit) ** 2 / v_in) / np.sqrt(v_in)
        d_out = OUTLIER_P * np.exp(-0.5 * (y - fit) ** 2 / v_out) / np.sqrt(v_out)
        resp = d_out / np.maximum(d_in + d_out, 1e-300)
        w = recency * ((1.0 - resp) / sig**2 + resp / (OUTLIER_K * sig) ** 2)
        prec = prior_prec.copy()
        prec[0, 0] += w.sum()
        np.add.at(prec[0, 1:], ph, w)
        np.add.at(prec[1:, 0], ph, w)
        prec[1:, 1:] += np.diag(np.bincount(ph, weights=w, minlength=n_phase))
        rhs = prior_vec.copy()
        rhs[0] += (w * y).sum()
        rhs[1:] += np.bincount(ph, weights=w * y, minlength=n_phase)
        mean = _f64(np.linalg.solve(prec, rhs))
        cov = np.linalg.inv(prec)
    # Noise scale: weighted mean squared standardized residual of the ordinary steps,
    # held toward 1 by a prior.
    z2 = ((y - mean[0] - mean[1 + ph]) / sig) ** 2
    wts = recency * (1.0 - resp)
    scale2 = (NOISE_PRIOR_N + (wts * z2).sum()) / (NOISE_PRIOR_N + wts.sum())
    scale = float(np.clip(np.sqrt(scale2), *NOISE_SCALE_BOUNDS))
    cov = np.linalg.inv(prec)
    return Posterior(mean, _f64(np.linalg.cholesky(cov)), scale)


def _f64(a: object) -> FloatArray:
    return np.asarray(a, dtype=np.float64)

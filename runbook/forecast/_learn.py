"""Live learning: how much slower than modelled this run is, from the steps it finished.

A linear-Gaussian model in log space: a finished step's log(actual / modelled median) is
g (a slowdown shared by every step: in a real outage everything is slower) + d_phase (that
phase's own departure) + the step's noise. Recent steps weigh more; a step far off the fit
(a stuck one) is explained as one that went badly wrong instead of dragging every other
step with it; when the noise is larger than the plan said, every future step's spread
widens with it.

The prior on g is heavy-tailed: a scale mixture of two Gaussians of the same centre, most
of its weight on the spread the history (or the cold prior) gives, the rest on a spread
several times wider. When the first steps agree with the prior the narrow part keeps the
band narrow; when they say the plan is 3× off, the wide part takes over after a step or
two instead of the prior dragging every forecast back toward its centre (a Gaussian prior
needs many steps to let go: the held-out plans of issue 19 were still forecast 30% short
at a tenth of the run).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from runbook.forecast._model import MIN_DURATION_S, StepModels
from runbook.forecast._normal import log_survival
from runbook.forecast._tail import (
    STUCK_LOG_MEAN,
    STUCK_P_TROUBLED,
    TROUBLED_PRIOR,
    night_share,
    stuck_evidence,
    survival,
    troubled_share,
)

FloatArray = NDArray[np.float64]

# Wide before the first steps finish, learned fast after (bench/eta/RESULTS.md, session 4):
RUN_EFFECT_SD = 0.3  # prior spread of g: a whole run is often 1.35× off its plan
PHASE_SD = 0.2  # prior spread of a phase's departure from the run-wide slowdown ...
PHASE_PRIOR_N = 0.3  # ... held by this many pseudo-phases against the phases seen
PHASE_SD_BOUNDS = (0.01, 1.0)
LEARN_ITERATIONS = 5
RECENCY_HALF_LIFE = 30.0  # finished steps; older evidence counts half as much
NOISE_PRIOR_N = 6.0  # pseudo-observations holding the noise scale at the plan's
NOISE_SCALE_BOUNDS = (0.7, 3.0)
# The heavy tail of g's prior: this share of the prior on a spread WIDE_SCALE× wider (at
# least WIDE_MIN_SD): "one night in five, the prior's centre is off by far more than its
# spread says" (a Student-t-like tail, in closed form).
WIDE_SHARE = 0.2
WIDE_SCALE = 2.5
WIDE_MIN_SD = 0.6


@dataclass(frozen=True)
class Finished:
    """A finished step as evidence: its index in the models and its work time."""

    index: int
    duration_s: float


@dataclass(frozen=True)
class Posterior:
    """Gaussian belief over (g, d_phase...), the learned noise scale, how troubled the night is."""

    mean: FloatArray  # shape (1 + phases,)
    chol: FloatArray  # lower Cholesky factor of the covariance
    noise_scale: float
    phase_sd: float = PHASE_SD  # spread expected of the phases not seen yet
    troubled: float = TROUBLED_PRIOR  # P(tonight is a troubled night) ...
    troubled_p: float = STUCK_P_TROUBLED  # ... and its share of stuck steps
    # The mixture's parts (weight, mean, Cholesky factor); `mean` and `chol` above are
    # its moments. Empty: a single Gaussian.
    parts: tuple[tuple[float, FloatArray, FloatArray], ...] = ()

    def draw(self, z: FloatArray, u: FloatArray | None = None) -> FloatArray:
        """Samples (n, 1 + phases) of the effects from standard normals `z` of that shape
        and uniforms `u` (n,) choosing each sample's part of the mixture."""
        if not self.parts or u is None:
            out: FloatArray = self.mean[None, :] + z @ self.chol.T
            return out
        out = np.empty_like(z, dtype=np.float64)
        edges = np.cumsum([w for w, _, _ in self.parts])
        part = np.minimum(np.searchsorted(edges / edges[-1], u, side="right"), len(edges) - 1)
        for k, (_, m, c) in enumerate(self.parts):
            rows = part == k
            out[rows] = m[None, :] + z[rows] @ c.T
        return out


def learn(
    models: StepModels,
    finished: Sequence[Finished],
    prior_mean: float | None = None,
    prior_sd: float | None = None,
    running: Sequence[Finished] = (),
) -> Posterior:
    """The posterior of the run and phase effects given steps finished so far (oldest first).

    `running`: steps still under way, with their elapsed time. One already past its fitted
    median is evidence too (censored: it will take at least that long), so a run where
    everything overruns is seen before its first slow steps finish.
    """
    n_phase = len(models.phases)
    g0 = models.run_effect_prior if prior_mean is None else prior_mean
    # History moves the prior's centre only: tonight can be slower than every past run.
    if prior_sd is None:
        prior_sd = models.run_effect_prior_sd
    g_sd = RUN_EFFECT_SD if prior_sd is None else prior_sd
    tau2 = PHASE_SD**2
    prior = _Prior(g0, g_sd)
    mean = np.zeros(1 + n_phase)
    mean[0] = g0
    cov = np.diag([prior.var] + [tau2] * n_phase)
    if not finished and not running:
        parts = prior.parts(n_phase, tau2)
        return Posterior(mean, _f64(np.linalg.cholesky(cov)), 1.0, parts=parts)
    idx = np.array([f.index for f in finished], dtype=np.int64)
    dur = np.array([max(f.duration_s, MIN_DURATION_S) for f in finished])
    y = np.log(dur) - models.mu[idx]
    sig = models.sigma[idx]
    ph = models.phase[idx]
    c_idx = np.array([f.index for f in running], dtype=np.int64)
    c_x = np.log(np.array([max(f.duration_s, MIN_DURATION_S) for f in running]))
    c_x = c_x - models.mu[c_idx]
    c_sig, c_ph = models.sigma[c_idx], models.phase[c_idx]
    # The effect indices of the phases with evidence (np.unique, without the numpy.ma it
    # imports on first use: ~10 ms of a run's first ETA).
    seen = np.array(sorted(set(ph.tolist())), dtype=np.int64) + 1
    rank = np.arange(len(finished))[::-1].astype(np.float64)  # 0 = most recent
    recency = 0.5 ** (rank / RECENCY_HALF_LIFE)
    resp = np.zeros(len(finished))  # how likely each step was a badly-stuck one
    troubled, p_troubled = TROUBLED_PRIOR, STUCK_P_TROUBLED
    p = night_share(troubled, p_troubled)
    for it in range(LEARN_ITERATIONS):
        if it:
            # How far the phases seen so far depart from the run-wide effect sets the
            # spread expected of the phases to come (a phase that ran on plan makes
            # the next ones more likely to, one that ran 3× slow less so).
            spread = float(np.sum(mean[seen] ** 2 + np.diag(cov)[seen]))
            tau2 = (PHASE_PRIOR_N * PHASE_SD**2 + spread) / (PHASE_PRIOR_N + len(seen))
            tau2 = float(np.clip(tau2, PHASE_SD_BOUNDS[0] ** 2, PHASE_SD_BOUNDS[1] ** 2))
        # The same stuck-step tail as the forecast's: a step far above the fit is
        # explained as one that went badly wrong, not as every step being slow.
        fit = mean[0] + mean[1 + ph]
        fit_var = cov[0, 0] + cov[1 + ph, 1 + ph] + 2.0 * cov[0, 1 + ph]
        c_fit = mean[0] + mean[1 + c_ph]
        c_var = c_sig**2 + cov[0, 0] + cov[1 + c_ph, 1 + c_ph] + 2.0 * cov[0, 1 + c_ph]
        resp, troubled = stuck_evidence(
            y - fit, fit_var, sig, p, STUCK_LOG_MEAN, running=(c_x - c_fit, c_var)
        )
        p_troubled = troubled_share(resp, troubled)
        p = night_share(troubled, p_troubled)
        # A stuck step still says a little: its duration less a typical overrun, with
        # the overrun's spread added (a moment-matched stand-in for its skewed noise).
        w_body = recency * (1.0 - resp) / sig**2
        w_stuck = recency * resp / (sig**2 + STUCK_LOG_MEAN**2)
        w = w_body + w_stuck
        wy = w_body * y + w_stuck * (y - STUCK_LOG_MEAN)
        if len(c_idx):
            cw, cy = censored(c_x, c_sig, mean[0] + mean[1 + c_ph], p)
            w = np.concatenate([w, cw])
            wy = np.concatenate([wy, cw * cy])
        all_ph = np.concatenate([ph, c_ph])
        data = np.zeros((1 + n_phase, 1 + n_phase))
        data[0, 0] = w.sum()
        np.add.at(data[0, 1:], all_ph, w)
        np.add.at(data[1:, 0], all_ph, w)
        data[1:, 1:] += np.diag(np.bincount(all_ph, weights=w, minlength=n_phase))
        rhs = np.zeros(1 + n_phase)
        rhs[0] = wy.sum()
        rhs[1:] = np.bincount(all_ph, weights=wy, minlength=n_phase)
        parts = tuple(prior.posterior(data, rhs, tau2))
        mean, cov = _moments(parts)
    # Noise scale: weighted mean squared standardized residual of the ordinary steps,
    # held toward 1 by a prior.
    z2 = ((y - mean[0] - mean[1 + ph]) / sig) ** 2
    wts = recency * (1.0 - resp)
    scale2 = (NOISE_PRIOR_N + (wts * z2).sum()) / (NOISE_PRIOR_N + wts.sum())
    scale = float(np.clip(np.sqrt(scale2), *NOISE_SCALE_BOUNDS))
    cov = 0.5 * (cov + cov.T)
    chols = tuple((wk, mk, _f64(np.linalg.cholesky(0.5 * (ck + ck.T)))) for wk, mk, ck in parts)
    return Posterior(
        mean,
        _f64(np.linalg.cholesky(cov)),
        scale,
        float(np.sqrt(tau2)),
        troubled,
        p_troubled,
        chols,
    )


@dataclass(frozen=True)
class _Prior:
    """g's prior: a narrow and a wide Gaussian of the same centre (phases: N(0, tau²))."""

    centre: float
    sd: float

    @property
    def sds(self) -> tuple[float, float]:
        return self.sd, max(WIDE_SCALE * self.sd, WIDE_MIN_SD)

    @property
    def var(self) -> float:
        narrow, wide = self.sds
        return (1.0 - WIDE_SHARE) * narrow**2 + WIDE_SHARE * wide**2

    def parts(self, n_phase: int, tau2: float) -> tuple[tuple[float, FloatArray, FloatArray], ...]:
        """The prior's own parts, (weight, mean, Cholesky factor)."""
        mean = np.zeros(1 + n_phase)
        mean[0] = self.centre
        return tuple(
            (w, mean, _f64(np.diag(np.sqrt([sd**2] + [tau2] * n_phase))))
            for w, sd in zip((1.0 - WIDE_SHARE, WIDE_SHARE), self.sds, strict=True)
        )

    def posterior(
        self, data: FloatArray, rhs: FloatArray, tau2: float
    ) -> list[tuple[float, FloatArray, FloatArray]]:
        """Each part's Gaussian posterior (weight, mean, covariance) given the weighted
        pseudo-observations' precision `data` and `rhs`; weights by marginal likelihood."""
        n = len(rhs)
        out = []
        logs = []
        for w, sd in zip((1.0 - WIDE_SHARE, WIDE_SHARE), self.sds, strict=True):
            p0 = np.diag([1.0 / sd**2] + [1.0 / tau2] * (n - 1))
            b0 = np.zeros(n)
            b0[0] = self.centre / sd**2
            prec = p0 + data
            cov = np.linalg.inv(prec)
            mean = _f64(cov @ (b0 + rhs))
            # log marginal likelihood, up to what every part shares
            _, logdet = np.linalg.slogdet(prec)
            quad = self.centre**2 / sd**2 - float(mean @ prec @ mean)
            logs.append(np.log(w) - np.log(sd) - 0.5 * logdet - 0.5 * quad)
            out.append((mean, _f64(cov)))
        lw = np.array(logs)
        wts = np.exp(lw - lw.max())
        wts /= wts.sum()
        return [(float(wk), m, c) for wk, (m, c) in zip(wts, out, strict=True)]


def _moments(
    parts: Sequence[tuple[float, FloatArray, FloatArray]],
) -> tuple[FloatArray, FloatArray]:
    """Mean and covariance of a Gaussian mixture."""
    mean = _f64(sum(w * m for w, m, _ in parts))
    cov = _f64(sum(w * (c + np.outer(m - mean, m - mean)) for w, m, c in parts))
    return mean, cov


def censored(
    x: FloatArray, sig: FloatArray, fit: FloatArray, p: float
) -> tuple[FloatArray, FloatArray]:
    """Weights and stand-in log departures of running steps, `x` = log elapsed − mu.

    A step past its fitted median will end, on average, at E[y | y > x] of its ordinary
    noise (an EM step for censored data); it counts as far as it is not a stuck one. A
    step still short of its fitted median says nothing yet and weighs 0.
    """
    a = (x - fit) / sig
    past = a > 0.0
    _, p_stuck = survival(x - fit, sig, p, STUCK_LOG_MEAN)
    # inverse Mills ratio φ(a)/Q(a), in logs: stays finite far in the tail
    mills = np.exp(-0.5 * a * a - 0.5 * np.log(2.0 * np.pi) - log_survival(a))
    y = fit + sig * mills
    w = np.where(past, (1.0 - p_stuck) / sig**2, 0.0)
    return _f64(w), _f64(y)


def _f64(a: object) -> FloatArray:
    return np.asarray(a, dtype=np.float64)

"""The stuck-step tail: a step that goes badly wrong, and what its elapsed time says.

A step's log duration is its log median + Gaussian noise, plus, with probability `p`, an
overrun J ~ Exponential(mean `lam`) in log space (a Pareto tail in time): a disk array
rebuilding, a vendor on the phone, a service that will not come up. The tail is what
makes a long-running step's remaining time grow with its elapsed time instead of
shrinking to zero, and what keeps the band honest before anything has gone wrong.
`p` belongs to the night: a calm night hardly has stuck steps, a troubled one several, and
the finished steps tell which this one is.

Noise + exponential is the exponentially modified Gaussian, whose tail and density have
closed forms; everything here works in log space so that a step 20× overdue still gives
finite, ordered evidence.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from runbook.forecast._normal import log_survival, upper_ppf

FloatArray = NDArray[np.float64]
Uniforms = NDArray[np.floating[Any]]  # float32 draws are kept to halve their memory
Shares = float | FloatArray  # a stuck share, or one per sampled night

# Tuned on bench/eta (see RESULTS.md). A stuck step overruns its median by a factor x or
# more with probability 1/x (a Pareto tail of index 1). Nights, not steps, go wrong: on a
# troubled night one step in eight or so gets stuck, on a calm one hardly any. Before any
# step has finished a night is troubled with probability TROUBLED_PRIOR (so about 1 step
# in 25 is expected stuck); each finished step then tells calm from troubled nights, and a
# sampled future is troubled with the probability they leave. A single share for every
# future (session 3's model) kept the band as wide late in a calm night as at its start.
TROUBLED_PRIOR = 0.35
STUCK_P_TROUBLED = 0.12  # share of stuck steps on a troubled night (learned as it shows) ...
STUCK_P_CALM = 0.0003  # ... and on a calm one
STUCK_LOG_MEAN = 1.0  # mean log-overrun of a stuck step (an Exp(1) in log: P(> x×) = 1/x)
STUCK_PRIOR_N = 15.0  # pseudo-steps holding a troubled night's share at its prior
STUCK_P_MAX = 0.3
_TINY = 1e-300


def overrun(e: Uniforms, p: Shares, lam: float) -> FloatArray:
    """Log-overrun from exponential draws `e` (= −log u): lam·(e + log p) where u < p, else 0.

    Given u < p, u/p is uniform again, so e + log p is Exp(1): one draw decides both
    whether a step is stuck and by how much, and a learned `p` moves the draws smoothly.
    """
    out: FloatArray = lam * np.maximum(e.astype(np.float64) + np.log(p), 0.0)
    return out


def _log_late_outlier(x: FloatArray, s: float | FloatArray, lam: float) -> FloatArray:
    """log P(Y <= t, Y + J > t) for Y ~ N(m, s²), with x = t − m: J alone carries it past t."""
    a = x / s
    return -x / lam + s * s / (2.0 * lam * lam) + log_survival(s / lam - a)


def survival(
    x: FloatArray, s: float | FloatArray, p: Shares, lam: float
) -> tuple[FloatArray, FloatArray]:
    """log P(D > t) and P(stuck | D > t), with x = log t − log median (per sample; `s`
    per sample too, or one spread for all)."""
    log_q = log_survival(x / s)
    log_late = np.log(p) + _log_late_outlier(x, s, lam)
    log_total = np.logaddexp(log_q, log_late)
    # body or outlier with its noise already past t: share Q(a); of it, p is an outlier
    p_stuck = np.exp(log_late - log_total) + p * np.exp(log_q - log_total)
    return log_total, np.clip(p_stuck, 0.0, 1.0)


def conditional_log_total(
    x: FloatArray, s: float, p: Shares, lam: float, z: Uniforms, u: Uniforms
) -> FloatArray:
    """Log duration − log t of a step known to take longer than t (x = log t − log median).

    Drawn by inversion from the step's own common random numbers: `z` (standard normal)
    for the noise, `u` (uniform) for being stuck and by how much. Just after the start
    (t → 0) this is exactly the unconditioned draw `sd·z + overrun(u)`, so a step that
    has just started moves nothing, and the same evidence always gives the same answer.
    """
    a = x / s
    log_q = log_survival(a)
    log_late = np.log(p) + _log_late_outlier(x, s, lam)
    log_total = np.logaddexp(log_q, log_late)
    share_late = np.exp(log_late - log_total)  # stuck, noise below t, J carried it past
    share_out = p * np.exp(log_q - log_total)  # stuck, noise alone already past t
    uu = u.astype(np.float64)
    late = uu < share_late
    out = (~late) & (uu < share_late + share_out)
    # Within its branch, u is uniform again: it sets the overrun (memoryless past t).
    frac = np.where(late, uu / np.maximum(share_late, _TINY), 1.0)
    frac = np.where(out, (uu - share_late) / np.maximum(share_out, _TINY), frac)
    jump = -lam * np.log(np.clip(frac, _TINY, 1.0))
    # Noise conditioned on exceeding t: the upper tail of a normal, by inversion.
    w = np.clip(np.exp(log_survival(z.astype(np.float64))), 1e-300, 1.0)
    far = a > 8.0
    tail = np.exp(np.where(far, 0.0, log_q))
    zc = np.where(far, a - np.log(w) / np.maximum(a, 1.0), upper_ppf(w * np.maximum(tail, _TINY)))
    above = s * np.maximum(zc, a) - x  # ≥ 0: how far above t the noise lands
    return np.where(late, jump, above + np.where(out, jump, 0.0))


def _log_densities(y: FloatArray, v: FloatArray, lam: float) -> tuple[FloatArray, FloatArray]:
    """Log densities (× sqrt(2π)) of `y` for an ordinary step and for a stuck one."""
    sd = np.sqrt(v)
    log_body = -0.5 * y * y / v - np.log(sd)
    # exponentially modified Gaussian density, in logs, times sqrt(2π) like the body's
    log_out = (
        -np.log(lam)
        - y / lam
        + v / (2.0 * lam * lam)
        + log_survival(sd / lam - y / sd)
        + 0.5 * np.log(2.0 * np.pi)
    )
    return log_body, log_out


def stuck_evidence(
    y: FloatArray,
    fit_var: FloatArray,
    sig: FloatArray,
    p: float,
    lam: float,
    running: tuple[FloatArray, FloatArray] | None = None,
) -> tuple[FloatArray, float]:
    """From finished steps `y` above their fitted medians, with a stuck share `p`: each
    step's P(stuck), and P(tonight is a troubled night).

    `running`: steps still under way, (log elapsed − fit, variance): one already far past
    its estimate is as likely on a troubled night as its survival there says, so a step
    stuck at 5× tells of a troubled night before it ends (and more stuck steps to come).
    """
    log_body, log_out = _log_densities(y, sig**2 + fit_var, lam)

    def log_mix(share: float) -> FloatArray:  # each step's log density at this share
        out: FloatArray = np.logaddexp(np.log1p(-share) + log_body, np.log(share) + log_out)
        return out

    resp: FloatArray = np.exp(np.log(p) + log_out - log_mix(p))
    # Troubled nights compared at their prior share: a one-point stand-in for the
    # integral over it, which the learned share refines once the night is believed troubled.
    logit = np.log(TROUBLED_PRIOR / (1.0 - TROUBLED_PRIOR))
    logit += float(log_mix(STUCK_P_TROUBLED).sum() - log_mix(STUCK_P_CALM).sum())
    if running is not None and len(running[0]):
        x, v = running
        sd = np.sqrt(v)
        log_t, _ = survival(x, sd, STUCK_P_TROUBLED, lam)
        log_c, _ = survival(x, sd, STUCK_P_CALM, lam)
        logit += float((log_t - log_c).sum())
    return resp, float(1.0 / (1.0 + np.exp(-np.clip(logit, -700.0, 700.0))))


def troubled_share(resp: FloatArray, troubled: float) -> float:
    """The stuck share of a troubled night, learned from the finished steps.

    Their evidence counts as much as the night is believed troubled: steps that never
    got stuck on what is likely a calm night say nothing of how a troubled one goes.
    """
    n = float(len(resp)) * troubled
    p = (STUCK_P_TROUBLED * STUCK_PRIOR_N + float(resp.sum())) / (STUCK_PRIOR_N + n)
    return float(np.clip(p, STUCK_P_CALM, STUCK_P_MAX))


def night_share(troubled: float, p_troubled: float) -> float:
    """The stuck share of a night troubled with probability `troubled`, on average."""
    return troubled * p_troubled + (1.0 - troubled) * STUCK_P_CALM

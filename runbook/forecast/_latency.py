"""Operator latency: how long a manual step waits for someone to pick it up, apart from its work.

The journal keeps a manual step's `wait_s` (from `manual_waiting` to the claim) apart from
its `work_s` (claim to answer), and estimates learn from the work alone. Live, the wait is
real time too: at 3 a.m. a step can sit for minutes to an hour before anyone claims it.
A wait is 0 with probability `q0` (picked up at once, or answered without a claim: then
the wait is inside the work) and otherwise lognormal, heavy-tailed. Learned from the waits
of this run's answered manual steps and of earlier live runs of any playbook; rehearsals
answer on their own clock and say nothing about it, so a rehearsal has no latency.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from runbook.forecast._normal import log_survival, upper_ppf

FloatArray = NDArray[np.float64]

# Before any wait is seen: a third of manual steps picked up at once, the rest a median
# of 5 minutes, one in six over 14 minutes, one in forty over 40 (sd 1.0 in log).
PRIOR_Q0 = 0.33
PRIOR_LOG_MEDIAN = math.log(300.0)
PRIOR_SD = 1.0
PRIOR_WAITS = 3.0  # pseudo-waits holding those against the ones seen
NO_WAIT_S = 1.0  # a wait under this is "picked up at once"
SD_BOUNDS = (0.3, 2.0)


@dataclass(frozen=True)
class Latency:
    """The wait before a manual step is picked up: 0 with probability q0, else lognormal."""

    q0: float
    log_median: float
    sd: float

    def draw(self, z: FloatArray, u: FloatArray) -> FloatArray:
        """Waits (seconds) from standard normals `z` and uniforms `u`."""
        out: FloatArray = np.where(u < self.q0, 0.0, np.exp(self.log_median + self.sd * z))
        return out

    def remaining(self, waited: float, z: FloatArray) -> FloatArray:
        """The rest of a wait already `waited` seconds long (no one has claimed the step)."""
        a = (math.log(max(waited, NO_WAIT_S)) - self.log_median) / self.sd
        w = np.clip(np.exp(log_survival(z)), 1e-12, 1.0)
        if a > 8.0:
            zc = a - np.log(w) / a
        else:
            zc = upper_ppf(w * max(math.exp(float(log_survival(np.array(a)))), 1e-300))
        out: FloatArray = np.maximum(np.exp(self.log_median + self.sd * zc) - waited, 0.0)
        return out

    def worked_share(self, waited: float, log_surv_work: FloatArray) -> FloatArray:
        """P(an unclaimed manual step is already being worked on), per sample.

        A wait of 0 is also a step answered without a claim: its work began when it was
        handed to the operators, and it shows unclaimed until it is answered. After
        `waited` seconds unclaimed, that is as likely as q0 × P(work > waited) against
        (1 − q0) × P(wait > waited); `log_surv_work`: log P(work > waited) per sample.
        """
        a = (math.log(max(waited, NO_WAIT_S)) - self.log_median) / self.sd
        log_wait = math.log1p(-min(self.q0, 1.0 - 1e-12)) + float(log_survival(np.array(a)))
        log_work = math.log(max(self.q0, 1e-12)) + log_surv_work
        out: FloatArray = 1.0 / (1.0 + np.exp(np.clip(log_wait - log_work, -700.0, 700.0)))
        return out


def learn_latency(waits: Sequence[float]) -> Latency:
    """The latency after `waits` (seconds, earlier live runs' and this run's), from the prior."""
    x = np.asarray(waits, dtype=np.float64)
    zero = x < NO_WAIT_S
    n0, n = float(zero.sum()), float(len(x))
    q0 = (PRIOR_WAITS * PRIOR_Q0 + n0) / (PRIOR_WAITS + n)
    logs = np.log(x[~zero])
    k = float(len(logs))
    mean = (PRIOR_WAITS * PRIOR_LOG_MEDIAN + float(logs.sum())) / (PRIOR_WAITS + k)
    ss = float(((logs - mean) ** 2).sum()) if k else 0.0
    var = (PRIOR_WAITS * PRIOR_SD**2 + ss) / (PRIOR_WAITS + k)
    sd = float(np.clip(math.sqrt(var), *SD_BOUNDS))
    return Latency(float(q0), float(mean), sd)

"""Per-step duration models: a lognormal per step from the plan, refined by earlier runs.

Every duration is modelled in log space: log D = mu + run effect + phase effect + noise.
`mu` and the noise's `sigma` come from the plan's estimate; earlier runs of the same
playbook move `mu` (the step's own speed, after removing how slow that whole run was) and
`sigma`, shrunk toward the plan when there are few of them.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]

# An estimate's min/max read as P10/P90: people's ranges are narrower than what happens.
_RANGE_Z = 1.645
# Spread (sigma of log duration) for a single-value estimate, by step kind: operators'
# manual work varies most, scripted local work least. A missing estimate (5m assumed) is
# barely a guess.
SINGLE_SIGMA: Mapping[str, float] = {"manual": 0.4, "remote": 0.3, "local": 0.25}
DEFAULT_SIGMA = 0.8
MIN_SIGMA = 0.12
MIN_DURATION_S = 1.0
# History: pseudo-count of the plan's prior when learning a step's own speed from past runs,
# and how much a rehearsal's measurement counts against a live one.
HISTORY_PRIOR_N = 2.0
REHEARSAL_WEIGHT = 0.5


@dataclass(frozen=True)
class PastRun:
    """One earlier run of the playbook: each finished step's work time, in seconds."""

    run_id: str
    mode: str  # live | rehearsal | dry-run
    durations: Mapping[str, float]


@dataclass(frozen=True)
class History:
    """Earlier runs of the same playbook, oldest first."""

    runs: tuple[PastRun, ...] = ()

    def of_mode(self, mode: str) -> tuple[PastRun, ...]:
        return tuple(r for r in self.runs if r.mode == mode)


@dataclass(frozen=True)
class StepModels:
    """Log-space duration parameters for the plan's steps, in plan order."""

    ids: tuple[str, ...]
    mu: FloatArray  # log median duration, seconds
    sigma: FloatArray  # spread of log duration
    phase: NDArray[np.int64]  # index into `phases`
    phases: tuple[str, ...]
    kind: tuple[str, ...]
    run_effect_prior: float = 0.0  # expected log slowdown of this kind of run, from history
    run_effect_sd: float | None = None  # its spread across past runs, None: no history
    learned: Mapping[str, int] = field(default_factory=dict)  # step id → past samples used
    # Steps estimated at 0 s (a bookmark, a check that is instant): not drawn, never late.
    instant: NDArray[np.bool_] | None = None

    def reordered(self, ids: Sequence[str]) -> StepModels:
        """The same models with steps in the order of `ids` (the forecaster's graph order)."""
        where = {s: i for i, s in enumerate(self.ids)}
        order = np.array([where[s] for s in ids], dtype=np.int64)
        return replace(
            self,
            ids=tuple(ids),
            mu=self.mu[order],
            sigma=self.sigma[order],
            phase=self.phase[order],
            kind=tuple(self.kind[i] for i in order),
            instant=None if self.instant is None else self.instant[order],
        )


def plan_step_params(step: Mapping[str, Any]) -> tuple[float, float]:
    """(mu, sigma) of log duration from a plan step's estimate and kind."""
    est = step.get("estimate") or {}
    lo = max(float(est.get("min_s", 300.0)), MIN_DURATION_S)
    likely = max(float(est.get("likely_s", 300.0)), MIN_DURATION_S)
    hi = max(float(est.get("max_s", 300.0)), MIN_DURATION_S)
    lo, hi = min(lo, likely), max(hi, likely)
    if not est.get("given", True):
        return math.log(likely), DEFAULT_SIGMA
    if hi > lo:
        # PERT weights in log space: the likely value dominates, the tails pull the median.
        mu = (math.log(lo) + 4.0 * math.log(likely) + math.log(hi)) / 6.0
        sigma = max((math.log(hi) - math.log(lo)) / (2.0 * _RANGE_Z), MIN_SIGMA)
        return mu, sigma
    return math.log(likely), SINGLE_SIGMA.get(str(step.get("kind")), 0.35)


def _instant(step: Mapping[str, Any]) -> bool:
    est = step.get("estimate") or {}
    return bool(est.get("given", True)) and float(est.get("max_s", 300.0)) <= 0.0


def _run_effect(run: PastRun, mu: Mapping[str, float]) -> float:
    """How much slower than plan a whole past run was (median log ratio: robust to outliers)."""
    ratios = [np.log(max(d, MIN_DURATION_S)) - mu[s] for s, d in run.durations.items() if s in mu]
    return float(np.median(ratios)) if ratios else 0.0


def build_models(
    plan: Mapping[str, Any], history: History | None = None, mode: str = "live"
) -> StepModels:
    """Step models from the Plan JSON, refined by `history` for a run of `mode`."""
    steps: Sequence[Mapping[str, Any]] = plan.get("steps", ())
    ids = tuple(str(s["id"]) for s in steps)
    params = [plan_step_params(s) for s in steps]
    mu = np.array([p[0] for p in params], dtype=np.float64)
    sigma = np.array([p[1] for p in params], dtype=np.float64)
    phases = tuple(dict.fromkeys([*plan.get("phases", ()), *(str(s["phase"]) for s in steps)]))
    phase_index = {p: i for i, p in enumerate(phases)}
    phase = np.array([phase_index[str(s["phase"])] for s in steps], dtype=np.int64)
    kind = tuple(str(s.get("kind", "local")) for s in steps)
    instant = np.array([_instant(s) for s in steps], dtype=bool)
    models = StepModels(ids, mu, sigma, phase, phases, kind, instant=instant)
    if history and history.runs:
        models = _refine(models, history, mode)
    return models


def _refine(models: StepModels, history: History, mode: str) -> StepModels:
    index = {s: i for i, s in enumerate(models.ids)}
    mu0 = {s: float(models.mu[i]) for s, i in index.items()}
    weight_sum = np.zeros(len(models.ids))
    resid_sum = np.zeros(len(models.ids))
    resid_sq: list[list[tuple[float, float]]] = [[] for _ in models.ids]
    effects: list[tuple[float, float]] = []
    for run in history.runs:
        if run.mode == "dry-run":
            continue
        effect = _run_effect(run, mu0)
        w = 1.0 if run.mode == mode or mode != "live" else REHEARSAL_WEIGHT
        effects.append((w, effect))
        for s, d in run.durations.items():
            i = index.get(s)
            if i is None:
                continue
            r = float(np.log(max(d, MIN_DURATION_S))) - mu0[s] - effect
            weight_sum[i] += w
            resid_sum[i] += w * r
            resid_sq[i].append((w, r))
    # Shrink each step's own offset toward the plan: k pseudo-observations at zero.
    bias = resid_sum / (HISTORY_PRIOR_N + weight_sum)
    sigma = models.sigma.copy()
    for i, obs in enumerate(resid_sq):
        if len(obs) >= 2:
            ss = sum(w * (r - bias[i]) ** 2 for w, r in obs)
            var = (HISTORY_PRIOR_N * sigma[i] ** 2 + ss) / (HISTORY_PRIOR_N + weight_sum[i])
            sigma[i] = max(float(np.sqrt(var)), MIN_SIGMA)
    prior, sd = 0.0, None
    if effects:
        # Past runs say how slow a whole run tends to be (rehearsals count less for a
        # live run: the night itself may differ); shrunk toward the plan by one run.
        w_sum = sum(w for w, _ in effects)
        prior = float(sum(w * e for w, e in effects) / (w_sum + 1.0))
        sd = float(np.std([e for _, e in effects])) if len(effects) >= 2 else None
    learned = {s: len(resid_sq[i]) for s, i in index.items() if resid_sq[i]}
    return replace(
        models,
        mu=models.mu + bias,
        sigma=sigma,
        run_effect_prior=prior,
        run_effect_sd=sd,
        learned=learned,
    )

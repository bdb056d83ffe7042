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
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

if TYPE_CHECKING:
    from runbook.forecast._reference import ReferenceRun

FloatArray = NDArray[np.float64]

# An estimate's min/max read as P5/P95 (z = 1.645), not as bounds: things do fall outside.
_RANGE_Z = 1.645
# Spread (sigma of log duration) for a single-value estimate, by step kind: operators'
# manual work varies most, scripted local work least. A missing estimate (5m assumed) is
# barely a guess.
SINGLE_SIGMA: Mapping[str, float] = {"manual": 0.4, "remote": 0.3, "local": 0.25}
DEFAULT_SIGMA = 0.8
MIN_SIGMA = 0.12
MIN_DURATION_S = 1.0
# History (empirical Bayes, pooled over the playbook's steps): how much a rehearsal's
# measurement counts against a live one. A rehearsal's durations are drawn from the
# playbook's own estimates (or a durations file someone wrote): they echo the plan more
# than they measure the night, so five rehearsals weigh as one live run when a live run
# (or `runbook plan`) learns from them; a rehearsal learns from rehearsals fully.
# Before any pooled evidence, half of the plan's
# spread is taken as run-to-run noise and half as the plan being wrong about the step ...
REHEARSAL_WEIGHT = 0.2
NOISE_SHARE = 0.5
# ... held by this many pseudo-observations against what the past runs show:
NOISE_PRIOR_DOF = 4.0  # degrees of freedom of the noise variance (a step run 3 times has 2)
KIND_PRIOR_DOF = 20.0  # a kind's own noise (manual, remote, local) against all steps'
OFFSET_PRIOR_STEPS = 8.0  # steps' offsets against the plan's say on how wrong it is
OFFSET_VAR_MIN = 0.01  # the plan is never taken as exactly right about a step


@dataclass(frozen=True)
class PastRun:
    """One earlier run of the playbook: each finished step's work time, in seconds."""

    run_id: str
    mode: str  # live | rehearsal | dry-run
    durations: Mapping[str, float]
    waits: tuple[float, ...] = ()  # manual steps' operator waits, seconds


@dataclass(frozen=True)
class History:
    """Earlier runs of the same playbook, oldest first, and the team's other runs."""

    runs: tuple[PastRun, ...] = ()
    # Earlier runs of other playbooks (runbook/forecast/_reference.py): the prior of a
    # playbook without runs of its own, and operator waits of live nights.
    reference: tuple[ReferenceRun, ...] = ()

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
    run_effect_prior_sd: float | None = None  # the prior's sd; None: _learn's default
    run_effect_runs: float = 0.0  # weighted count of the past runs behind run_effect_prior
    learned: Mapping[str, int] = field(default_factory=dict)  # step id → past samples used
    # Steps estimated at 0 s (a bookmark, a check that is instant): not drawn, never late.
    instant: NDArray[np.bool_] | None = None
    guessed: NDArray[np.bool_] | None = None  # no estimate given: 5m assumed

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
            guessed=None if self.guessed is None else self.guessed[order],
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


def _params(steps: Sequence[Mapping[str, Any]]) -> list[tuple[float, float]]:
    """`plan_step_params` of each step, once per distinct estimate and kind: a large
    playbook repeats a few dozen of them."""
    seen: dict[Any, tuple[float, float]] = {}
    out = []
    for s in steps:
        est = s.get("estimate") or {}
        try:
            key = (*est.items(), s.get("kind"))
            found = seen.get(key)
        except TypeError:  # an unhashable value: not worth remembering
            key, found = None, None
        if found is None:
            found = plan_step_params(s)
            if key is not None:
                seen[key] = found
        out.append(found)
    return out


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
    params = _params(steps)
    mu = np.array([p[0] for p in params], dtype=np.float64)
    sigma = np.array([p[1] for p in params], dtype=np.float64)
    phases = tuple(dict.fromkeys([*plan.get("phases", ()), *(str(s["phase"]) for s in steps)]))
    phase_index = {p: i for i, p in enumerate(phases)}
    phase = np.array([phase_index[str(s["phase"])] for s in steps], dtype=np.int64)
    kind = tuple(str(s.get("kind", "local")) for s in steps)
    instant = np.array([_instant(s) for s in steps], dtype=bool)
    guessed = np.array([not (s.get("estimate") or {}).get("given", True) for s in steps], bool)
    models = StepModels(ids, mu, sigma, phase, phases, kind, instant=instant, guessed=guessed)
    if history and history.runs:
        models = _refine(models, history, mode)
    return models


def own_runs(history: History | None) -> bool:
    """Whether `history` holds a run of the playbook itself that measured something."""
    return history is not None and any(r.mode != "dry-run" for r in history.runs)


def _refine(models: StepModels, history: History, mode: str) -> StepModels:
    """Each step's median and spread after the past runs, shrunk toward the plan.

    A past run's log duration of step i is the plan's mu_i + that run's effect + the
    step's own offset (how wrong the plan is about it, the same every run) + noise. The
    two variances are learned from all steps together (empirical Bayes): the noise from
    how a step's runs differ among themselves, the offsets from how far the steps' means
    fall from the plan. A step's offset is then shrunk by what its runs can tell apart
    from noise: in a playbook whose runs repeat closely, three rehearsals move a step
    almost all the way; where runs scatter, much less.
    """
    obs, effects = _residuals(models, history, mode)
    n = len(models.ids)
    count = np.bincount(obs.step, weights=obs.weight, minlength=n).astype(np.float64)
    seen = count > 0
    mean = np.zeros(n)
    mean[seen] = np.bincount(obs.step, weights=obs.weight * obs.value, minlength=n)[seen]
    mean[seen] /= count[seen]
    plan_var = models.sigma**2
    noise_var = _noise_variance(obs, mean, count, models.kind, plan_var)
    guessed = models.guessed if models.guessed is not None else np.zeros(n, dtype=bool)
    offset_var = np.zeros(n)
    for group in (guessed, ~guessed):
        # a guessed estimate (5m assumed) is far more wrong than a given one
        if not group.any():
            continue
        prior = (1.0 - NOISE_SHARE) * float(plan_var[group].mean())
        own = group & seen
        excess = float((mean[own] ** 2 - noise_var[own] / count[own]).sum())
        var = (OFFSET_PRIOR_STEPS * prior + excess) / (OFFSET_PRIOR_STEPS + int(own.sum()))
        offset_var[group] = max(var, OFFSET_VAR_MIN)
    mu = models.mu.copy()
    sigma = models.sigma.copy()
    shrink = offset_var[seen] / (offset_var[seen] + noise_var[seen] / count[seen])
    mu[seen] += shrink * mean[seen]
    # next run's spread: its noise, plus what is still unsure about the offset
    sigma[seen] = np.maximum(np.sqrt(noise_var[seen] * (1.0 + shrink / count[seen])), MIN_SIGMA)
    prior_effect, sd = 0.0, None
    if effects:
        # Past runs say how slow a whole run tends to be (rehearsals count less for a
        # live run: the night itself may differ); _reference.py shrinks it toward the
        # team's (or the cold) prior by one run.
        w_sum = sum(w for w, _ in effects)
        prior_effect = float(sum(w * e for w, e in effects) / w_sum)
        sd = float(np.std([e for _, e in effects])) if len(effects) >= 2 else None
    runs = np.bincount(obs.step, minlength=n)
    learned = {models.ids[i]: int(runs[i]) for i in np.flatnonzero(seen)}
    return replace(
        models,
        mu=mu,
        sigma=sigma,
        run_effect_prior=prior_effect,
        run_effect_sd=sd,
        run_effect_runs=float(sum(w for w, _ in effects)),
        learned=learned,
    )


@dataclass(frozen=True)
class _Observed:
    """Past runs' measurements, one row each: the step, the run's weight, log departure."""

    step: NDArray[np.int64]
    weight: FloatArray
    value: FloatArray  # log duration − plan's mu − that run's effect


def _residuals(
    models: StepModels, history: History, mode: str
) -> tuple[_Observed, list[tuple[float, float]]]:
    """Each step's log departure from the plan per past run, that run's effect removed."""
    index = {s: i for i, s in enumerate(models.ids)}
    mu0 = {s: float(models.mu[i]) for s, i in index.items()}
    step: list[int] = []
    weight: list[float] = []
    value: list[float] = []
    effects: list[tuple[float, float]] = []
    for run in history.runs:
        if run.mode == "dry-run":
            continue
        effect = _run_effect(run, mu0)
        w = 1.0 if run.mode == mode or mode != "live" else REHEARSAL_WEIGHT
        effects.append((w, effect))
        for s, d in run.durations.items():
            i = index.get(s)
            if i is not None:
                step.append(i)
                weight.append(w)
                value.append(math.log(max(d, MIN_DURATION_S)) - mu0[s] - effect)
    obs = _Observed(np.array(step, dtype=np.int64), np.array(weight), np.array(value))
    return obs, effects


def _noise_variance(
    obs: _Observed,
    mean: FloatArray,
    count: FloatArray,
    kinds: Sequence[str],
    plan_var: FloatArray,
) -> FloatArray:
    """Each step's run-to-run variance: its kind's pooled spread, held toward the plan's."""
    n = len(kinds)
    runs = np.bincount(obs.step, minlength=n)
    dev = obs.value - mean[obs.step]
    ss = np.bincount(obs.step, weights=obs.weight * dev * dev, minlength=n)
    dof = np.where(runs >= 2, count * (1.0 - 1.0 / np.maximum(runs, 1)), 0.0)
    overall = ss.sum() / dof.sum() if dof.sum() > 0 else 0.0
    # A step that got stuck in one rehearsal says nothing about how noisy steps are.
    usable = (dof > 0) & (ss <= 9.0 * overall * dof)
    ss, dof = np.where(usable, ss, 0.0), np.where(usable, dof, 0.0)
    total_dof = float(dof.sum())
    overall = float(ss.sum()) / total_dof if total_dof > 0 else 0.0
    pooled = np.zeros(n)
    kind_of = np.array(kinds, dtype=object)
    for kind in set(kinds):
        own = kind_of == kind
        own_ss, own_dof = float(ss[own].sum()), float(dof[own].sum())
        pooled[own] = (KIND_PRIOR_DOF * overall + own_ss) / (KIND_PRIOR_DOF + own_dof)
    out: FloatArray = (NOISE_PRIOR_DOF * NOISE_SHARE * plan_var + total_dof * pooled) / (
        NOISE_PRIOR_DOF + total_dof
    )
    return out

"""The reference class: what earlier runs of *any* playbook say about plans against actuals.

A team's plans tend to be wrong the same way: estimates written by the same people, for
the same datacenter, are optimistic by a shared factor (whole restores routinely take
1.5–3× their plan). A playbook run for the first time has no history of its own, but the
journal holds the team's other runs: each gives its run-wide slowdown (the median log
ratio of a step's work to its plan's median), and their mean and spread are the prior of
tonight's slowdown. A playbook with no run anywhere gets a prior wide enough that 2–3× is
no surprise, centred a little above the plan: plans are optimistic far more often than not.

Where the reference runs have enough steps of a phase (or of a step owner), that group's
departure from its run's slowdown is learned too, held toward 0, and moves the steps of
that phase (owner) that the playbook's own runs did not measure.

Rehearsals count as rehearsals: a fifth of a live run for a live one (REHEARSAL_WEIGHT,
as for a playbook's own runs), and they say nothing about how long people take to pick up
a manual step at night (their waits are left out of the latency model,
runbook/forecast/_latency.py).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from runbook.forecast._model import (
    MIN_DURATION_S,
    REHEARSAL_WEIGHT,
    History,
    StepModels,
    own_runs,
    plan_step_params,
)

# No earlier run anywhere: plans run 1.1–4× their critical path in practice, rarely
# faster. Centre ×1.5, spread 0.45 in log: ×3 is 1.5 sd away, ×0.7 1.7 sd.
COLD_EFFECT = math.log(1.5)
COLD_SD = 0.45
# With reference runs: how far another playbook of the same team may sit from the team's
# mean (a playbook's own slowdown); the spread of a team's runs before any is seen (one
# run is often 1.35× off another), held by a pseudo-run, as is the team mean at the cold
# centre.
PLAYBOOK_SD = 0.12
TEAM_SD = 0.3
SPREAD_PRIOR_RUNS = 1.0
MEAN_PRIOR_RUNS = 1.0
MIN_STEPS = 3  # a run that finished fewer steps says little about its whole
# Per phase and per step owner (where the data allows): how much slower than the run as a
# whole the team's steps of that phase (owner) ran, pooled over the reference runs. A
# group's departure is held toward 0 (the run-wide factor) as a normal-normal mean: a
# step's own scatter (the plan's offset and the night's noise, ~0.4 in log) against the
# spread of real departures between groups (~0.25). A group needs this many steps.
GROUP_MIN_STEPS = 4
GROUP_STEP_SD = 0.4
GROUP_SD = 0.25


@dataclass(frozen=True)
class ReferenceRun:
    """An earlier run of another playbook, summarised for the reference class."""

    run_id: str
    mode: str  # live | rehearsal
    effect: float  # median log(work / plan median) over its finished steps
    steps: int  # how many finished steps that median stands on
    waits: tuple[float, ...] = ()  # manual steps' operator waits, seconds (live runs only)
    # "phase:NAME" / "owner:NAME" → (mean log departure from `effect`, steps behind it);
    # an owner's departure is what is left after its steps' phases'.
    groups: Mapping[str, tuple[float, int]] = field(default_factory=dict)


def reference_run(
    run_id: str,
    mode: str,
    plan: Mapping[str, Any],
    durations: Mapping[str, float],
    waits: Sequence[float] = (),
) -> ReferenceRun | None:
    """A past run of any playbook as reference: its plan against what its steps took."""
    mu = {str(s["id"]): plan_step_params(s)[0] for s in plan.get("steps", ()) if _estimated(s)}
    ratios = {s: math.log(max(d, MIN_DURATION_S)) - mu[s] for s, d in durations.items() if s in mu}
    if len(ratios) < MIN_STEPS:
        return None
    kept = tuple(float(w) for w in waits) if mode == "live" else ()
    effect = float(np.median(list(ratios.values())))
    steps = {str(s["id"]): s for s in plan.get("steps", ())}
    groups = _groups(steps, {s: r - effect for s, r in ratios.items()})
    return ReferenceRun(run_id, mode, effect, len(ratios), kept, groups)


def _groups(
    steps: Mapping[str, Mapping[str, Any]], dep: Mapping[str, float]
) -> dict[str, tuple[float, int]]:
    """Each phase's mean departure, then each owner's on what its phases leave."""
    # A stuck step would make its phase look slow: departures are clipped at 3× either way.
    dep = {s: float(np.clip(d, -1.1, 1.1)) for s, d in dep.items()}
    out: dict[str, tuple[float, int]] = {}
    for key, rest in (("phase", dep), ("owner", None)):
        if rest is None:  # owners: after their steps' phases
            rest = {
                s: d - out.get(f"phase:{steps[s].get('phase')}", (0.0, 0))[0]
                for s, d in dep.items()
            }
        by: dict[str, list[float]] = {}
        for s, d in rest.items():
            name = steps[s].get(key)
            if name:
                by.setdefault(f"{key}:{name}", []).append(d)
        out.update({k: (float(np.mean(v)), len(v)) for k, v in by.items()})
    return out


def group_shifts(
    refs: Sequence[ReferenceRun], mode: str
) -> dict[str, float]:  # fmt: skip
    """Each phase's and owner's expected departure from the run-wide slowdown, shrunk."""
    sums: dict[str, tuple[float, float, int]] = {}
    for r in refs:
        w = 1.0 if r.mode == mode or mode != "live" else REHEARSAL_WEIGHT
        for k, (d, n) in r.groups.items():
            s, c, m = sums.get(k, (0.0, 0.0, 0))
            sums[k] = (s + w * n * d, c + w * n, m + n)
    out = {}
    for k, (s, c, m) in sums.items():
        if m >= GROUP_MIN_STEPS:
            shrink = c * GROUP_SD**2 / (c * GROUP_SD**2 + GROUP_STEP_SD**2)
            out[k] = shrink * s / c
    return out


def _estimated(step: Mapping[str, Any]) -> bool:
    """Steps whose estimate was written down (a missing one says nothing of the team)."""
    est = step.get("estimate") or {}
    return bool(est.get("given", True)) and float(est.get("max_s", 300.0)) > 0.0


def reference_prior(refs: Sequence[ReferenceRun], mode: str) -> tuple[float, float]:
    """(mean, sd) of tonight's log slowdown for a playbook with no history of its own."""
    if not refs:
        return COLD_EFFECT, COLD_SD
    w = np.array([1.0 if r.mode == mode or mode != "live" else REHEARSAL_WEIGHT for r in refs])
    e = np.array([r.effect for r in refs])
    total = float(w.sum())
    mean = float((MEAN_PRIOR_RUNS * COLD_EFFECT + (w * e).sum()) / (MEAN_PRIOR_RUNS + total))
    # The team's spread run to run, held toward the cold spread by a couple of pseudo-runs,
    # plus what is still unsure about the team's mean, plus this playbook's own departure.
    ss = float((w * (e - mean) ** 2).sum())
    spread2 = (SPREAD_PRIOR_RUNS * TEAM_SD**2 + ss) / (SPREAD_PRIOR_RUNS + total)
    sd = math.sqrt(spread2 + spread2 / (MEAN_PRIOR_RUNS + total) + PLAYBOOK_SD**2)
    return mean, min(sd, COLD_SD)


def _with_group_shifts(
    models: StepModels, plan: Mapping[str, Any], refs: Sequence[ReferenceRun], mode: str
) -> StepModels:
    """Steps the playbook's own runs did not measure move by their phase's and owner's
    departure in the team's other runs (when enough of their steps ran)."""
    shifts = group_shifts(refs, mode)
    if not shifts:
        return models
    steps = {str(s["id"]): s for s in plan.get("steps", ())}
    mu = models.mu.copy()
    for i, sid in enumerate(models.ids):
        s = steps.get(sid, {})
        if sid in models.learned:
            continue
        mu[i] += shifts.get(f"phase:{s.get('phase')}", 0.0) + shifts.get(
            f"owner:{s.get('owner')}", 0.0
        )
    return replace(models, mu=mu)


def with_reference_prior(
    models: StepModels, history: History | None, mode: str, plan: Mapping[str, Any] | None = None
) -> StepModels:
    """The models with the reference-class prior of tonight's slowdown.

    A playbook with runs of its own: their mean slowdown, held toward the team's by one
    pseudo-run, with _learn's default spread. Without: the team's (or the cold) prior.
    """
    refs = history.reference if history else ()
    mean, sd = reference_prior(refs, mode)
    if plan is not None:
        models = _with_group_shifts(models, plan, refs, mode)
    if own_runs(history) and models.run_effect_runs > 0:
        # The playbook's own mean slowdown and the team's, each weighed by how sure it
        # is: three runs that agree say far more about this plan than the team does;
        # one run, or runs that scatter, leave more to the team (a normal-normal model).
        runs = models.run_effect_runs
        spread = models.run_effect_sd if models.run_effect_sd is not None else TEAM_SD
        spread2 = (SPREAD_PRIOR_RUNS * TEAM_SD**2 + runs * spread**2) / (SPREAD_PRIOR_RUNS + runs)
        own_var = spread2 / runs
        own = (models.run_effect_prior / own_var + mean / sd**2) / (1.0 / own_var + 1.0 / sd**2)
        return replace(models, run_effect_prior=own)
    return replace(models, run_effect_prior=mean, run_effect_prior_sd=sd)

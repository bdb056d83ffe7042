"""Restore-shaped playbooks and their "true" durations under several regimes.

A playbook follows the order of a datacenter restore (power → storage → network →
directory → virtualization → messaging/telephony → applications → sign-off): each step needs
one to three steps of the same or the previous phases. Estimates are a mix of three-point,
single values and missing ones, the way real playbooks are written.

True durations: each step has a persistent offset from its estimate (the plan is wrong in
the same way every time, which history can learn) and per-run noise; the regime then adds
what happens on the night: nothing, everything slower, one phase much slower, a few stuck
steps.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from typing import Any

PHASES = (
    "power",
    "storage",
    "network",
    "directory",
    "virtualization",
    "messaging",
    "telephony",
    "applications",
    "signoff",
)
REGIMES = ("on-plan", "slower", "phase-slow", "stuck")
STEP_OFFSET_SD = 0.3  # how wrong a step's estimate is, persistently
RUN_NOISE_SD = 0.25  # how much one run of a step differs from another


@dataclass(frozen=True)
class Case:
    """A playbook, its true durations for one run, and earlier rehearsals' durations."""

    name: str
    playbook: dict[str, Any]
    truth: dict[str, float]  # step id → seconds in the scored run
    history: list[dict[str, float]]  # earlier rehearsals, oldest first
    regime: str


def _estimate(rng: random.Random, kind: str) -> tuple[Any, float]:
    """(YAML estimate, the true median it stands for before the step's own offset)."""
    likely = rng.choice([60, 120, 300, 600, 900, 1200, 1800, 2700, 3600])
    if kind == "manual":
        likely = max(likely, 300)
    roll = rng.random()
    if roll < 0.5:
        lo = max(10, int(likely * rng.uniform(0.4, 0.8)))
        hi = int(likely * rng.uniform(1.5, 3.0))
        return {"min": f"{lo}s", "likely": f"{likely}s", "max": f"{hi}s"}, likely * 1.1
    if roll < 0.92:
        return f"{likely}s", float(likely)
    return None, 300.0 * rng.uniform(0.3, 3.0)  # no estimate: 5m assumed, reality anything


def playbook(n_steps: int, seed: int) -> tuple[dict[str, Any], dict[str, float]]:
    """A playbook of `n_steps` and each step's true median (before run effects)."""
    rng = random.Random(seed)
    weights = [1, 2, 2, 2, 3, 3, 2, 5, 1]
    counts = [max(1, round(n_steps * w / sum(weights))) for w in weights]
    while sum(counts) > n_steps:
        counts[counts.index(max(counts))] -= 1
    while sum(counts) < n_steps:
        counts[7] += 1
    steps: list[dict[str, Any]] = []
    medians: dict[str, float] = {}
    by_phase: list[list[str]] = []
    for p, (phase, count) in enumerate(zip(PHASES, counts, strict=True)):
        mine: list[str] = []
        for k in range(count):
            sid = f"{phase}-{k + 1:03d}"
            kind = "manual" if phase in ("power", "signoff") or rng.random() < 0.15 else "local"
            pool = mine[-6:] + (by_phase[-1][-12:] if by_phase else [])
            if p >= 2 and by_phase and rng.random() < 0.3:
                pool += by_phase[max(0, p - 3)][:6]
            needs = (
                sorted(set(rng.sample(pool, k=min(len(pool), rng.randint(1, 3))))) if pool else []
            )
            if by_phase and not needs:
                needs = [by_phase[-1][-1]]
            est, median = _estimate(rng, kind)
            step: dict[str, Any] = {"id": sid, "title": f"{phase} step {k + 1}", "phase": phase}
            if needs:
                step["needs"] = needs
            if kind == "manual":
                step["manual"] = f"Confirm {phase} item {k + 1} with the on-site team."
            else:
                step["local"] = True
                step["run"] = "true"
            if est is not None:
                step["estimate"] = est
            steps.append(step)
            medians[sid] = median * math.exp(rng.gauss(0.0, STEP_OFFSET_SD))
            mine.append(sid)
        by_phase.append(mine)
    book = {
        "playbook": f"bench-{n_steps}-{seed}",
        "title": f"Bench restore of {n_steps} steps",
        "defaults": {"timeout": "7d"},  # stuck steps overrun; a timeout would fail them
        "steps": steps,
    }
    return book, medians


def _draw(
    rng: random.Random, medians: dict[str, float], phase_of: dict[str, str], regime: str
) -> dict[str, float]:
    slow_phase = rng.choice(PHASES[1:8])
    ids = sorted(medians)
    stuck = set(rng.sample(ids, k=max(1, len(ids) // 30))) if regime == "stuck" else set()
    out = {}
    for sid in ids:
        d = medians[sid] * math.exp(rng.gauss(0.0, RUN_NOISE_SD))
        if regime == "slower":
            d *= 1.8
        elif regime == "phase-slow" and phase_of[sid] == slow_phase:
            d *= 3.0
        elif sid in stuck:
            d *= rng.uniform(6.0, 12.0)
        out[sid] = round(max(d, 5.0), 1)
    return out


def case(n_steps: int, regime: str, seed: int, rehearsals: int = 3) -> Case:
    """One benchmark case: playbook, the scored run's truth, earlier rehearsals."""
    book, medians = playbook(n_steps, seed)
    phase_of = {s["id"]: s["phase"] for s in book["steps"]}
    rng = random.Random(seed * 7919 + REGIMES.index(regime))
    history = [_draw(rng, medians, phase_of, "on-plan") for _ in range(rehearsals)]
    truth = _draw(rng, medians, phase_of, regime)
    rto = 1.3 * _critical(book, {s: medians[s] for s in medians})
    book["rto"] = f"{int(rto)}s"
    return Case(f"{n_steps}-{regime}-{seed}", book, truth, history, regime)


def _critical(book: dict[str, Any], dur: dict[str, float]) -> float:
    finish: dict[str, float] = {}
    for s in book["steps"]:
        finish[s["id"]] = max((finish[n] for n in s.get("needs", [])), default=0.0) + dur[s["id"]]
    return max(finish.values())

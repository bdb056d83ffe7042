"""The same scoring on truth generators other than generate.py's: is the model tuned to one?

    .venv/bin/python bench/eta/variants.py 20,60,150,300 1 9            # every variant
    .venv/bin/python bench/eta/variants.py 20,60,150,300 1 9 pert mild  # some of them
    .venv/bin/python bench/eta/tune.py ...   # (tune.py's NAME=VALUE overrides work here too)

Variants (same playbooks, other "true" durations):
- base: generate.py's (persistent step offset sd 0.3, run noise sd 0.25).
- pert: the estimate is right on average: a three-point step's duration drawn from the
  beta-PERT between its min and max, a single value ×/÷ noise sd 0.15.
- noisy / quiet: offsets and noise larger (0.5, 0.4) / smaller (0.15, 0.12).
- mild / harsh: the bad nights less / more bad (slower 1.4× / 2.5×, one phase 2× / 4×,
  stuck steps 3-5× / 10-20×).
Each line: P90 coverage per regime (target 0.85-0.95), the P50 error ratio to the best
baseline at 25/50/75% (target ≤ 0.6) and the coverage per checkpoint, all regimes.
"""

from __future__ import annotations

import math
import os
import random
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import checkpoints
import generate
import tune
from generate import PHASES, REGIMES, Case, playbook
from run import _critical
from score import FRACTIONS


def _pert(rng: random.Random, lo: float, likely: float, hi: float) -> float:
    if hi <= lo:
        return likely
    a = 1 + 4 * (likely - lo) / (hi - lo)
    b = 1 + 4 * (hi - likely) / (hi - lo)
    return lo + rng.betavariate(a, b) * (hi - lo)


def _seconds(text: str) -> float:
    return float(text.rstrip("s"))


class Variant:
    """A truth generator: generate.py's with other noise, effects or estimate reading."""

    def __init__(self, name: str, offset_sd: float = 0.3, noise_sd: float = 0.25,
                 slow: float = 1.8, phase: float = 3.0, stuck: tuple[float, float] = (6.0, 12.0),
                 pert: bool = False) -> None:  # fmt: skip
        self.name, self.offset_sd, self.noise_sd = name, offset_sd, noise_sd
        self.slow, self.phase, self.stuck, self.pert = slow, phase, stuck, pert

    def _step(self, rng: random.Random, estimate: Any, median: float) -> float:
        if self.pert and isinstance(estimate, dict):
            lo, likely, hi = (_seconds(estimate[k]) for k in ("min", "likely", "max"))
            return _pert(rng, lo, likely, hi)
        if self.pert and estimate is not None:
            return _seconds(estimate) * math.exp(rng.gauss(0.0, 0.15))
        return median * math.exp(rng.gauss(0.0, self.noise_sd))

    def _draw(self, rng: random.Random, book: dict[str, Any], medians: dict[str, float],
              regime: str) -> dict[str, float]:  # fmt: skip
        steps = {s["id"]: s for s in book["steps"]}
        slow_phase = rng.choice(PHASES[1:8])
        ids = sorted(medians)
        stuck = set(rng.sample(ids, k=max(1, len(ids) // 30))) if regime == "stuck" else set()
        out = {}
        for sid in ids:
            d = self._step(rng, steps[sid].get("estimate"), medians[sid])
            if regime == "slower":
                d *= self.slow
            elif regime == "phase-slow" and steps[sid]["phase"] == slow_phase:
                d *= self.phase
            elif sid in stuck:
                d *= rng.uniform(*self.stuck)
            out[sid] = round(max(d, 5.0), 1)
        return out

    def case(self, n_steps: int, regime: str, seed: int, rehearsals: int = 3) -> Case:
        saved = generate.STEP_OFFSET_SD
        generate.STEP_OFFSET_SD = 0.0 if self.pert else self.offset_sd
        try:
            book, medians = playbook(n_steps, seed)
        finally:
            generate.STEP_OFFSET_SD = saved
        rng = random.Random(seed * 7919 + REGIMES.index(regime))
        history = [self._draw(rng, book, medians, "on-plan") for _ in range(rehearsals)]
        truth = self._draw(rng, book, medians, regime)
        book["rto"] = f"{int(1.3 * _critical(book, dict(medians)))}s"
        return Case(f"{n_steps}-{regime}-{seed}", book, truth, history, regime)


VARIANTS = {
    v.name: v
    for v in (
        Variant("base"),
        Variant("pert", pert=True),
        Variant("noisy", offset_sd=0.5, noise_sd=0.4),
        Variant("quiet", offset_sd=0.15, noise_sd=0.12),
        Variant("mild", slow=1.4, phase=2.0, stuck=(3.0, 5.0)),
        Variant("harsh", slow=2.5, phase=4.0, stuck=(10.0, 20.0)),
    )
}


def score(variant: Variant, sizes: list[int], seeds: range) -> str:
    """One line: coverage per regime, error ratios, coverage per checkpoint."""
    checkpoints.case = variant.case
    checkpoints.CACHE = Path(tempfile.gettempdir()) / f"runbook-eta-variants-v1-{variant.name}"
    checkpoints.CACHE.mkdir(exist_ok=True)
    rows = checkpoints.evaluate(sizes, seeds, verbose=False)
    med, mean = statistics.median, statistics.mean
    names = list(rows[0]["berr"])

    def ratio(f: float) -> float:
        at = [x for x in rows if x["f"] == f]
        return med(x["err"] for x in at) / min(med(x["berr"][m] for x in at) for m in names)

    cov = " ".join(f"{mean(x['cov'] for x in rows if x['r'] == r):.3f}" for r in REGIMES)
    ratios = " ".join(f"{ratio(f):.2f}" for f in (0.25, 0.5, 0.75))
    by_f = " ".join(f"{mean(x['cov'] for x in rows if x['f'] == f):.2f}" for f in FRACTIONS)
    return f"{variant.name:6s} cov {cov}   ratio {ratios}   by checkpoint {by_f}"


if __name__ == "__main__":
    args = [a for a in sys.argv[1:] if "=" not in a]
    for kv in (a for a in sys.argv[1:] if "=" in a):
        k, v = kv.split("=")
        tune.override(k, tuple(float(x) for x in v.split(",")) if "," in v else float(v))
    sizes = [int(x) for x in args[0].split(",")]
    seeds = range(int(args[1]), int(args[2]))
    print("coverage per regime: " + " ".join(REGIMES))
    for name in args[3:] or list(VARIANTS):
        print(score(VARIANTS[name], sizes, seeds), flush=True)

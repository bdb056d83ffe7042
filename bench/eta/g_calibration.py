"""Is the run-wide slowdown's posterior as wide as its error? At each checkpoint,
z = (posterior mean of g − the night's g over all its steps) / posterior sd of g.

    .venv/bin/python bench/eta/g_calibration.py 60,150 9 17 team,team-night,team-rough

The night's g is the mean over every step of log(true work / modelled median); it carries
its own error (about 0.4 / sqrt(steps): 0.05 at 60 steps), which makes |z| larger. A
calibrated posterior has a median |z| of 0.67 and |z| > 1.645 one time in ten.
"""

import math
import os
import statistics
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import checkpoints
import team
from score import FRACTIONS

from runbook.forecast import _montecarlo as mc

SEEN: dict[str, object] = {}
_learn = mc.learn


def _learn_spy(*a, **k):
    SEEN["post"] = _learn(*a, **k)
    return SEEN["post"]


mc.learn = _learn_spy

if __name__ == "__main__":
    sizes = [int(x) for x in sys.argv[1].split(",")]
    seeds = range(int(sys.argv[2]), int(sys.argv[3]))
    print("world        runs   per checkpoint: median |z|, share |z| > 1.645, posterior sd")
    for w in sys.argv[4].split(","):
        zs: dict[float, list[float]] = {f: [] for f in FRACTIONS}
        sds: dict[float, list[float]] = {f: [] for f in FRACTIONS}
        for n in sizes:
            for s in seeds:
                truth = team.case(n, w, s).truth
                d = checkpoints.prepared(n, w, s)
                fc = mc.MonteCarloForecaster(d["plan"], checkpoints.history_of(d), mode=d["mode"])
                idx = fc.graph.index
                res = [math.log(max(v, 1.0)) - fc.models.mu[idx[k]] for k, v in truth.items()]
                g_night = float(np.mean(res))
                for f, now, obs, _ in d["cps"]:
                    fc._last = None
                    fc.forecast_observed(obs, now)
                    post = SEEN["post"]
                    sd = float(post.chol[0, 0])
                    zs[f].append((float(post.mean[0]) - g_night) / sd)
                    sds[f].append(sd)
        cols = "  ".join(
            f"{f:.2f}: {statistics.median(abs(z) for z in zs[f]):.2f} "
            f"{np.mean([abs(z) > 1.645 for z in zs[f]]):.2f} {statistics.median(sds[f]):.3f}"
            for f in FRACTIONS
        )
        print(f"{w:12s} {len(zs[0.1]):4d}   {cols}", flush=True)

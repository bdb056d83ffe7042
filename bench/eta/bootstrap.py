"""How sure each world's figures are: 90% intervals by resampling runs.

    .venv/bin/python bench/eta/checkpoints.py 20,60,150,300 1 9 --save=rows.pkl
    .venv/bin/python bench/eta/bootstrap.py rows.pkl

A run's five checkpoints are resampled together (they are not independent). With 32 runs
per world, one run more or less outside the band moves a world's P90 coverage by up to
0.03: the intervals say which misses of the 0.85-0.95 target are more than that.
"""

import os
import pickle
import random
import statistics
import sys
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from checkpoints import WORLDS

DRAWS = 400


def figures(rows):
    """P90 coverage over the five checkpoints, median signed error at 10% and 25%."""
    cov = statistics.mean(float(x["cov"]) for x in rows)
    b10 = statistics.median(x["signed"] for x in rows if x["f"] == 0.10)
    b25 = statistics.median(x["signed"] for x in rows if x["f"] == 0.25)
    return cov, b10, b25


def main(path):
    rows = pickle.loads(Path(path).read_bytes())
    rng = random.Random(1)
    for world in WORLDS:
        runs = {}
        for x in rows:
            if x["r"] == world:
                runs.setdefault((x["n"], x["s"]), []).append(x)
        keys = list(runs)
        if not keys:
            continue
        base = figures([x for k in keys for x in runs[k]])
        draws = [figures([x for _ in keys for x in runs[rng.choice(keys)]]) for _ in range(DRAWS)]
        lo, hi = int(0.05 * DRAWS), int(0.95 * DRAWS) - 1
        parts = []
        for i, name in enumerate(("cov", "bias 10%", "bias 25%")):
            v = sorted(d[i] for d in draws)
            parts.append(f"{name} {base[i]:+.3f} [{v[lo]:+.3f}, {v[hi]:+.3f}]")
        print(f"{world:11s} runs {len(keys):3d}  " + "  ".join(parts))


if __name__ == "__main__":
    main(sys.argv[1])

"""How far any forecaster can beat the best baseline where the plan is right on average.

    .venv/bin/python bench/eta/oracle.py 20,60,150,300 1 9

In generate.py's on-plan and stuck worlds every step has a true median (its estimate
times a persistent offset) and tonight's draw around it; no run-wide or phase effect,
and the stuck steps are picked at random. The oracle here knows every step's TRUE median
(what no forecaster can know) and only not tonight's draws: the critical-path
re-projection at those medians (done steps done, running ones at their median less their
elapsed time). Its P50 error against the best baseline's (median over the runs, per
checkpoint, as checkpoints.py computes the ratio) is a floor for the per-world ratio: where
it is above 0.6, the issue's "≤ 0.6× the best baseline" cannot be met in that world.
"""

import os
import statistics
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import checkpoints
import generate
from baselines import critical_path
from score import FRACTIONS


def oracle_ratios(world, sizes, seeds):
    rows = []
    for n in sizes:
        for s in seeds:
            d = checkpoints.prepared(n, world, s)
            _, medians = generate.playbook(n, s)
            steps = [
                dict(st, estimate=dict(st["estimate"], likely_s=medians[st["id"]]))
                for st in d["plan"]["steps"]
            ]
            eta = critical_path({"steps": steps})
            for f, now, obs, berr in d["cps"]:
                rows.append((f, abs(eta(obs, now) - d["end"]) / d["T"], berr))
    out = []
    for f in FRACTIONS:
        at = [(e, b) for g, e, b in rows if g == f]
        best = min(statistics.median(b[m] for _, b in at) for m in at[0][1])
        out.append(statistics.median(e for e, _ in at) / best)
    return out, len(rows) // len(FRACTIONS)


if __name__ == "__main__":
    sizes = [int(x) for x in sys.argv[1].split(",")]
    seeds = range(int(sys.argv[2]), int(sys.argv[3]))
    for world in ("on-plan", "stuck"):
        ratios, n = oracle_ratios(world, sizes, seeds)
        print(f"{world:8s} runs {n}  oracle / best baseline at 10/25/50/75/90%: ", end="")
        print(" ".join(f"{r:.2f}" for r in ratios))

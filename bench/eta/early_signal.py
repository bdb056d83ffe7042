"""Does anything seen early tell a troubled night from a calm one? Candidate signals at a
checkpoint (10% of the true duration unless told), per world and night, and how well each
separates team-rough's stuck / phase-slow nights from the calm live nights (AUC), and the
runs whose P50 is early by more than 0.10 from the others.

    .venv/bin/python bench/eta/early_signal.py 20,60,150 9 17
    .venv/bin/python bench/eta/early_signal.py 20,60,150,300 1 9 --at=0.25

Signals: finished steps (nfin), the spread of their log(work / modelled median) (sd) and
its mean (ymean), the largest standardized residual (zmax), running steps past their P90
(over) and the largest running step's standardized elapsed time (runmax), the learned
P(troubled night) (troubled) and slowdown move from the prior (dg), operator waits seen
(nwait) and their median (wmed). An AUC of 0.5 is no separation; with 12–16 troubled runs
against 30–40 calm ones, its sampling error is about ±0.09.
"""

import math
import os
import statistics
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import checkpoints
from generate import REGIMES

from runbook.forecast import _montecarlo as mc
from runbook.forecast._observe import DONE, RUNNING

SEEN: dict[str, object] = {}
_learn = mc.learn
KEYS = ("nfin", "sd", "ymean", "zmax", "over", "runmax", "troubled", "dg", "nwait", "wmed")
WORLDS = ("team-night", "team-rough")


def _learn_spy(*a, **k):
    SEEN["post"] = _learn(*a, **k)
    return SEEN["post"]


mc.learn = _learn_spy


def signals(n, world, seed, at):
    d = checkpoints.prepared(n, world, seed)
    fc = mc.MonteCarloForecaster(d["plan"], checkpoints.history_of(d), mode=d["mode"])
    m, idx = fc.models, fc.graph.index
    _, now, obs, _ = next(c for c in d["cps"] if abs(c[0] - at) < 1e-9)
    fo = fc.forecast_observed(obs, now)
    post = SEEN["post"]

    def fit(i):
        return m.mu[i] + post.mean[0] + post.mean[1 + m.phase[i]]

    fin = [
        (idx[s], so.work_s)
        for s, so in obs.steps.items()
        if so.category == DONE and so.work_s and s in idx
    ]
    y = np.array([math.log(max(w, 1.0)) - m.mu[i] for i, w in fin])
    z = np.array([(math.log(max(w, 1.0)) - fit(i)) / m.sigma[i] for i, w in fin])
    run = [
        (math.log(max(now - so.started, 1.0)) - fit(idx[s])) / m.sigma[idx[s]]
        for s, so in obs.steps.items()
        if so.category == RUNNING and so.started is not None and s in idx and not so.unclaimed
    ]
    waits = [so.wait_s for so in obs.steps.values() if so.wait_s is not None]
    night = REGIMES[seed % len(REGIMES)] if world.endswith("rough") else "on-plan"
    return dict(
        world=world,
        night="calm" if night == "on-plan" else night,
        nfin=len(fin),
        sd=float(y.std()) if len(y) > 1 else math.nan,
        ymean=float(y.mean()) if len(y) else math.nan,
        zmax=float(z.max()) if len(z) else math.nan,
        over=sum(x > 1.2816 for x in run),
        runmax=max(run, default=0.0),
        troubled=post.troubled,
        dg=float(post.mean[0] - m.run_effect_prior),
        nwait=len(waits),
        wmed=statistics.median(waits) if waits else math.nan,
        signed=(fo.p50_ts - d["end"]) / d["T"],
    )


def auc(a, b):
    a, b = [x for x in a if x == x], [x for x in b if x == x]
    if not a or not b:
        return math.nan
    return sum((x > y) + 0.5 * (x == y) for x in a for y in b) / (len(a) * len(b))


def report(rows, at):
    groups: dict[tuple[str, str], list[dict]] = {}
    for r in rows:
        groups.setdefault((r["world"], r["night"]), []).append(r)
    print(f"at {at:.2f}: medians per world and night")
    print(f"{'':22s} runs " + " ".join(f"{k:>8s}" for k in (*KEYS, "signed")))
    for (w, night), rr in sorted(groups.items()):
        vals = []
        for k in (*KEYS, "signed"):
            v = [x[k] for x in rr if x[k] == x[k]]
            vals.append(f"{statistics.median(v) if v else math.nan:8.3f}")
        print(f"{w + ' ' + night:22s} {len(rr):4d} " + " ".join(vals))
    bad = [r for r in rows if r["night"] in ("stuck", "phase-slow")]
    calm = [r for r in rows if r["night"] == "calm"]
    early = [r for r in rows if r["signed"] < -0.10]
    rest = [r for r in rows if r["signed"] >= -0.10]
    print(
        f"AUC: troubled ({len(bad)}) vs calm ({len(calm)}); "
        f"P50 early by >0.10 ({len(early)}) vs not"
    )
    for k in KEYS:
        a1 = auc([x[k] for x in bad], [x[k] for x in calm])
        a2 = auc([x[k] for x in early], [x[k] for x in rest])
        print(f"  {k:9s} {a1:.2f}  {a2:.2f}")
    for night in ("calm", "slower", "phase-slow", "stuck"):
        rr = [r for r in rows if r["night"] == night]
        print(
            f"  {night:10s} {len(rr):3d} runs, with a running step past its P90: "
            f"{sum(r['over'] > 0 for r in rr)}"
        )


if __name__ == "__main__":
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    at = next((float(a.split("=")[1]) for a in sys.argv if a.startswith("--at=")), 0.10)
    sizes = [int(x) for x in args[0].split(",")]
    seeds = range(int(args[1]), int(args[2]))
    rows = [signals(n, w, s, at) for w in WORLDS for n in sizes for s in seeds]
    report(rows, at)

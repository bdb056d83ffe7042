"""Which part of the model carries a team world's band: our P50 / P90 of the remaining
time against coverage_floor.py's oracle, per checkpoint, with parts of the model removed.

    .venv/bin/python bench/eta/band_parts.py team-night 20,60,150 9 17
    .venv/bin/python bench/eta/band_parts.py team-night 20,60,150 9 17 calm,gfix

Parts (comma-separated, any mix): `calm` (tonight is known calm: no troubled nights),
`gfix` (the run and phase slowdowns at their posterior mean, no spread), `nolat` (no
operator latency), `truelat` (team.py's true latency instead of the learned one).
Columns: P90 coverage (ours, the oracle's); the median ratio of our P90 − P50 to the
oracle's and of our P50 to its; then the median of what the model learned: P(troubled
night), the run-wide slowdown g (log) and its posterior sd, the noise scale, the latency.
"""

import math
import os
import statistics
import sys
from dataclasses import replace

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import checkpoints
import coverage_floor as cf
import team
from score import FRACTIONS

from runbook.forecast import _montecarlo as mc
from runbook.forecast._latency import Latency

PARTS: set[str] = set()
SEEN: dict[str, object] = {}
_learn, _latency = mc.learn, mc.MonteCarloForecaster._latency


def _learn_spy(*a, **k):
    post = _learn(*a, **k)
    SEEN["post"] = post
    if "calm" in PARTS:
        post = replace(post, troubled=0.0)
    if "gfix" in PARTS:
        post = replace(post, chol=np.zeros_like(post.chol), parts=())
    return post


def _latency_spy(self, obs):
    lat = _latency(self, obs)
    SEEN["lat"] = lat
    if "nolat" in PARTS:
        return None
    if "truelat" in PARTS and lat is not None:
        return Latency(team.WAIT_ZERO, team.WAIT_LOG[0], team.WAIT_LOG[1])
    return lat


mc.learn = _learn_spy
mc.MonteCarloForecaster._latency = _latency_spy


def rows_of(world, sizes, seeds):
    rows = []
    for n in sizes:
        for s in seeds:
            orc = [(p50, p90) for _, _, p50, p90 in cf.bands(world, n, s)]
            d = checkpoints.prepared(n, world, s)
            fc = mc.MonteCarloForecaster(d["plan"], checkpoints.history_of(d), mode=d["mode"])
            for (f, now, obs, _), (o50, o90) in zip(d["cps"], orc, strict=True):
                fc._last = None
                fo = fc.forecast_observed(obs, now)
                post, lat = SEEN["post"], SEEN.get("lat")
                rows.append(
                    dict(
                        f=f,
                        left=d["end"] - now,
                        r50=fo.remaining_p50_s,
                        r90=fo.remaining_p90_s,
                        o50=o50,
                        o90=o90,
                        troubled=post.troubled,
                        g=float(post.mean[0]),
                        g_sd=float(post.chol[0, 0]),
                        noise=post.noise_scale,
                        q0=lat.q0 if lat else math.nan,
                        wait=math.exp(lat.log_median) if lat else math.nan,
                        wait_sd=lat.sd if lat else math.nan,
                    )
                )
    return rows


def report(world, rows):
    med, mean = statistics.median, statistics.mean
    print(f"{world} {','.join(sorted(PARTS)) or '(whole model)'}: {len(rows) // 5} runs")
    print("  at    cov  oracle  width/oracle  P50/oracle  troubled  g  g_sd  noise  q0 wait sd")
    for f in FRACTIONS:
        rr = [x for x in rows if x["f"] == f]
        cov = mean(float(x["left"] <= x["r90"] + 1e-3) for x in rr)
        ocov = mean(float(x["left"] <= x["o90"] + 1e-3) for x in rr)
        width = med((x["r90"] - x["r50"]) / max(x["o90"] - x["o50"], 1e-9) for x in rr)
        p50 = med(x["r50"] / max(x["o50"], 1e-9) for x in rr)
        learned = " ".join(
            f"{med(x[k] for x in rr):{fmt}}"
            for k, fmt in (
                ("troubled", ".2f"),
                ("g", ".2f"),
                ("g_sd", ".3f"),
                ("noise", ".2f"),
                ("q0", ".2f"),
                ("wait", ".0f"),
                ("wait_sd", ".2f"),
            )
        )
        print(f"  {f:.2f} {cov:.2f}  {ocov:.2f}    {width:5.2f}        {p50:.2f}     {learned}")
    covs = [
        mean(float(x["left"] <= x["r90"] + 1e-3) for x in rows if x["f"] == f) for f in FRACTIONS
    ]
    print(f"  all  {mean(covs):.3f}", flush=True)


if __name__ == "__main__":
    world = sys.argv[1]
    sizes = [int(x) for x in sys.argv[2].split(",")]
    seeds = range(int(sys.argv[3]), int(sys.argv[4]))
    PARTS.update(p for p in (sys.argv[5].split(",") if len(sys.argv) > 5 else []) if p)
    report(world, rows_of(world, sizes, seeds))

"""Fast tuning: each case's event stream is simulated once and cached; a model change then
costs only the five checkpoint forecasts per case (same scoring as run.py's sim backend).

    .venv/bin/python bench/eta/checkpoints.py 20,60,150,300 1 21     # sizes, seeds [1, 21)
    .venv/bin/python bench/eta/checkpoints.py 20,60 1 5 --stability  # + P50 movement (slow)
"""

import os
import pickle
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import ClassVar

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import simrun
from baselines import all_baselines
from generate import REGIMES, case
from run import _critical
from score import FRACTIONS

from runbook.clock import parse_iso
from runbook.forecast._model import History, PastRun
from runbook.forecast._observe import observe_state
from runbook.forecast._simple import Forecast

CACHE = Path(tempfile.gettempdir()) / "runbook-eta-checkpoints-v2"  # v2: engine ETA schedule
CACHE.mkdir(exist_ok=True)


class Recorder:
    calls: ClassVar[list[tuple[float, object]]] = []

    def __init__(self, plan, hist, mode=None):
        Recorder.calls = []

    def forecast(self, state, now):
        Recorder.calls.append((now, observe_state(state)))
        return Forecast(now, now, 0, 0, (), None, "x")


def prepared(n, regime, seed):
    path = CACHE / f"{n}-{regime}-{seed}.pkl"
    if path.exists():
        return pickle.loads(path.read_bytes())
    c = case(n, regime, seed)
    real = simrun.MonteCarloForecaster
    simrun.MonteCarloForecaster = Recorder
    try:
        events = simrun.rehearse(c.playbook, c.truth, c.history)
    finally:
        simrun.MonteCarloForecaster = real
    start = parse_iso(events[0]["ts"])
    plan = events[0]["data"]["plan"]
    end = max(parse_iso(e["ts"]) for e in events if e["type"].startswith("step_"))
    T = max(end - start, 1.0)
    totals = [_critical(c.playbook, h) for h in c.history]
    bl = all_baselines(plan, start, totals)
    cps = []
    for f in FRACTIONS:
        t = start + f * T
        cur = Recorder.calls[0]
        for entry in Recorder.calls:
            if entry[0] > t:
                break
            cur = entry
        now, obs = cur
        berr = {name: abs(fn(obs, now) - end) / T for name, fn in bl.items()}
        cps.append((f, now, obs, berr))
    d = dict(plan=plan, history=c.history, start=start, end=end, T=T, cps=cps, calls=Recorder.calls)
    path.write_bytes(pickle.dumps(d))
    return d


def movement(d, fc):
    """Total P50 movement over every `eta` of the run, in units of its true duration."""
    total, last = 0.0, None
    for now, obs in d["calls"]:
        fc._last = None
        p50 = fc.forecast_observed(obs, now).p50_ts
        if last is not None:
            total += abs(p50 - last)
        last = p50
    return total / d["T"]


def evaluate(sizes, seeds, regimes=REGIMES, make=None, verbose=True, stability=False):
    from runbook.forecast._montecarlo import MonteCarloForecaster

    rows = []
    t0 = time.perf_counter()
    for n in sizes:
        for r in regimes:
            for s in seeds:
                d = prepared(n, r, s)
                hist = History(
                    tuple(PastRun(f"h{i}", "rehearsal", h) for i, h in enumerate(d["history"]))
                )
                fc = (make or MonteCarloForecaster)(d["plan"], hist, mode="rehearsal")
                mov = movement(d, fc) if stability else float("nan")
                for f, now, obs, berr in d["cps"]:
                    fc._last = None
                    fo = fc.forecast_observed(obs, now)
                    rows.append(
                        dict(
                            n=n,
                            r=r,
                            s=s,
                            f=f,
                            err=abs(fo.p50_ts - d["end"]) / d["T"],
                            cov=d["end"] <= fo.p90_ts + 1e-3,
                            berr=berr,
                            rel=(d["end"] - now) / max(fo.p90_ts - now, 1e-9),
                            rel50=(d["end"] - now) / max(fo.p50_ts - now, 1e-9),
                            mov=mov,
                            etas=len(d["calls"]),
                        )
                    )
    secs = time.perf_counter() - t0
    if verbose:
        report(rows, secs)
    return rows


def report(rows, secs=0.0):
    med = statistics.median
    print(f"cases {len(rows) // 5}  {secs:.0f}s")
    names = list(rows[0]["berr"])
    ours = {f: med(x["err"] for x in rows if x["f"] == f) for f in FRACTIONS}
    best = {
        f: min(med(x["berr"][m] for x in rows if x["f"] == f) for m in names) for f in FRACTIONS
    }
    print(
        "err   "
        + " ".join(f"{ours[f]:.3f}" for f in FRACTIONS)
        + "   ratio "
        + " ".join(f"{ours[f] / best[f]:.2f}" for f in FRACTIONS)
    )
    first = [x for x in rows if x["f"] == FRACTIONS[0]]
    if first and first[0]["mov"] == first[0]["mov"]:  # not NaN: stability was measured
        by = {r: med(x["mov"] for x in first if x["r"] == r) for r in REGIMES}
        print(
            f"stability {med(x['mov'] for x in first):.2f}  "
            + " ".join(f"{r[:5]}:{v:.2f}" for r, v in by.items())
            + f"   etas/run {med(x['etas'] for x in first):.0f}"
        )
    for r in REGIMES:
        rr = [x for x in rows if x["r"] == r]
        if not rr:
            continue
        cov = [statistics.mean(x["cov"] for x in rr if x["f"] == f) for f in FRACTIONS]
        e = [med(x["err"] for x in rr if x["f"] == f) for f in FRACTIONS]
        print(
            f"{r:10s} cov "
            + " ".join(f"{c:.2f}" for c in cov)
            + f" | {statistics.mean(cov):.3f}   err "
            + " ".join(f"{v:.3f}" for v in e)
        )
    for n in sorted({x["n"] for x in rows}):
        rr = [x for x in rows if x["n"] == n]
        print(
            f"n={n:5d} cov {statistics.mean(x['cov'] for x in rr):.3f} "
            + " ".join(
                f"{r[:5]}:{statistics.mean(x['cov'] for x in rr if x['r'] == r):.2f}"
                for r in REGIMES
                if any(x["r"] == r for x in rr)
            )
        )


if __name__ == "__main__":
    sizes = [int(x) for x in sys.argv[1].split(",")]
    seeds = range(int(sys.argv[2]), int(sys.argv[3]))
    evaluate(sizes, seeds, stability="--stability" in sys.argv)

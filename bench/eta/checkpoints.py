"""Fast tuning: each case's event stream is simulated once and cached; a model change then
costs only the five checkpoint forecasts per case (same scoring as run.py's sim backend).

    .venv/bin/python bench/eta/checkpoints.py 20,60,150,300 1 21     # sizes, seeds [1, 21)
    .venv/bin/python bench/eta/checkpoints.py 20,60 1 5 --stability  # + P50 movement (slow)
    .venv/bin/python bench/eta/checkpoints.py 20,60 1 5 --save=rows.pkl  # rows for bootstrap.py
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
import team
from baselines import all_baselines
from generate import REGIMES, case as _old_case
from run import _critical
from score import FRACTIONS

from runbook.clock import parse_iso
from runbook.forecast._model import History, PastRun
from runbook.forecast._observe import observe_state
from runbook.forecast._simple import Forecast

CACHE = (
    Path(tempfile.gettempdir()) / "runbook-eta-checkpoints-v3"
)  # v3: reference runs per phase, owner
CACHE.mkdir(exist_ok=True)


class Recorder:
    calls: ClassVar[list[tuple[float, object]]] = []

    def __init__(self, plan, hist, mode=None):
        Recorder.calls = []

    def forecast(self, state, now):
        Recorder.calls.append((now, observe_state(state)))
        return Forecast(now, now, 0, 0, (), None, "x")


WORLDS = REGIMES + team.WORLDS


def case(n, world, seed):
    """generate.py's worlds (plans right on average) or team.py's (every plan optimistic)."""
    return team.case(n, world, seed) if world in team.WORLDS else _old_case(n, world, seed)


def prepared(n, regime, seed):
    path = CACHE / f"{n}-{regime}-{seed}.pkl"
    if path.exists():
        return pickle.loads(path.read_bytes())
    c = case(n, regime, seed)
    real = simrun.MonteCarloForecaster
    simrun.MonteCarloForecaster = Recorder
    mode = getattr(c, "mode", "rehearsal")
    try:
        events = simrun.rehearse(
            c.playbook, c.truth, c.history, waits=getattr(c, "waits", None), mode=mode
        )
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
    d.update(mode=mode, hist=getattr(c, "hist", None))
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


def history_of(d):
    """The forecaster's History of a prepared case: its own rehearsals or the team's runs."""
    if d.get("hist") is not None:
        return d["hist"]
    return History(tuple(PastRun(f"h{i}", "rehearsal", h) for i, h in enumerate(d["history"])))


def first_warning(d, fc):
    """When P(miss RTO) first passed 50% over every `eta` of the run (None: never)."""
    for now, obs in d["calls"]:
        fc._last = None
        risk = fc.forecast_observed(obs, now).rto_risk
        if risk is not None and risk > 0.5:
            return now
    return None


def evaluate(sizes, seeds, regimes=WORLDS, make=None, verbose=True, stability=False, warn_max=0):
    """Five checkpoints per case; `warn_max`: scan every ETA for the RTO warning on plans
    of up to this many steps (slow: a forecast per transition)."""
    from runbook.forecast._montecarlo import MonteCarloForecaster

    rows = []
    t0 = time.perf_counter()
    for n in sizes:
        for r in regimes:
            for s in seeds:
                d = prepared(n, r, s)
                mode = d.get("mode", "rehearsal")
                fc = (make or MonteCarloForecaster)(d["plan"], history_of(d), mode=mode)
                mov = movement(d, fc) if stability else float("nan")
                rto = d["plan"].get("rto_s")
                warned = first_warning(d, fc) if rto and n <= warn_max else None
                missed = bool(rto) and d["end"] - d["start"] > rto
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
                            signed=(fo.p50_ts - d["end"]) / d["T"],
                            missed=missed,
                            scanned=bool(rto) and n <= warn_max,
                            warned=warned is not None,
                            lead=None if warned is None else (d["start"] + rto - warned) / d["T"],
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


def world_line(rr):
    """One world's figures: coverage, bias, error ratio to the best baseline, warning."""
    med, mean = statistics.median, statistics.mean
    names = list(rr[0]["berr"])
    cov = [mean(x["cov"] for x in rr if x["f"] == f) for f in FRACTIONS]
    bias = [med(x["signed"] for x in rr if x["f"] == f) for f in (0.10, 0.25)]

    def ratio(f):
        at = [x for x in rr if x["f"] == f]
        return med(x["err"] for x in at) / max(
            min(med(x["berr"][m] for x in at) for m in names), 1e-9
        )

    first = [x for x in rr if x["f"] == FRACTIONS[0] and x["scanned"]]
    leads = [x["lead"] if x["warned"] else float("-inf") for x in first if x["missed"]]
    false = [x["warned"] for x in first if not x["missed"]]
    lead = f"{med(leads):.2f}" if leads else "-"
    warn = f"lead {lead} (n={len(leads)}) false {sum(false)}/{len(false)}"
    err = " ".join(f"{med(x['err'] for x in rr if x['f'] == f):.3f}" for f in FRACTIONS)
    return (
        f"cov {' '.join(f'{c:.2f}' for c in cov)} | {mean(cov):.3f}  "
        f"bias {bias[0]:+.3f} {bias[1]:+.3f}  "
        f"err {err}  "
        f"ratio {' '.join(f'{ratio(f):.2f}' for f in (0.25, 0.5, 0.75))}  {warn}"
    )


def report(rows, secs=0.0):
    med = statistics.median
    print(f"cases {len(rows) // 5}  {secs:.0f}s  (load {os.getloadavg()[0]:.1f})")
    names = list(rows[0]["berr"])
    ours = {f: med(x["err"] for x in rows if x["f"] == f) for f in FRACTIONS}
    best = {
        f: min(med(x["berr"][m] for x in rows if x["f"] == f) for m in names) for f in FRACTIONS
    }
    print(
        "all        err "
        + " ".join(f"{ours[f]:.3f}" for f in FRACTIONS)
        + "   ratio "
        + " ".join(f"{ours[f] / best[f]:.2f}" for f in FRACTIONS)
    )
    first = [x for x in rows if x["f"] == FRACTIONS[0]]
    if first and first[0]["mov"] == first[0]["mov"]:  # not NaN: stability was measured
        print(f"stability {med(x['mov'] for x in first):.2f}")
    for r in WORLDS:
        rr = [x for x in rows if x["r"] == r]
        if rr:
            print(f"{r:10s} n={len(rr) // 5:3d} " + world_line(rr), flush=True)


if __name__ == "__main__":
    sizes = [int(x) for x in sys.argv[1].split(",")]
    seeds = range(int(sys.argv[2]), int(sys.argv[3]))
    worlds = next(
        (a.split("=")[1].split(",") for a in sys.argv if a.startswith("--worlds=")), WORLDS
    )
    warn = next((int(a.split("=")[1]) for a in sys.argv if a.startswith("--warn=")), 0)
    rows = evaluate(sizes, seeds, worlds, stability="--stability" in sys.argv, warn_max=warn)
    save = next((a.split("=", 1)[1] for a in sys.argv if a.startswith("--save=")), None)
    if save:  # for bench/eta/bootstrap.py
        Path(save).write_bytes(pickle.dumps(rows))

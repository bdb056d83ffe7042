"""What P90 coverage a forecaster that knew tonight's generator would get in the calm
team worlds, scored like checkpoints.py (at fractions of the true duration).

    .venv/bin/python bench/eta/coverage_floor.py 20,60,150,300 1 9 team,team-night

The oracle knows each step's TRUE median tonight (its plan offset × the team's and the
playbook's factor, × the phase's in team-phases), the true run noise (sd 0.25) and the
true operator waits (team.py's), and nothing of tonight's draws: running steps are
conditioned on their elapsed time, an unclaimed manual step is either still waiting or
worked on without a claim (a wait of 0), as the truth makes them. What it covers is what
calibration means in that world; the forecaster cannot know the night is calm, so it
keeps room for the troubled nights of the rough worlds (the same prior information).
"""

import math
import os
import statistics
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import checkpoints
import generate
import team
from score import FRACTIONS

from runbook.forecast._normal import log_survival, upper_ppf
from runbook.forecast._observe import DONE, RUNNING
from runbook.forecast._sim import Graph, simulate

SAMPLES = 2000
rng = np.random.default_rng(3)
_seen = {}
_run = team._run


def _spy(r, medians, factor, phase=None):
    """team._run, remembering its last call: the scored playbook's medians and factor."""
    _seen["last"] = (dict(medians), factor, phase)
    return _run(r, medians, factor, phase)


team._run = _spy


def _waits(k):
    w = np.exp(team.WAIT_LOG[0] + team.WAIT_LOG[1] * rng.standard_normal(k))
    return np.where(rng.random(k) < team.WAIT_ZERO, 0.0, np.minimum(w, team.WAIT_MAX_S))


def _noise(shape):
    return np.exp(generate.RUN_NOISE_SD * rng.standard_normal(shape))


def _running(med, elapsed, unclaimed):
    """Remaining time of a running step (its true median `med`), given its elapsed time."""
    if not unclaimed:  # the work's upper tail past `elapsed`, by inversion
        a = (math.log(max(elapsed, 1e-9)) - math.log(med)) / generate.RUN_NOISE_SD
        q = float(np.exp(log_survival(np.array([a])))[0])
        z = upper_ppf(np.maximum(rng.random(SAMPLES) * q, 1e-300))
        return np.maximum(med * np.exp(generate.RUN_NOISE_SD * z) - elapsed, 0.0)
    # still waiting (the rest of the wait, then the work) or worked on without a claim
    got = []
    for _ in range(200):
        work, wait = med * _noise(20 * SAMPLES), _waits(20 * SAMPLES)
        ok = (wait > elapsed) | ((wait == 0.0) & (work > elapsed))
        got.append(np.where(wait > elapsed, wait - elapsed + work, work - elapsed)[ok])
        if sum(len(x) for x in got) >= SAMPLES:
            break
    pool = np.concatenate(got)
    return rng.choice(pool, SAMPLES) if len(pool) else np.zeros(SAMPLES)


def bands(world, n, seed):
    """(fraction, remaining time, oracle P50, oracle P90) at each checkpoint of one run."""
    c = team.case(n, world, seed)
    medians, factor, phase = _seen["last"]
    d = checkpoints.prepared(n, world, seed)
    g = Graph.from_plan(d["plan"])
    live = c.mode == "live"
    manual = {s["id"]: "manual" in s for s in c.playbook["steps"]}
    med = np.array(
        [medians[s] * factor * (phase or {}).get(s.rsplit("-", 1)[0], 1.0) for s in g.ids]
    )
    out = []
    for f, now, obs, _ in d["cps"]:
        cats = [obs.steps[s].category if s in obs.steps else "todo" for s in g.ids]
        done = np.array([k == DONE for k in cats])
        durations = med[:, None] * _noise((len(g.ids), SAMPLES))
        fixed = {}
        for i, s in enumerate(g.ids):
            if cats[i] == RUNNING:
                so = obs.steps[s]
                unclaimed = live and so.unclaimed and manual[s]
                fixed[i] = _running(med[i], max(now - so.started, 0.0), unclaimed)
            elif live and manual[s] and cats[i] != DONE:
                durations[i] += _waits(SAMPLES)
        res = simulate(g, durations, fixed, done, np.full(SAMPLES, 1.0 / SAMPLES), None, False)
        p50, p90 = np.quantile(res.end, [0.5, 0.9])
        out.append((f, d["end"] - now, float(p50), float(p90)))
    return out


def oracle(world, n, seed):
    """(fraction, covered by P90, under P50) at each checkpoint of one run."""
    return [
        (f, float(left <= p90 + 1e-3), float(left <= p50))
        for f, left, p50, p90 in bands(world, n, seed)
    ]


if __name__ == "__main__":
    sizes = [int(x) for x in sys.argv[1].split(",")]
    seeds = range(int(sys.argv[2]), int(sys.argv[3]))
    for world in sys.argv[4].split(","):
        rows = [r for n in sizes for s in seeds for r in oracle(world, n, s)]
        cov = [statistics.mean(c for f, c, _ in rows if f == x) for x in FRACTIONS]
        under = [statistics.mean(b for f, _, b in rows if f == x) for x in FRACTIONS]
        print(
            f"{world:11s} runs {len(rows) // len(FRACTIONS)}  oracle P90 coverage "
            + " ".join(f"{x:.2f}" for x in cov)
            + f" | {statistics.mean(cov):.3f}   under P50 "
            + " ".join(f"{x:.2f}" for x in under),
            flush=True,
        )

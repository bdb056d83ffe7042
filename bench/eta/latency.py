"""Time of one forecast update at 300 and 5,000 steps (targets: p95 < 50 ms and < 0.5 s).

    .venv/bin/python bench/eta/latency.py

Mid-run state of a live night: a third of the steps done (slower than planned, manual
ones after a wait for an operator), a few running; the team's other playbooks as the
reference class, so operator latency is modelled. Every update recomputes (the
large-plan reuse of the last forecast is bypassed).
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from generate import playbook
from simrun import plan_of

from runbook.forecast._model import History
from runbook.forecast._montecarlo import MonteCarloForecaster
from runbook.forecast._observe import Observations, StepObs
from runbook.forecast._reference import ReferenceRun

TEAM = History(reference=(ReferenceRun("r1", "live", 0.5, 40, (0.0, 240.0, 900.0, 2400.0)),))

START = 1_800_000_000.0


def measure(n_steps: int, repeats: int) -> tuple[float, float, float]:
    book, _ = playbook(n_steps, seed=1)
    plan = plan_of(book)
    t = time.perf_counter()
    fc = MonteCarloForecaster(plan, TEAM, mode="live")
    setup = time.perf_counter() - t
    ids = [s["id"] for s in plan["steps"]]
    done = len(ids) // 3
    manual = {s["id"] for s in plan["steps"] if s["kind"] == "manual"}
    steps = {
        s: StepObs(
            "done",
            work_s=1.4 * plan["steps"][i]["estimate"]["likely_s"],
            finished_seq=i,
            wait_s=600.0 if s in manual else None,
        )
        for i, s in enumerate(ids[:done])
    }
    for s in ids[done : done + 5]:
        steps[s] = StepObs("running", started=START + 3000.0, unclaimed=s in manual)
    obs = Observations(START, steps)
    times = []
    for k in range(repeats):
        fc._last = None  # force a full recompute
        t = time.perf_counter()
        fc.forecast_observed(obs, START + 3600.0 + k)
        times.append(time.perf_counter() - t)
    times.sort()
    p95 = times[min(len(times) - 1, round(0.95 * (len(times) - 1)))]
    return setup, statistics.median(times), p95


def main() -> None:
    for n, repeats in ((300, 40), (1000, 20), (5000, 10)):
        setup, med, p95 = measure(n, repeats)
        print(
            f"{n:5d} steps: setup {setup * 1000:7.1f} ms, "
            f"update median {med * 1000:7.1f} ms, p95 {p95 * 1000:7.1f} ms"
        )


if __name__ == "__main__":
    main()

"""Score a run's ETA history: P50 error, P90 coverage and stability, against baselines.

At 10, 25, 50, 75 and 90% of the run's true duration T, the forecast in force (the last
`eta` event at or before that moment) is compared with the true finish:
error = |P50 − finish| / T; covered = finish ≤ P90. Stability is the total movement of P50
over the whole run, in units of T. Baselines are evaluated on the same events at the same
moments.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from baselines import all_baselines

from runbook.clock import parse_iso
from runbook.events._event import Event
from runbook.events._fold import RunState
from runbook.forecast._observe import observe_state

FRACTIONS = (0.10, 0.25, 0.50, 0.75, 0.90)
FORECASTER = "runbook (monte carlo)"


@dataclass
class Score:
    """One method on one run."""

    error: dict[float, float] = field(default_factory=dict)
    covered: dict[float, bool] = field(default_factory=dict)
    movement: float = 0.0
    signed: dict[float, float] = field(default_factory=dict)  # (P50 − finish) / T
    missed: bool = False  # the run took longer than its RTO
    lead: float | None = None  # (RTO deadline − first `rto_warning`) / T; None: no warning


def score_run(
    events: Sequence[Mapping[str, Any]], history_totals: Sequence[float]
) -> dict[str, Score]:
    """Scores of the forecaster and every baseline on one exported run."""
    first = events[0]
    assert first["type"] == "run_started"
    start = parse_iso(first["ts"])
    plan = first["data"]["plan"]
    end = max(parse_iso(e["ts"]) for e in events if e["type"].startswith("step_"))
    total = max(end - start, 1.0)
    baselines = all_baselines(plan, start, history_totals)
    # (ts, {method: p50}, p90 of the forecaster) at every eta event
    series: list[tuple[float, dict[str, float], float]] = []
    state = RunState()
    rto = plan.get("rto_s")
    warned: float | None = None
    for e in events:
        state.apply(Event(**e))
        if e["type"] != "eta":
            continue
        now = parse_iso(e["ts"])
        if e["data"].get("rto_warning") and warned is None:
            warned = now
        obs = observe_state(state)
        p50 = {FORECASTER: parse_iso(e["data"]["p50"])}
        for name, fn in baselines.items():
            p50[name] = fn(obs, now)
        series.append((now, p50, parse_iso(e["data"]["p90"])))
    out = {name: Score() for name in series[0][1]}
    if rto:
        out[FORECASTER].missed = end - start > rto
        out[FORECASTER].lead = None if warned is None else (start + rto - warned) / total
    for name, sc in out.items():
        sc.movement = (
            sum(abs(b[1][name] - a[1][name]) for a, b in itertools.pairwise(series)) / total
        )
    for f in FRACTIONS:
        t = start + f * total
        now_entry = series[0]
        for entry in series:
            if entry[0] > t:
                break
            now_entry = entry
        for name, sc in out.items():
            sc.error[f] = abs(now_entry[1][name] - end) / total
            sc.signed[f] = (now_entry[1][name] - end) / total
            if name == FORECASTER:
                sc.covered[f] = end <= now_entry[2] + 1e-3
    return out

"""What other tools would have announced, computed from the same journal events.

- static plan: start + the plan's critical path of likely estimates (a Gantt, never updated);
- critical-path re-projection (Cutover-style): done steps at their actual times, running ones
  at max(likely − elapsed, 0), the rest at likely, along the longest remaining path;
- %-complete extrapolation (tqdm-style): elapsed / (share of planned work done);
- history average (Rundeck-style): start + the mean of earlier whole runs.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from runbook.forecast._observe import DONE, RUNNING, Observations

Baseline = Callable[[Observations, float], float]


def _likely(plan: Mapping[str, Any]) -> dict[str, float]:
    return {s["id"]: float(s["estimate"]["likely_s"]) for s in plan["steps"]}


def static_plan(plan: Mapping[str, Any], start: float) -> Baseline:
    total = float(plan.get("critical_path_s") or 0.0)
    return lambda obs, now: start + total


def critical_path(plan: Mapping[str, Any]) -> Baseline:
    likely = _likely(plan)
    order = [s["id"] for s in sorted(plan["steps"], key=lambda s: (s.get("wave", 0), s["id"]))]
    needs = {s["id"]: list(s["needs"]) for s in plan["steps"]}

    def eta(obs: Observations, now: float) -> float:
        finish: dict[str, float] = {}
        for sid in order:
            so = obs.steps.get(sid)
            if so is not None and so.category == DONE:
                finish[sid] = now
                continue
            if so is not None and so.category == RUNNING and so.started is not None:
                finish[sid] = now + max(likely[sid] - (now - so.started), 0.0)
                continue
            ready = max((finish[n] for n in needs[sid]), default=now)
            finish[sid] = max(ready, now) + likely[sid]
        return max(finish.values(), default=now)

    return eta


def percent_complete(plan: Mapping[str, Any], start: float) -> Baseline:
    likely = _likely(plan)
    total = sum(likely.values())
    static = float(plan.get("critical_path_s") or 0.0)

    def eta(obs: Observations, now: float) -> float:
        done = sum(likely[s] for s, o in obs.steps.items() if o.category == DONE and s in likely)
        if done <= 0 or now <= start:
            return start + static
        return start + (now - start) * total / done

    return eta


def history_average(plan: Mapping[str, Any], start: float, totals: Sequence[float]) -> Baseline:
    mean = sum(totals) / len(totals) if totals else float(plan.get("critical_path_s") or 0.0)
    return lambda obs, now: start + mean


def all_baselines(
    plan: Mapping[str, Any], start: float, history_totals: Sequence[float]
) -> dict[str, Baseline]:
    """Every baseline, by the name the results table uses."""
    return {
        "static plan": static_plan(plan, start),
        "critical-path re-projection": critical_path(plan),
        "%-complete extrapolation": percent_complete(plan, start),
        "history average": history_average(plan, start, history_totals),
    }

"""Fallback backend: an in-process stand-in for `runbook rehearse` (no concurrency limit).

Used only while the real engine is unavailable and for quick tuning; the reported numbers
come from the real CLI (clirun.py). Events have the journal's shapes, ETA from the forecaster.
"""

from __future__ import annotations

import heapq
import os
from typing import Any

from runbook.clock import iso, parse_iso
from runbook.estimate import MonteCarloForecaster, eta_data
from runbook.estimate_model import History, PastRun
from runbook.events import Event
from runbook.load.durations import parse_duration
from runbook.state import RunState

START = 1_800_000_000.0
# The engine's periodic `eta`: every 5 minutes of run time while steps run, and when a
# running step passes its estimate (ETA_HEARTBEAT_S=0: only at transitions).
HEARTBEAT_S = float(os.environ.get("ETA_HEARTBEAT_S", "300"))


def plan_of(book: dict[str, Any]) -> dict[str, Any]:
    """The Plan JSON of a generated playbook (what build_plan would give, minus hosts)."""
    steps = []
    wave: dict[str, int] = {}
    for s in book["steps"]:
        est = s.get("estimate")
        if est is None:
            e = {"min_s": 300.0, "likely_s": 300.0, "max_s": 300.0, "given": False}
        elif isinstance(est, dict):
            lo, li, hi = (parse_duration(est[k]) for k in ("min", "likely", "max"))
            e = {"min_s": lo, "likely_s": li, "max_s": hi, "given": True}
        else:
            d = parse_duration(est)
            e = {"min_s": d, "likely_s": d, "max_s": d, "given": True}
        needs = s.get("needs", [])
        wave[s["id"]] = 1 + max((wave[n] for n in needs), default=-1)
        steps.append(
            {
                "id": s["id"],
                "phase": s["phase"],
                "kind": "manual" if "manual" in s else "local",
                "needs": needs,
                "estimate": e,
                "wave": wave[s["id"]],
            }
        )
    finish: dict[str, float] = {}
    for st in steps:
        ready = max((finish[n] for n in st["needs"]), default=0.0)
        finish[st["id"]] = ready + st["estimate"]["likely_s"]
    return {
        "playbook": book["playbook"],
        "rto_s": parse_duration(book["rto"]) if "rto" in book else None,
        "steps": steps,
        "phases": list(dict.fromkeys(s["phase"] for s in steps)),
        "critical_path_s": max(finish.values()),
    }


def rehearse(
    book: dict[str, Any], truth: dict[str, float], history: list[dict[str, float]]
) -> list[dict[str, Any]]:
    """Events of a simulated run with an ETA after every transition (exported form)."""
    plan = plan_of(book)
    hist = History(tuple(PastRun(f"h{i}", "rehearsal", d) for i, d in enumerate(history)))
    fc = MonteCarloForecaster(plan, hist, mode="rehearsal")
    state = RunState()
    out: list[dict[str, Any]] = []

    def emit(t: float, etype: str, step: str | None = None, **data: Any) -> None:
        e = Event("sim", len(out) + 1, iso(t), etype, step, None, data)
        state.apply(e)
        out.append(e.as_dict())

    def eta(t: float) -> None:
        emit(t, "eta", **eta_data(fc.forecast(state, t), iso))

    kinds = {s["id"]: s["kind"] for s in plan["steps"]}
    likely = {s["id"]: s["estimate"]["likely_s"] for s in plan["steps"]}
    running: dict[str, float] = {}
    emit(START, "run_started", mode="rehearsal", plan=plan, rto_s=plan["rto_s"], options={})
    eta(START)
    waiting = {s["id"]: len(s["needs"]) for s in plan["steps"]}
    dependents: dict[str, list[str]] = {s["id"]: [] for s in plan["steps"]}
    for s in plan["steps"]:
        for n in s["needs"]:
            dependents[n].append(s["id"])
    heap: list[tuple[float, str]] = []

    def start(t: float, sid: str) -> None:
        emit(t, "step_started", sid, attempt=1, kind=kinds[sid], hosts=[])
        if kinds[sid] == "manual":
            emit(t, "manual_waiting", sid, instructions="", hosts=[], owner=None)
        eta(t)
        heapq.heappush(heap, (t + truth[sid], sid))
        running[sid] = t

    for sid in sorted(s for s, k in waiting.items() if k == 0):
        start(START, sid)
    while heap:
        t, sid = heapq.heappop(heap)
        last = parse_iso(out[-1]["ts"])
        if HEARTBEAT_S:
            ticks = {
                START + HEARTBEAT_S * k
                for k in range(
                    int((last - START) // HEARTBEAT_S) + 1, int((t - START) // HEARTBEAT_S) + 1
                )
            }
            ticks |= {s0 + likely[r] for r, s0 in running.items() if last < s0 + likely[r] < t}
            for tick in sorted(x for x in ticks if last < x < t):
                eta(tick)
        running.pop(sid, None)
        if kinds[sid] == "manual":
            emit(t, "manual_answered", sid, answer="done", wait_s=0.0, work_s=truth[sid])
        emit(t, "step_succeeded", sid, duration_s=truth[sid], attempts=1)
        eta(t)
        for d in sorted(dependents[sid]):
            waiting[d] -= 1
            if waiting[d] == 0:
                start(t, d)
    emit(t, "run_finished", result="succeeded", counts={})
    return out

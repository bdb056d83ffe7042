"""In-process stand-in for `runbook rehearse` (no concurrency limit), for fast tuning.

The reported numbers come from the real CLI (clirun.py); this backend writes events of
the journal's shapes, with `eta` events on the engine's own schedule (EtaSchedule).
"""

from __future__ import annotations

import heapq
import os
from typing import Any

from runbook.clock import iso
from runbook.durations import parse_duration
from runbook.engine._eta import PERIOD_S as ENGINE_PERIOD_S, EtaSchedule
from runbook.events._event import Event
from runbook.events._fold import RunState
from runbook.forecast._model import History, PastRun
from runbook.forecast._montecarlo import MonteCarloForecaster, eta_data

START = 1_800_000_000.0
# The engine's periodic `eta` (ETA_PERIOD_S=1e12: only at transitions and estimate marks).
PERIOD_S = float(os.environ.get("ETA_PERIOD_S", str(ENGINE_PERIOD_S)))


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
    book: dict[str, Any],
    truth: dict[str, float],
    history: list[dict[str, float]],
    *,
    waits: dict[str, float] | None = None,
    mode: str = "rehearsal",
) -> list[dict[str, Any]]:
    """Events of a simulated run, with `eta` events when the engine would write them.

    Mirrors engine.py's loop on a virtual clock: each clock stop is one turn (every step
    finishing then, the steps that become ready started, one commit), and after the turn
    runbook/engine/_eta.py's EtaSchedule decides whether an `eta` is due (a transition,
    5 minutes of run time, a running step passing its likely or max estimate).

    `waits`: how long each manual step waits for an operator before being claimed (a live
    night, team.py); the claim is a transition of its own and the step's work starts then.
    """
    waits = waits or {}
    plan = plan_of(book)
    hist = History(tuple(PastRun(f"h{i}", "rehearsal", d) for i, d in enumerate(history)))
    fc = MonteCarloForecaster(plan, hist, mode="rehearsal")
    schedule = EtaSchedule(period_s=PERIOD_S, virtual=True)
    state = RunState()
    out: list[dict[str, Any]] = []

    def emit(t: float, etype: str, step: str | None = None, **data: Any) -> None:
        e = Event("sim", len(out) + 1, iso(t), etype, step, None, data)
        state.apply(e)
        out.append(e.as_dict())

    kinds = {s["id"]: s["kind"] for s in plan["steps"]}
    marks = {s["id"]: (s["estimate"]["likely_s"], s["estimate"]["max_s"]) for s in plan["steps"]}
    running: set[str] = set()
    waiting = {s["id"]: len(s["needs"]) for s in plan["steps"]}
    dependents: dict[str, list[str]] = {s["id"]: [] for s in plan["steps"]}
    for s in plan["steps"]:
        for n in s["needs"]:
            dependents[n].append(s["id"])
    heap: list[tuple[float, int, str]] = []  # (when, 0 claim | 1 end, step)

    def start(t: float, sid: str) -> None:
        emit(t, "step_started", sid, attempt=1, kind=kinds[sid], hosts=[])
        if kinds[sid] == "manual":
            emit(t, "manual_waiting", sid, instructions="", hosts=[], owner=None)
        schedule.step_started(sid, 1, t, marks[sid])
        wait = waits.get(sid, 0.0) if kinds[sid] == "manual" else 0.0
        if wait > 0.0:
            heapq.heappush(heap, (t + wait, 0, sid))
        heapq.heappush(heap, (t + wait + truth[sid], 1, sid))
        running.add(sid)

    def write_eta(t: float) -> None:
        emit(t, "eta", **eta_data(fc.forecast(state, t), iso))
        schedule.written(t, 0.0)

    emit(START, "run_started", mode=mode, plan=plan, rto_s=plan["rto_s"], options={})
    write_eta(START)  # the engine's forced first ETA, before anything starts
    now = START
    ready = sorted(s for s, k in waiting.items() if k == 0)
    while True:
        for sid in ready:
            start(now, sid)
            schedule.transition()
        schedule.check(now, bool(running), lambda s, a: s in running)
        if schedule.dirty:
            write_eta(now)
        if not heap:
            break
        eta_at = schedule.next_at(bool(running))
        now = heap[0][0] if eta_at is None else min(heap[0][0], eta_at)
        ready = []
        while heap and heap[0][0] <= now:
            t, what, sid = heapq.heappop(heap)
            if what == 0:
                emit(t, "manual_claimed", sid, operator="sim")
                schedule.transition()
                continue
            running.discard(sid)
            wait = waits.get(sid, 0.0) if kinds[sid] == "manual" else 0.0
            if kinds[sid] == "manual":
                emit(t, "manual_answered", sid, answer="done", wait_s=wait, work_s=truth[sid])
            emit(t, "step_succeeded", sid, duration_s=wait + truth[sid], attempts=1)
            schedule.transition()
            for d in sorted(dependents[sid]):
                waiting[d] -= 1
                if waiting[d] == 0:
                    ready.append(d)
        ready.sort()
    emit(now, "run_finished", result="succeeded", counts={})
    return out

"""The fold's run-level transitions: start, engine lives (interrupt, resume), finish, ETA."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from runbook.events._data import mapping, names, number
from runbook.events._event import Event
from runbook.events._step_state import FINISHED_RUN, StepState

if TYPE_CHECKING:
    from runbook.events._fold import RunState


@dataclass
class EngineLife:
    """One engine's hold on the run: from `run_started` or `run_resumed` until it stopped."""

    started: float
    interrupted: float | None = None  # its run_interrupted (an engine that crashed has none)


def run_started(r: RunState, e: Event, ts: float, d: Mapping[str, Any]) -> None:
    r.playbook = str(d.get("playbook") or "")
    r.playbook_path = d.get("playbook_path")
    r.title = str(d.get("title") or "")
    r.mode = str(d.get("mode") or "")
    r.operator = d.get("operator")
    r.rto_s = number(d.get("rto_s"))
    r.plan = mapping(d.get("plan"))
    r.options = mapping(d.get("options"))
    r.status, r.started = "running", ts
    r.lives.append(EngineLife(ts))
    r.life = len(r.lives) - 1
    steps = r.plan.get("steps")
    for p in steps if isinstance(steps, (list, tuple)) else ():
        if not isinstance(p, Mapping) or not p.get("id"):
            continue  # not a plan step runbook writes: nothing to show for it
        sid = str(p["id"])
        r.steps[sid] = StepState(
            id=sid,
            title=str(p.get("title") or ""),
            phase=str(p.get("phase") or ""),
            kind=str(p.get("kind") or "remote"),
            needs=names(p.get("needs")),
            hosts=names(p.get("hosts")),
            estimate=mapping(p.get("estimate")),
            owner=p.get("owner"),
            doc=p.get("doc") if isinstance(p.get("doc"), str) else None,
        )
    if r.rto_s is None:
        r.rto_s = number(r.plan.get("rto_s"))
    r._dependents = None


def run_resumed(r: RunState, e: Event, ts: float, d: Mapping[str, Any]) -> None:
    r.status, r.result, r.finished, r.interrupted_reason = "running", None, None, None
    r.resumes += 1
    r.lives.append(EngineLife(ts))
    r.life = len(r.lives) - 1


def run_interrupted(r: RunState, e: Event, ts: float, d: Mapping[str, Any]) -> None:
    r.status = "interrupted"
    r.interrupted_reason = d.get("reason")
    if r.lives and r.lives[-1].interrupted is None:
        r.lives[-1].interrupted = ts


def run_finished(r: RunState, e: Event, ts: float, d: Mapping[str, Any]) -> None:
    result = str(d.get("result") or "failed")
    r.status = r.result = result if result in FINISHED_RUN else "failed"
    r.finished = ts


def eta(r: RunState, e: Event, ts: float, d: Mapping[str, Any]) -> None:
    r.eta, r.eta_ts = d, ts
    if d.get("rto_warning") and r.rto_warning_at is None:
        r.rto_warning_at = ts


def engine_joined(r: RunState, e: Event, ts: float, d: Mapping[str, Any]) -> None:
    if d.get("engine"):  # team mode: what it may claim (join --limit, --no-local)
        r.engines[str(d["engine"])] = {"reach": d.get("reach"), "no_local": bool(d.get("no_local"))}


def engine_left(r: RunState, e: Event, ts: float, d: Mapping[str, Any]) -> None:
    r.engines.pop(str(d.get("engine") or ""), None)


def host_key_accepted(r: RunState, e: Event, ts: float, d: Mapping[str, Any]) -> None:
    r.host_keys.append({"host": e.host, **d})


RUN_HANDLERS = {
    "run_started": run_started,
    "run_resumed": run_resumed,
    "run_interrupted": run_interrupted,
    "run_finished": run_finished,
    "eta": eta,
    "host_key_accepted": host_key_accepted,
    "engine_joined": engine_joined,
    "engine_left": engine_left,
}

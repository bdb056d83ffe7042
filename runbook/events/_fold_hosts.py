"""The fold's host-level transitions: each host's actions, output tail and outcome."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from runbook.events._data import count, number
from runbook.events._event import Event
from runbook.events._host_state import ACTIONS_AFTER_RUN, HostState
from runbook.events._step_state import HostResult, StepState
from runbook.events._tail import keep_tail

if TYPE_CHECKING:
    from runbook.events._fold import RunState


def _host(r: RunState, e: Event, d: Mapping[str, Any]) -> HostState:
    return _step_host(r, e, d)[1]


def _step_host(r: RunState, e: Event, d: Mapping[str, Any]) -> tuple[StepState, HostState]:
    s = r.step(e.step or "")
    name = e.host or ""
    attempt = d.get("attempt")
    if type(attempt) is not int:  # absent, or not a count (a bool is an int subclass)
        attempt = 0
    h = s.host_states.get(name)
    if h is None:
        h = s.host_states[name] = HostState(name)
    elif attempt > h.attempt and (h.status != "pending" or h.tail):
        # A later attempt with no step_started before it (an older or damaged journal):
        # the host starts that attempt afresh all the same.
        h = s.host_states[name] = HostState(name, previous=h)
    if attempt > h.attempt:
        h.attempt = attempt
    return s, h


def host_started(r: RunState, e: Event, ts: float, d: Mapping[str, Any]) -> None:
    h = _host(r, e, d)
    if h.status != "running":
        h.started = ts
    action = d.get("action")
    life = r.life
    h.status, h.action, h.action_life, h.finished = "running", action, life, None
    if action == "run":
        h.run_life, h.run_done = life, False
    elif action in ACTIONS_AFTER_RUN and h.run_life == life:
        h.run_done = True  # the engine that started `run` moved past it: `run` ended


def host_output(r: RunState, e: Event, ts: float, d: Mapping[str, Any]) -> None:
    h = _host(r, e, d)
    h.tail, cut = keep_tail(h.tail, str(d.get("text") or ""))
    h.tail_cut = h.tail_cut or cut or bool(d.get("truncated"))


def host_succeeded(r: RunState, e: Event, ts: float, d: Mapping[str, Any]) -> None:
    s, h = _step_host(r, e, d)
    h.status = "skipped" if d.get("skipped") else "succeeded"
    h.finished, h.duration_s = ts, number(d.get("duration_s"))
    h.reason = h.message = h.exit_code = None
    h.tail, h.tail_cut = "", False
    s.hosts_done.add(h.name)
    s.results[h.name] = _result(h.status, d)


def host_failed(r: RunState, e: Event, ts: float, d: Mapping[str, Any]) -> None:
    s, h = _step_host(r, e, d)
    h.status, h.finished, h.duration_s = "failed", ts, number(d.get("duration_s"))
    h.reason, h.message = d.get("reason"), d.get("message")
    h.exit_code = count(d.get("exit_code"))
    s.results[h.name] = _result("failed", d)


def _result(status: str, d: Mapping[str, Any]) -> HostResult:
    """What steps that read this one see of the host (docs/journal.md: rc, stdout, value)."""
    stdout = d.get("stdout")
    return HostResult(
        status,
        count(d.get("rc")),
        stdout if isinstance(stdout, str) else None,
        bool(d.get("stdout_cut")),
        d.get("value"),
    )


def host_stopped(r: RunState, e: Event, ts: float, d: Mapping[str, Any]) -> None:
    """`host_not_started` (max_fail crossed) or `host_cancelled` (min_ok decided)."""
    h = _host(r, e, d)
    h.status = "not_started" if e.type == "host_not_started" else "cancelled"
    h.finished, h.reason, h.message = ts, e.type[5:], d.get("reason")


HOST_HANDLERS = {
    "host_not_started": host_stopped,
    "host_cancelled": host_stopped,
    "host_started": host_started,
    "host_output": host_output,
    "host_succeeded": host_succeeded,
    "host_failed": host_failed,
}

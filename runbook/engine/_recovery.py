"""What `resume` does with each step of an interrupted run (SPEC §4: crash safety).

Never silently re-run something that may have had effects. Per host of a step that was
in flight when the engine stopped, from the state folded out of the journal (the fold is
the only reading of the events; this module only decides):

- its `run` had not started (pending, or only `skip_if` ran): it runs normally;
- it was in `until` or `verify` after its `run`, all in one engine's life: its `run` had
  finished fine, so it goes on from `until`. If an engine stopped in between (a resume
  that only checked `verify`, and crashed too), `run` is as uncertain as before;
- it was in `run`: uncertain. An `idempotent: true` step runs it again ("rerun"); a step
  with `skip_if` lets `skip_if` decide ("verify": success means done); a step with only
  `verify` runs `verify` alone ("verify": success means done, failure needs an operator);
  anything else is for an operator to decide ("ask").

A rehearsal executed nothing, so its in-flight steps are simply run again.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Literal

from runbook.engine._attempt import Mode
from runbook.events import Event, HostState, RunState, StepState
from runbook.model import Step

Decision = Literal["rerun", "verify", "ask"]


@dataclass
class StepResume:
    """How one step starts again."""

    status: str  # the engine status: pending, failed, blocked, succeeded, skipped, waiting,
    # running (in flight: continue its attempt), retry (start its next attempt now)
    attempt: int = 0
    failures: int = 0
    hosts_ok: set[str | None] = field(default_factory=set)
    failed: dict[str | None, tuple[str, str]] = field(default_factory=dict)  # reason, message
    todo: list[str | None] = field(default_factory=list)
    modes: dict[str | None, Mode] = field(default_factory=dict)
    uncertain: list[str | None] = field(default_factory=list)
    decision: Decision | None = None
    blocked_by: tuple[str, ...] = ()
    chosen: tuple[str, ...] | None = None  # hosts decided when it started (templated hosts)
    pattern: str | None = None
    tolerated: bool = False  # failed with `on_failure: continue`: its dependents go on


def analyse(
    state: RunState, events: Iterable[Event], steps: Mapping[str, Step]
) -> dict[str, StepResume]:
    """Each step's way back in, from the folded state.

    `events` is no longer read: the fold keeps what resume needs (failures against
    `retries`, hosts done, retry waits, each host's last action and engine life).
    """
    del events
    out: dict[str, StepResume] = {}
    for sid, st in state.steps.items():
        r = StepResume(st.status, st.attempts, st.failures, _hosts_done(st))
        step = steps.get(sid)
        if st.attempts and step is not None and (step.hosts_at_run_time or step.run_once):
            r.chosen, r.pattern = st.selected, st.pattern
        r.tolerated = st.status == "failed" and st.tolerated
        if st.status == "claimed":
            r.status = "waiting"
        elif st.status == "blocked":
            r.blocked_by = st.blocked_by
        elif st.status == "running" and st.kind == "manual":
            r.status = "pending"  # stopped before anyone was asked: ask again
        elif st.status == "running" and sid in steps:
            _in_flight(r, st, steps[sid], state.life)
            if state.mode == "rehearsal":
                # Nothing ran in a rehearsal: whatever was in flight simply starts again.
                r.uncertain, r.modes = [], {}
                r.decision = "rerun" if r.decision else None
        out[sid] = r
    return out


def _hosts_done(st: StepState) -> set[str | None]:
    """The engine's names for the hosts done: a local step's control machine is None."""
    if st.kind == "remote":
        return {h or None for h in st.hosts_done}
    return {None} if st.hosts_done else set()


def _host_state(st: StepState, h: str | None) -> HostState | None:
    hs = st.host_states.get(h if h is not None else "")
    if hs is None and h is None and len(st.host_states) == 1:
        hs = next(iter(st.host_states.values()))  # an older journal names the local host
    return hs


def _in_flight(r: StepResume, st: StepState, step: Step, life: int) -> None:
    hosts: tuple[str | None, ...] = (st.selected or st.hosts) if st.kind == "remote" else (None,)
    if st.retry_wait:  # the attempt had ended and a retry was due: start it now
        r.status = "retry"
        return
    for h in hosts:
        if h in r.hosts_ok:
            continue
        hs = _host_state(st, h)
        if hs is not None and hs.status == "failed":
            r.failed[h] = (hs.reason or "error", hs.message or "failed")
            continue
        if hs is not None and hs.status in ("succeeded", "skipped"):
            r.hosts_ok.add(h)
            continue
        action = hs.action if hs is not None and hs.in_flight else None
        r.todo.append(h)
        ran = hs.run_standing(life) if hs is not None else None
        if action in ("until", "verify") and step.run is not None and ran == "done":
            r.modes[h] = "after_run"
        elif action == "run" or (action in ("until", "verify") and ran == "uncertain"):
            r.uncertain.append(h)
    r.decision = "rerun"
    if r.uncertain and not step.idempotent:
        if step.skip_if is not None:
            r.decision = "verify"  # the normal sequence starts with skip_if: it decides
        elif step.verify is not None:
            r.decision = "verify"
            for h in r.uncertain:
                r.modes[h] = "verify_only"
        else:
            r.decision = "ask"


def host_way_back(state: RunState, step: Step, sid: str, host: str) -> tuple[Mode, Decision]:
    """Team mode: how one host of a step goes on when the engine that claimed it is gone
    (the same rules as a step in flight above, for that host alone)."""
    st = state.steps.get(sid)
    hs = st.host_states.get(host) if st is not None else None
    if hs is None or not hs.in_flight:
        return "normal", "rerun"  # its `run` had not started: it runs normally
    ran = hs.run_standing(state.life)
    if hs.action in ("until", "verify") and step.run is not None and ran == "done":
        return "after_run", "rerun"
    if hs.action == "run" or (hs.action in ("until", "verify") and ran == "uncertain"):
        if step.idempotent:
            return "normal", "rerun"
        if step.skip_if is not None:
            return "normal", "verify"
        if step.verify is not None:
            return "verify_only", "verify"
        return "normal", "ask"
    return "normal", "rerun"

"""What `resume` does with each step of an interrupted run (SPEC §4: crash safety).

Never silently re-run something that may have had effects. Per host of a step that was
in flight when the engine stopped, from the state folded out of the journal:

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
from runbook.events import Event, RunState, StepState
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


def analyse(
    state: RunState, events: Iterable[Event], steps: Mapping[str, Step]
) -> dict[str, StepResume]:
    """Each step's way back in, from the folded state and the raw events."""
    ok_hosts: dict[str, set[str | None]] = {}
    failures: dict[str, int] = {}
    last_step_event: dict[str, str] = {}
    run_state: dict[tuple[str, str | None], str] = {}  # "running" | "done" | "uncertain"
    for e in events:
        _track_run(run_state, e)
        if e.step is None:
            continue
        if e.type == "host_succeeded":
            kind = state.steps[e.step].kind if e.step in state.steps else "remote"
            ok_hosts.setdefault(e.step, set()).add(e.host if kind == "remote" else None)
        elif e.type == "step_retrying":
            failures[e.step] = failures.get(e.step, 0) + 1
        elif e.type == "operator_retry":
            failures[e.step] = 0
        if e.type.startswith("step_") or e.type == "operator_retry":
            last_step_event[e.step] = e.type
    out: dict[str, StepResume] = {}
    for sid, st in state.steps.items():
        r = StepResume(st.status, st.attempts, failures.get(sid, 0), ok_hosts.get(sid, set()))
        if st.status == "claimed":
            r.status = "waiting"
        elif st.status == "blocked":
            r.blocked_by = st.blocked_by
        elif st.status == "running" and st.kind == "manual":
            r.status = "pending"  # stopped before anyone was asked: ask again
        elif st.status == "running" and sid in steps:
            retry_wait = last_step_event.get(sid) == "step_retrying"
            _in_flight(r, st, steps[sid], retry_wait, run_state)
            if state.mode == "rehearsal":
                # Nothing ran in a rehearsal: whatever was in flight simply starts again.
                r.uncertain, r.modes = [], {}
                r.decision = "rerun" if r.decision else None
        out[sid] = r
    return out


def _track_run(run_state: dict[tuple[str, str | None], str], e: Event) -> None:
    """Whether each host's latest `run` is known to have ended (the engine moved past it)."""
    if e.type == "run_resumed":
        for key, value in run_state.items():
            if value == "running":
                run_state[key] = "uncertain"  # the engine that ran it is gone
    elif e.type == "step_started" and e.step is not None:
        for key in [k for k in run_state if k[0] == e.step]:
            del run_state[key]
    elif e.type == "host_started" and e.step is not None:
        key = (e.step, e.host)
        action = e.data.get("action")
        if action == "run":
            run_state[key] = "running"
        elif action in ("until", "verify") and run_state.get(key) == "running":
            run_state[key] = "done"


def _in_flight(
    r: StepResume,
    st: StepState,
    step: Step,
    retry_wait: bool,
    run_state: Mapping[tuple[str, str | None], str],
) -> None:
    hosts: tuple[str | None, ...] = st.hosts if st.kind == "remote" else (None,)
    if retry_wait:  # the attempt had ended and a retry was due: start it now
        r.status = "retry"
        return
    for h in hosts:
        if h in r.hosts_ok:
            continue
        hs = st.host_states.get(h if h is not None else "")
        if hs is None and h is None and len(st.host_states) == 1:
            hs = next(iter(st.host_states.values()))
        if hs is not None and hs.status == "failed":
            r.failed[h] = (hs.reason or "error", hs.message or "failed")
            continue
        if hs is not None and hs.status in ("succeeded", "skipped"):
            r.hosts_ok.add(h)
            continue
        action = hs.action if hs is not None and hs.status == "running" else None
        r.todo.append(h)
        ran = run_state.get((st.id, h if h is not None else _local_host(st)))
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


def _local_host(st: StepState) -> str | None:
    """The `host` a local step's events carry (None; older journals may name one)."""
    names = list(st.host_states)
    return names[0] if len(names) == 1 and names[0] else None

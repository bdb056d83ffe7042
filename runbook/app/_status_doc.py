"""`runbook status --format json`: where a run stands, as a stable, documented document.

The text view and the markdown report render this same document, so every format tells
the same story. Keys are only ever added; `schema` changes if one ever has to go.

    {"schema": 1, "run_id", "playbook", "title", "mode",
     "status": "running|interrupted|succeeded|failed|aborted",
     "engine_live": bool,            # an engine holds the run now
     "now", "started", "finished",   # ISO-8601 UTC (finished: null while unfinished)
     "elapsed_s", "last_event": {"seq", "ts", "type"},
     "rto_s", "rto_at",              # null without an rto
     "eta": null | {"at", "p50", "p90", "remaining_p50_s", "remaining_p90_s",
                    "critical_path", "rto_risk", "method",
                    "rto_warning_at"},  # when P(miss RTO) first passed 50%, else null
     "progress": {"done", "total"},  # done = succeeded + skipped
     "counts": {status: n},          # every step status, zeros included
     "tolerated": n,                 # failed steps with on_failure: continue (only if any)
     "phases": [{"name", "done", "total", "counts"}],
     "steps": [{"id", "title", "phase", "kind", "status", "attempts", "started", "finished",
                "elapsed_s", "duration_s", "reason", "needs", "waiting_for", "blocked_by",
                "holds_up",         # unfinished steps downstream (running, waiting,
                                    # claimed, failed and blocked steps; else [])
                "hosts": {"total", "pending", "running", "succeeded", "skipped", "failed"},
                "failed_hosts": [{"host", "reason", "exit_code", "message"}],
                "manual": null | {"waiting_since", "claimed_by", "claimed_at", "answer",
                                  "wait_s", "work_s", "input", "value"},
                "operator", "note",
                "expect": null | {"remaining_s", "at", "operator", "note"},
                "tolerated": true,  # only on a failed step with on_failure: continue
                "unclaimable": {"why", "hosts"}}]}  # team mode: a ready or running step
                                    # that no live engine may claim: the hosts none reaches
"""

from __future__ import annotations

from typing import Any

from runbook.clock import iso
from runbook.events import STEP_STATUSES, RunState, StepState, manual_times

SCHEMA = 1
# Only these can hold others up; computing it for thousands of pending steps would be waste.
_HOLDING = frozenset({"running", "waiting", "claimed", "failed", "blocked"})


def _iso(ts: float | None) -> str | None:
    return iso(ts) if ts is not None else None


def _step(state: RunState, s: StepState, now: float) -> dict[str, Any]:
    host_counts = dict.fromkeys(("pending", "running", "succeeded", "skipped", "failed"), 0)
    for h in s.host_states.values():
        host_counts[h.status] = host_counts.get(h.status, 0) + 1
    total_hosts = len(s.host_states) or len(s.hosts)
    if not s.host_states:
        host_counts["pending"] = total_hosts
    failed = [
        {"host": h.name, "reason": h.reason, "exit_code": h.exit_code, "message": h.message}
        for h in s.host_states.values()
        if h.status == "failed"
    ]
    manual = None
    if s.kind == "manual":
        wait_s, work_s = s.wait_s, s.work_s
        if s.status == "claimed":
            wait_s, work_s, _ = manual_times(s, now)
        elif s.status == "waiting" and s.waiting_since is not None:
            # Still unanswered: all of it is waiting so far (manual_times splits an answer).
            wait_s, work_s = max(0.0, now - s.waiting_since), 0.0
        manual = {
            "waiting_since": _iso(s.waiting_since),
            "claimed_by": s.claimed_by,
            "claimed_at": _iso(s.claimed_at),
            "answer": s.answer,
            "wait_s": wait_s,
            "work_s": work_s,
            "input": dict(s.input) if s.input is not None else None,
            "value": s.value,
        }
    expect = None
    if s.expect is not None:
        expect = {
            "remaining_s": s.expect.remaining_at(now),
            "at": iso(s.expect.at),
            "operator": s.expect.operator,
            "note": s.expect.note,
        }
    unfinished = s.status not in ("succeeded", "skipped", "failed")
    return {
        "id": s.id,
        "title": s.title,
        "phase": s.phase,
        "kind": s.kind,
        "status": s.status,
        "attempts": s.attempts,
        "started": _iso(s.started),
        "finished": _iso(s.finished),
        "elapsed_s": round(s.elapsed(now), 3),
        "duration_s": s.duration_s,
        "reason": s.reason,
        "needs": list(s.needs),
        "waiting_for": state.waiting_on(s.id) if unfinished else [],
        "blocked_by": list(s.blocked_by),
        "holds_up": state.holds_up(s.id) if s.status in _HOLDING else [],
        "hosts": {"total": total_hosts, **host_counts},
        "failed_hosts": failed,
        "manual": manual,
        "operator": s.operator,
        "note": s.note,
        "expect": expect,
        **({"doc": s.doc} if s.doc else {}),  # only when set: same bytes without it
        **({"tolerated": True} if s.tolerated else {}),  # failed, `on_failure: continue`
        **_unclaimable(state, s),
    }


def _unclaimable(state: RunState, s: StepState) -> dict[str, Any]:
    """Team mode: a ready step that no live engine may claim: a host of it that no live
    engine reaches (`join --limit`: the hosts of a step are shared out by reach, but
    each needs an engine), or a local step where every engine has `--no-local`; or a
    running step with hosts still to run that no live engine reaches (the engine that
    reached them died or left)."""
    engines = list(state.engines.values())
    if not engines or state.status != "running" or s.status not in ("pending", "running"):
        return {}
    if s.status == "pending" and state.waiting_on(s.id):
        return {}
    if s.status == "pending" and s.kind == "local" and all(e.get("no_local") for e in engines):
        return {"unclaimable": {"why": "every live engine has --no-local", "hosts": []}}
    reaches = [None if e.get("reach") is None else set(e["reach"]) for e in engines]
    hosts = s.hosts
    if s.status == "running":
        ended = {h for h, st in s.host_states.items() if st.status not in ("pending", "running")}
        hosts = tuple(h for h in (s.selected or s.hosts) if h not in ended)
    outside = [h for h in hosts if not any(r is None or h in r for r in reaches)]
    if s.kind != "remote" or not outside:
        return {}
    why = "no live engine reaches some of its hosts (join --limit)"
    if s.status == "running":
        why = "no live engine reaches some of the hosts it has still to run (join --limit)"
    return {"unclaimable": {"why": why, "hosts": outside}}


def status_document(state: RunState, *, live: bool, now: float) -> dict[str, Any]:
    """The status of a run at `now` (see the module docstring for the shape)."""
    if state.is_finished and state.finished is not None:
        now = state.finished  # a finished run's clock stops
    elif state.last_ts is not None:
        now = max(now, state.last_ts)  # a rehearsal's virtual time may run ahead of ours
    counts = state.counts()
    tolerated = sum(1 for s in state.steps.values() if s.status == "failed" and s.tolerated)
    eta = None
    if state.eta is not None:
        eta = {
            "at": _iso(state.eta_ts),
            **{
                k: state.eta.get(k)
                for k in (
                    "p50",
                    "p90",
                    "remaining_p50_s",
                    "remaining_p90_s",
                    "critical_path",
                    "rto_risk",
                    "method",
                )
            },
            "rto_warning_at": _iso(state.rto_warning_at),
        }
    rto_at = None
    if state.rto_s is not None and state.started is not None:
        rto_at = iso(state.started + state.rto_s)
    return {
        "schema": SCHEMA,
        "run_id": state.run_id,
        "playbook": state.playbook,
        "title": state.title,
        "mode": state.mode,
        "status": state.status,
        "engine_live": live,
        "now": iso(now),
        "started": _iso(state.started),
        "finished": _iso(state.finished),
        "elapsed_s": round(max(0.0, now - state.started), 3) if state.started else 0.0,
        "last_event": {
            "seq": state.last_seq,
            "ts": state.last_ts_text,
            "type": state.last_type,
        },
        "rto_s": state.rto_s,
        "rto_at": rto_at,
        "eta": eta,
        "progress": {
            "done": counts["succeeded"] + counts["skipped"],
            "total": len(state.steps),
        },
        "counts": {k: counts.get(k, 0) for k in STEP_STATUSES},
        **({"tolerated": tolerated} if tolerated else {}),  # only when some: same bytes
        "phases": [
            {"name": p.name, "done": p.done, "total": p.total, "counts": p.counts}
            for p in state.phases()
        ],
        "steps": [_step(state, s, now) for s in state.steps.values()],
    }

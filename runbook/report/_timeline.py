"""One pass over a run's events into what an audit report shows.

Where each step and host stands, and each step's attempts, are the fold's
(runbook/events): the report and `status` read the same state, so they cannot disagree.
What only a report wants is added here, as the events pass: the human timeline (a line
per event worth reading), every failed attempt with the output that explains it, in the
order they came, and the ETA as it moved. Step and host records are drawn from the
folded state at the end (runbook/report/_views.py).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from runbook.clock import parse_iso
from runbook.durations import format_duration
from runbook.events import Event, RunState
from runbook.report._records import (
    LOCAL,
    Entry,
    EtaPoint,
    Failure,
    HostRecord,
    StepRecord,
    Timeline,
)
from runbook.report._run_summary import host_label
from runbook.report._views import fill_from_state

__all__ = ["LOCAL", "EtaPoint", "Failure", "HostRecord", "StepRecord", "Timeline", "build_timeline"]


def _num(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _int(value: Any) -> int:
    return int(value) if isinstance(value, int) and not isinstance(value, bool) else 0


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def _ts(text: str) -> float:
    try:
        return parse_iso(text)
    except (ValueError, TypeError, AttributeError):
        return 0.0


def build_timeline(events: Iterable[Event]) -> Timeline:
    """Fold a run's events, in seq order, into a Timeline."""
    tl = Timeline()
    state = RunState()
    for ev in events:
        state.apply(ev)
        _describe(tl, state, ev)
    fill_from_state(tl, state)
    return tl


def _describe(tl: Timeline, state: RunState, ev: Event) -> None:
    """What the report adds for one event, once the fold has taken it."""
    ts = _ts(ev.ts)
    d: Mapping[str, Any] = ev.data if isinstance(ev.data, Mapping) else {}
    tl.event_count += 1
    tl.head = ev.hash
    tl.last_ts = ts if tl.last_ts is None else max(tl.last_ts, ts)
    if ev.type == "eta":
        p50, p90 = _ts(str(d.get("p50", ""))), _ts(str(d.get("p90", "")))
        if p50 and p90:
            tl.etas.append(EtaPoint(ts, p50, p90, _num(d.get("rto_risk")), _text(d.get("method"))))
    elif ev.type in ("run_started", "run_interrupted", "run_resumed", "run_finished"):
        _run_entry(tl, state, ts, d, ev.type)
    elif ev.step is not None and ev.type.startswith("host_"):
        _host_entry(tl, state, ev.step, ev.host or LOCAL, ts, d, ev.type)
    elif ev.step is not None:
        _step_entry(tl, state, ev.step, ts, d, ev.type)


def _run_entry(tl: Timeline, state: RunState, ts: float, d: Mapping[str, Any], t: str) -> None:
    if t == "run_started":
        who = f" by {state.operator}" if state.operator else ""
        text = f"run started{who} ({state.mode or '?'} mode)"
        tl.entries.append(Entry(ts, None, None, "run", text))
    elif t == "run_interrupted":
        why = state.interrupted_reason
        tl.entries.append(Entry(ts, None, None, "run", f"run interrupted ({why or 'no reason'})"))
    elif t == "run_resumed":
        raw = d.get("decisions")
        decisions: Mapping[str, Any] = raw if isinstance(raw, Mapping) else {}
        detail = ", ".join(f"{k}: {v}" for k, v in sorted(decisions.items()))
        text = "run resumed" + (f"; in-flight steps: {detail}" if detail else "")
        tl.entries.append(Entry(ts, None, None, "decision", text, _text(d.get("operator"))))
    else:
        tl.entries.append(Entry(ts, None, None, "run", f"run finished: {state.status}"))


def _host_entry(
    tl: Timeline, state: RunState, sid: str, host: str, ts: float, d: Mapping[str, Any], t: str
) -> None:
    s = state.steps.get(sid)
    h = s.host_states.get(host) if s is not None else None
    if t == "host_failed" and h is not None:
        reason = _text(h.reason) or "error"
        message = str(h.message or "")
        tl.failures.append(
            Failure(  # a local step's host is "": it ran on this machine, not on no host
                ts,
                sid,
                host_label(host),
                h.attempt,
                reason,
                h.exit_code,
                message,
                h.tail,
                h.tail_cut,
            )
        )
        why = reason + (f" {h.exit_code}" if h.exit_code is not None else "")
        msg = f": {message}" if message else ""
        where = f" on {host_label(host)}"
        tl.entries.append(
            Entry(ts, sid, host_label(host), "failure", f"failed{where} ({why}){msg}")
        )
    elif t == "host_key_accepted":
        fp = d.get("fingerprint")
        text = f"accepted new host key of {host}: {fp}"
        tl.entries.append(Entry(ts, sid, host, "decision", text))


def _step_entry(
    tl: Timeline, state: RunState, sid: str, ts: float, d: Mapping[str, Any], t: str
) -> None:
    s = state.steps.get(sid)
    if s is None:  # an event the fold does not know: nothing to tell of it
        return
    who = _text(d.get("operator"))
    note = _text(d.get("note")) or None

    def add(kind: str, text: str, operator: str | None = None, note: str | None = None) -> None:
        tl.entries.append(Entry(ts, sid, None, kind, text, operator, note))

    if t == "step_started":
        add("step", "started" + (f" (attempt {s.attempts})" if s.attempts > 1 else ""))
    elif t == "step_retrying":
        delay = _num(d.get("delay_s"))
        failed = ", ".join(s.failed_hosts)
        text = f"attempt {_int(d.get('attempt'))} failed" + (f" on {failed}" if failed else "")
        add("step", text + (f"; retrying in {delay:g}s" if delay is not None else "; retrying"))
    elif t == "step_succeeded":
        add("step", "succeeded")
    elif t == "step_failed":
        failed = ", ".join(s.failed_hosts)
        reason = _text(s.reason) or (f"failed on {failed}" if failed else "failed")
        if not any(h.status == "failed" for h in s.host_states.values()):
            # No host failure explains it (interrupted, a local command, an operator's
            # answer): the step's own failure is the record.
            attempt = max(s.attempts, 1)
            tl.failures.append(Failure(ts, sid, None, attempt, reason, None, "", "", False))
        add("failure", f"step failed: {reason}")
    elif t == "step_skipped":
        reason = _text(d.get("reason")) or "operator"
        add("decision" if reason == "operator" else "step", f"skipped ({reason})", who, note)
    elif t == "step_blocked":
        add("step", f"blocked by {', '.join(s.blocked_by) or 'a failed step'}")
    elif t == "manual_waiting":
        add("step", "waiting for an operator")
    elif t == "manual_claimed":
        add("decision", "claimed", who)
    elif t == "manual_answered":
        answer = str(d.get("answer") or "done")
        if answer == "fail":
            reason = "operator answered fail"
            attempt = max(s.attempts, 1)
            tl.failures.append(Failure(ts, sid, None, attempt, reason, None, note or "", "", False))
        add("decision", f"answered {answer}", who, note)
    elif t == "operator_retry":
        add("decision", "retry requested", who, note)
    elif t == "operator_expect":
        remaining = _num(d.get("remaining_s"))
        text = "expects " + (format_duration(remaining) if remaining is not None else "?")
        add("decision", text + " more", who, note)

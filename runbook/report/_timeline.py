"""One pass over a run's events into what an audit report shows.

`runbook.state.fold` answers "where does the run stand"; a report also needs the history:
every operator decision, every failed attempt with its output, the ETA as it moved. This
module keeps that history, per step and per host, and nothing else.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from runbook.clock import parse_iso
from runbook.durations import format_duration
from runbook.events import Event
from runbook.report._records import (
    LOCAL,
    Entry,
    EtaPoint,
    Failure,
    HostRecord,
    StepRecord,
    Timeline,
)
from runbook.report._schedule import planned_schedule

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
    for ev in events:
        _apply(tl, ev)
    return tl


def _plan_steps(tl: Timeline, plan: Mapping[str, Any]) -> None:
    steps: Sequence[Any] = plan.get("steps") or ()
    steps = [s for s in steps if isinstance(s, Mapping) and s.get("id")]
    slots = planned_schedule(steps)
    for s in steps:
        sid = str(s["id"])
        est = s.get("estimate") if isinstance(s.get("estimate"), Mapping) else {}
        tl.steps[sid] = StepRecord(
            id=sid,
            title=str(s.get("title") or sid),
            phase=str(s.get("phase") or ""),
            kind=str(s.get("kind") or ""),
            needs=tuple(str(n) for n in s.get("needs") or ()),
            planned_hosts=tuple(str(h) for h in s.get("hosts") or ()),
            owner=_text(s.get("owner")),
            estimate_s=_num(est.get("likely_s")) if est else None,
            planned=slots.get(sid),
        )
    phases = plan.get("phases")
    tl.phases = [str(p) for p in phases] if isinstance(phases, list) else []
    tl.plan_p50_s = _num(plan.get("p50_s"))
    tl.plan_p90_s = _num(plan.get("p90_s"))
    tl.critical_path = tuple(str(c) for c in plan.get("critical_path") or ())


def _step(tl: Timeline, sid: str) -> StepRecord:
    rec = tl.steps.get(sid)
    if rec is None:  # a step the plan does not name (a damaged or older journal): still shown
        rec = tl.steps[sid] = StepRecord(sid, title=sid)
    return rec


def _apply(tl: Timeline, ev: Event) -> None:
    ts = _ts(ev.ts)
    d: Mapping[str, Any] = ev.data if isinstance(ev.data, Mapping) else {}
    tl.event_count += 1
    tl.head = ev.hash
    tl.last_ts = ts if tl.last_ts is None else max(tl.last_ts, ts)
    if ev.type == "run_started":
        _run_started(tl, ts, d, ev)
        return
    if ev.type == "eta":
        p50, p90 = _ts(str(d.get("p50", ""))), _ts(str(d.get("p90", "")))
        if p50 and p90:
            tl.etas.append(EtaPoint(ts, p50, p90, _num(d.get("rto_risk")), _text(d.get("method"))))
        return
    if ev.type in ("run_interrupted", "run_resumed", "run_finished"):
        _run_event(tl, ts, d, ev)
        return
    if ev.step is None:
        return
    step = _step(tl, ev.step)
    if ev.type.startswith("host_"):
        # A local step's command runs on no host: its record is keyed "" (LOCAL).
        _host_event(tl, step, step.host(ev.host or LOCAL), ts, d, ev)
    else:
        _step_event(tl, step, ts, d, ev)


def _run_started(tl: Timeline, ts: float, d: Mapping[str, Any], ev: Event) -> None:
    tl.run_id = ev.run_id
    tl.playbook = str(d.get("playbook") or "")
    tl.title = str(d.get("title") or tl.playbook)
    tl.mode = str(d.get("mode") or "")
    tl.operator = _text(d.get("operator"))
    tl.playbook_path = _text(d.get("playbook_path"))
    tl.rto_s = _num(d.get("rto_s"))
    tl.started = ts
    plan = d.get("plan")
    if isinstance(plan, Mapping):
        _plan_steps(tl, plan)
        if tl.rto_s is None:
            tl.rto_s = _num(plan.get("rto_s"))
    who = f" by {tl.operator}" if tl.operator else ""
    tl.entries.append(Entry(ts, None, None, "run", f"run started{who} ({tl.mode or '?'} mode)"))


def _run_event(tl: Timeline, ts: float, d: Mapping[str, Any], ev: Event) -> None:
    if ev.type == "run_interrupted":
        tl.status = "interrupted"
        for step in tl.steps.values():
            step.close_segment(ts, "interrupted")
        why = d.get("reason")
        tl.entries.append(Entry(ts, None, None, "run", f"run interrupted ({why or 'no reason'})"))
    elif ev.type == "run_resumed":
        tl.status = "running"
        tl.finished = None
        who = _text(d.get("operator"))
        raw = d.get("decisions")
        decisions: Mapping[str, Any] = raw if isinstance(raw, Mapping) else {}
        detail = ", ".join(f"{k}: {v}" for k, v in sorted(decisions.items()))
        text = "run resumed" + (f"; in-flight steps: {detail}" if detail else "")
        tl.entries.append(Entry(ts, None, None, "decision", text, who))
    else:
        tl.status = str(d.get("result") or "finished")
        tl.finished = ts
        tl.entries.append(Entry(ts, None, None, "run", f"run finished: {tl.status}"))


def _host_event(
    tl: Timeline, step: StepRecord, h: HostRecord, ts: float, d: Mapping[str, Any], ev: Event
) -> None:
    attempt = _int(d.get("attempt"))
    if attempt > h.attempts:  # a new attempt: its output is what explains its outcome
        h.output, h.truncated = "", False
    h.attempts = max(h.attempts, attempt)
    if ev.type == "host_started":
        if h.start is None:
            h.start = ts
        if h.result in ("not run", "failed") and d.get("action") in (None, "skip_if", "run"):
            h.result = "running"
    elif ev.type == "host_output":
        h.add_output(str(d.get("text") or ""), bool(d.get("truncated")))
    elif ev.type == "host_succeeded":
        h.end, h.duration_s = ts, _num(d.get("duration_s"))
        h.result = "already done" if d.get("skipped") else "succeeded"
        h.reason, h.exit_code, h.message = None, None, ""
    elif ev.type == "host_failed":
        h.end, h.duration_s = ts, _num(d.get("duration_s"))
        h.result = "failed"
        h.reason = _text(d.get("reason")) or "error"
        code = d.get("exit_code")
        h.exit_code = code if isinstance(code, int) and not isinstance(code, bool) else None
        h.message = str(d.get("message") or "")
        step.attempt_failures += 1
        tl.failures.append(
            Failure(
                ts,
                step.id,
                h.host or None,
                h.attempts,
                h.reason,
                h.exit_code,
                h.message,
                h.output,
                h.truncated,
            )
        )
        why = h.reason + (f" {h.exit_code}" if h.exit_code is not None else "")
        msg = f": {h.message}" if h.message else ""
        where = f" on {h.host}" if h.host else ""
        tl.entries.append(
            Entry(ts, step.id, h.host or None, "failure", f"failed{where} ({why}){msg}")
        )
    elif ev.type == "host_key_accepted":
        fp = d.get("fingerprint")
        tl.entries.append(
            Entry(ts, step.id, h.host, "decision", f"accepted new host key of {h.host}: {fp}")
        )


def _step_event(tl: Timeline, step: StepRecord, ts: float, d: Mapping[str, Any], ev: Event) -> None:
    t = ev.type
    who = _text(d.get("operator"))
    note = _text(d.get("note")) or None
    if t == "step_started":
        step.open_segment(ts)
        step.status = "running"
        step.attempt_failures = 0
        step.start = ts if step.start is None else step.start
        step.end = None
        step.attempts = max(step.attempts, _int(d.get("attempt")) or step.attempts + 1)
        step.kind = step.kind or str(d.get("kind") or "")
        hosts = d.get("hosts")
        if not step.planned_hosts and isinstance(hosts, list):
            step.planned_hosts = tuple(str(x) for x in hosts)
        attempt = f" (attempt {step.attempts})" if step.attempts > 1 else ""
        tl.entries.append(Entry(ts, step.id, None, "step", f"started{attempt}"))
    elif t == "step_retrying":
        delay = _num(d.get("delay_s"))
        failed = ", ".join(str(x) for x in d.get("failed_hosts") or ())
        text = f"attempt {_int(d.get('attempt'))} failed" + (f" on {failed}" if failed else "")
        text += f"; retrying in {delay:g}s" if delay is not None else "; retrying"
        tl.entries.append(Entry(ts, step.id, None, "step", text))
    elif t == "step_succeeded":
        step.close_segment(ts, "succeeded")
        step.status, step.end = "succeeded", ts
        step.duration_s = _num(d.get("duration_s"))
        step.attempts = max(step.attempts, _int(d.get("attempts")))
        step.reason = None
        tl.entries.append(Entry(ts, step.id, None, "step", "succeeded"))
    elif t == "step_failed":
        step.close_segment(ts, "failed")
        step.status, step.end = "failed", ts
        step.duration_s = _num(d.get("duration_s"))
        step.attempts = max(step.attempts, _int(d.get("attempts")))
        failed = ", ".join(str(x) for x in d.get("failed_hosts") or ())
        step.reason = _text(d.get("reason")) or (f"failed on {failed}" if failed else "failed")
        if not step.attempt_failures:  # e.g. interrupted, or a failure with no host event
            tl.failures.append(
                Failure(ts, step.id, None, max(step.attempts, 1), step.reason, None, "", "", False)
            )
        tl.entries.append(Entry(ts, step.id, None, "failure", f"step failed: {step.reason}"))
    elif t == "step_skipped":
        step.close_segment(ts, "skipped")
        step.status, step.end = "skipped", ts
        step.reason = _text(d.get("reason")) or "operator"
        step.operator, step.note = who or step.operator, note or step.note
        kind = "decision" if step.reason == "operator" else "step"
        tl.entries.append(Entry(ts, step.id, None, kind, f"skipped ({step.reason})", who, note))
    elif t == "step_blocked":
        step.status = "blocked"
        step.blocked_at = ts
        step.blocked_by = tuple(str(x) for x in d.get("by") or ())
        by = ", ".join(step.blocked_by) or "a failed step"
        tl.entries.append(Entry(ts, step.id, None, "step", f"blocked by {by}"))
    elif t == "manual_waiting":
        if not step.segments or step.segments[-1].end is not None:
            step.open_segment(ts)
        step.status = "waiting"
        step.start = ts if step.start is None else step.start
        step.kind = step.kind or "manual"
        tl.entries.append(Entry(ts, step.id, None, "step", "waiting for an operator"))
    else:
        _decision(tl, step, ts, d, t, who, note)


def _decision(
    tl: Timeline,
    step: StepRecord,
    ts: float,
    d: Mapping[str, Any],
    t: str,
    who: str | None,
    note: str | None,
) -> None:
    if t == "manual_claimed":
        step.status, step.operator = "claimed", who
        tl.entries.append(Entry(ts, step.id, None, "decision", "claimed", who))
    elif t == "manual_answered":
        answer = str(d.get("answer") or "done")
        step.status = {"done": "succeeded", "skip": "skipped", "fail": "failed"}.get(answer, answer)
        step.close_segment(ts, step.status)
        step.end = ts
        step.operator, step.note = who or step.operator, note
        step.wait_s, step.work_s = _num(d.get("wait_s")), _num(d.get("work_s"))
        if answer == "skip":
            step.reason = "operator"
        elif answer == "fail":
            step.reason = "operator answered fail"
            tl.failures.append(
                Failure(
                    ts,
                    step.id,
                    None,
                    max(step.attempts, 1),
                    step.reason,
                    None,
                    note or "",
                    "",
                    False,
                )
            )
        tl.entries.append(Entry(ts, step.id, None, "decision", f"answered {answer}", who, note))
    elif t == "operator_retry":
        step.status, step.end, step.reason = "pending", None, None
        step.operator, step.note = who or step.operator, note or step.note
        tl.entries.append(Entry(ts, step.id, None, "decision", "retry requested", who, note))
    elif t == "operator_expect":
        remaining = _num(d.get("remaining_s"))
        text = "expects " + (format_duration(remaining) if remaining is not None else "?")
        tl.entries.append(Entry(ts, step.id, None, "decision", text + " more", who, note))

"""`runbook status --format md`: a status update ready to paste to the crisis cell.

Rendered from the same status document as `status --format text|json`
(runbook.status_doc), so every format tells the same story. Written for people who do
not read step ids: phases and titles first, ETA in clock time against the RTO, and when
the next update comes.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from runbook.clock import parse_iso
from runbook.durations import format_duration, parse_duration
from runbook.report._mdtext import code, md, percent
from runbook.report._run_summary import host_label

DEFAULT_NEXT_S = 1800.0  # a crisis cell expects an update every half hour
LIST_MAX = 12  # per section; the rest is counted, so a 2,000-step run still pastes


def next_update_at(now: float, text: str | None) -> float:
    """`--next`: a duration from now (`30m`) or a UTC clock time (`22:15`, the next one)."""
    if text is None:
        return now + DEFAULT_NEXT_S
    value = text.strip()
    m = re.fullmatch(r"(\d{1,2}):(\d{2})", value)
    if m:
        hour, minute = int(m.group(1)), int(m.group(2))
        if hour > 23 or minute > 59:
            raise ValueError(f"--next {text!r} is not a time of day (HH:MM, UTC)")
        base = datetime.fromtimestamp(now, UTC)
        at = base.replace(hour=hour, minute=minute, second=0, microsecond=0)
        if at.timestamp() <= now:
            at += timedelta(days=1)
        return at.timestamp()
    try:
        return now + parse_duration(value)
    except ValueError:
        raise ValueError(
            f"--next {text!r} is neither a duration (30m, 1h) nor a UTC time (22:15)"
        ) from None


def _clock(ts: float | None, now: float | None = None) -> str:
    if ts is None:
        return "—"
    dt = datetime.fromtimestamp(ts, UTC)
    same_day = now is not None and dt.date() == datetime.fromtimestamp(now, UTC).date()
    return dt.strftime("%H:%M UTC" if same_day else "%a %d %b %H:%M UTC")


def _ts(value: Any) -> float | None:
    try:
        return parse_iso(value) if isinstance(value, str) else None
    except ValueError:
        return None


def _bullets(items: Sequence[str]) -> list[str]:
    out = [f"- {i}" for i in items[:LIST_MAX]]
    if len(items) > LIST_MAX:
        out.append(f"- … and {len(items) - LIST_MAX} more")
    return out


def _name(step: Mapping[str, Any]) -> str:
    title = md(step.get("title")) or md(step.get("id"))
    phase = f" ({md(step.get('phase'))})" if step.get("phase") else ""
    return f"{title}{phase} {code(str(step.get('id')))}"


def _running(step: Mapping[str, Any], now: float) -> str:
    status = step.get("status")
    elapsed = format_duration(float(step.get("elapsed_s") or 0))
    manual = step.get("manual") or {}
    if status == "waiting":
        since = _ts(manual.get("waiting_since"))
        waited = format_duration(now - since) if since is not None else elapsed
        text = f"{_name(step)}: **waiting for an operator** for {waited}"
    elif status == "claimed":
        text = f"{_name(step)}: in hand with {md(manual.get('claimed_by') or 'an operator')}"
    else:
        hosts = step.get("hosts") or {}
        total = int(hosts.get("total") or 0)
        done = int(hosts.get("succeeded") or 0) + int(hosts.get("skipped") or 0)
        on = f", {done} of {total} hosts done" if total > 1 else ""
        again = f", attempt {step.get('attempts')}" if (step.get("attempts") or 0) > 1 else ""
        text = f"{_name(step)}: running for {elapsed}{on}{again}"
    expect = step.get("expect")
    if isinstance(expect, Mapping) and expect.get("remaining_s") is not None:
        who = md(expect.get("operator"))
        note = f": {md(expect.get('note'))}" if expect.get("note") else ""
        left = format_duration(float(expect["remaining_s"]))
        text += f"; about {left} more" + (f" ({who}{note})" if who or note else "")
    return text


def _stuck(step: Mapping[str, Any]) -> str:
    if step.get("status") == "blocked":
        by = ", ".join(md(b) for b in step.get("blocked_by") or ()) or "a failed step"
        return f"{_name(step)}: blocked by {by}"
    why = []
    for h in step.get("failed_hosts") or ():
        detail = md(h.get("reason") or "failed")
        if h.get("exit_code") is not None:
            detail += f" {h['exit_code']}"
        why.append(f"{md(host_label(str(h.get('host') or '')))} ({detail})")
    on = f" on {', '.join(why[:5])}" + (" …" if len(why) > 5 else "") if why else ""
    reason = f": {md(step.get('reason'))}" if step.get("reason") and not why else ""
    holds = step.get("holds_up") or ()
    shown = ", ".join(md(h) for h in list(holds)[:5]) + (" …" if len(holds) > 5 else "")
    held = f"; holds up {shown}" if holds else ""
    doc = f" (doc: {md(step.get('doc'))})" if step.get("doc") else ""
    if step.get("tolerated"):  # on_failure: continue: the run went on without it
        return f"{_name(step)}: **failed**{on}{reason}; tolerated (on_failure: continue){doc}"
    return f"{_name(step)}: **failed**{on}{reason}{held}; needs a decision (retry or skip){doc}"


def _blocked(steps: Sequence[Mapping[str, Any]]) -> list[str]:
    """Blocked steps grouped by what blocks them: one line per failed step, not per victim."""
    groups: dict[str, list[Mapping[str, Any]]] = {}
    for s in steps:
        if s.get("status") == "blocked":
            by = ", ".join(str(b) for b in s.get("blocked_by") or ()) or "a failed step"
            groups.setdefault(by, []).append(s)
    out = []
    for by, victims in groups.items():
        names = ", ".join(md(v.get("title") or v.get("id")) for v in victims[:6])
        more = f" and {len(victims) - 6} more" if len(victims) > 6 else ""
        out.append(f"by {code(by)}: {len(victims)} step(s): {names}{more}")
    return out


def _eta_lines(doc: Mapping[str, Any], now: float) -> list[str]:
    eta = doc.get("eta") or {}
    rto_at = _ts(doc.get("rto_at"))
    rto = ""
    if rto_at is not None and doc.get("rto_s") is not None:
        rto = f"RTO {format_duration(float(doc['rto_s']))}: deadline {_clock(rto_at, now)}"
        if eta.get("rto_risk") is not None:
            rto += f", risk of missing it **{percent(float(eta['rto_risk']))}**"
        warned = _ts(eta.get("rto_warning_at"))
        if warned is not None:
            rto += f"; **RTO warning** since {_clock(warned, now)}"
    p50, p90 = _ts(eta.get("p50")), _ts(eta.get("p90"))
    if p50 is None or p90 is None:
        return [f"**ETA:** not forecast yet. {rto}".rstrip()]
    line = (
        f"**ETA:** all steps done by **{_clock(p50, now)}** (likely, P50), "
        f"**{_clock(p90, now)}** at worst (P90)."
    )
    return [line + (f" {rto}." if rto else "")]


def render_status_md(doc: Mapping[str, Any], next_update: float | None = None) -> str:
    """The update for one run's status document (`runbook.status_doc.status_document`)."""
    now = _ts(doc.get("now")) or 0.0
    title = md(doc.get("title") or doc.get("playbook") or "Restore")
    status = str(doc.get("status") or "running")
    shown = status  # the result as said: "succeeded with 1 tolerated failure"
    if status == "succeeded" and (n := doc.get("tolerated")):
        shown += f" with {n} tolerated failure{'s' if n > 1 else ''}"
    steps: list[Mapping[str, Any]] = list(doc.get("steps") or ())
    progress = doc.get("progress") or {}
    done, total = int(progress.get("done") or 0), int(progress.get("total") or 0)
    pct = f" ({done * 100 // total}%)" if total else ""
    rehearsal = " — REHEARSAL, nothing was executed" if doc.get("mode") == "rehearsal" else ""
    out = [
        f"**{title} — status at {_clock(now)}**{rehearsal}",
        "",
        f"Run {code(str(doc.get('run_id')))}: **{md(shown)}**. "
        f"{done} of {total} steps done{pct}, "
        f"{format_duration(float(doc.get('elapsed_s') or 0))} since the start.",
        "",
    ]
    finished = _ts(doc.get("finished"))
    if finished is not None:
        rto_at = _ts(doc.get("rto_at"))
        verdict = ""
        if rto_at is not None and status != "succeeded":
            left = rto_at - finished
            verdict = (
                f" RTO not met yet: deadline {_clock(rto_at, now)}, "
                f"{format_duration(left)} after the stop."
                if left >= 0
                else f" RTO missed: deadline {_clock(rto_at, now)} passed before the stop."
            ) + " The run resumes after `runbook retry` or `runbook skip`."
        elif rto_at is not None:
            margin = rto_at - finished
            verdict = (
                f" RTO met with {format_duration(margin)} to spare."
                if margin >= 0
                else f" RTO missed by {format_duration(-margin)}."
            )
        word = "Finished" if status == "succeeded" else "Stopped"
        out.append(f"**{word}: {md(shown)} at {_clock(finished, now)}.**{verdict}")
    else:
        out += _eta_lines(doc, now)
    phases = doc.get("phases") or ()
    back = [
        f"{md(p.get('name'))} ({p.get('done')}/{p.get('total')})"
        for p in phases
        if p.get("total") and p.get("done") == p.get("total")
    ]
    also = [
        _name(s) + (" — skipped" if s.get("status") == "skipped" else "")
        for s in steps
        if s.get("status") in ("succeeded", "skipped")
        and any(p.get("name") == s.get("phase") and p.get("done") != p.get("total") for p in phases)
    ]
    active = [
        _running(s, now) for s in steps if s.get("status") in ("running", "waiting", "claimed")
    ]
    stuck = [_stuck(s) for s in steps if s.get("status") == "failed" and not s.get("tolerated")]
    tolerated = [_stuck(s) for s in steps if s.get("status") == "failed" and s.get("tolerated")]
    blocked = _blocked(steps)
    todo = [s for s in steps if s.get("status") == "pending"]
    sections = [
        ("Back", [f"Phases complete: {', '.join(back)}"] if back else []),
        ("Also done", also),
        ("In progress", active),
        ("Needs a decision", stuck),
        ("Failed, tolerated", tolerated),
        ("Blocked", blocked),
    ]
    for name, items in sections:
        if items:
            out += ["", f"**{name}:**", *_bullets(items)]
    if todo:
        where = ", ".join(dict.fromkeys(md(s.get("phase")) for s in todo if s.get("phase")))
        out += ["", f"**Not started yet:** {len(todo)} step(s)" + (f" ({where})" if where else "")]
    out.append("")
    if finished is not None or status in ("succeeded", "aborted"):
        out.append("_Final update for this run._")
    else:
        at = next_update if next_update is not None else now + DEFAULT_NEXT_S
        out.append(f"**Next update:** {_clock(at, now)}.")
    return "\n".join(out) + "\n"

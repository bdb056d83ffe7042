"""`export --format md`: the run as a timeline for the post-incident review.

What was done, by whom and when, what failed (with the output that says why), and what
the operators decided. ETA events are summarised in their own table rather than mixed
into the timeline, where they would outnumber everything else.
"""

from __future__ import annotations

from collections.abc import Iterable

from runbook.durations import format_duration
from runbook.events import Event
from runbook.report._mdtext import code, day, fenced, md, percent, table, utc
from runbook.report._summary import (
    counts_text,
    elapsed,
    eta_moves,
    phase_rows,
    rto_verdict,
    rto_warning_text,
)
from runbook.report._timeline import Failure, Timeline, build_timeline


def render_markdown(events: Iterable[Event]) -> str:
    """The review document for one run."""
    tl = build_timeline(events)
    parts = [
        _summary(tl),
        _phases(tl),
        _timeline(tl),
        _failures(tl),
        _decisions(tl),
        _etas(tl),
        _integrity(tl),
    ]
    return "\n".join(p for p in parts if p)


def _dur(seconds: float | None) -> str:
    return "—" if seconds is None else format_duration(seconds)


def _summary(tl: Timeline) -> str:
    title = md(tl.title or tl.playbook or "runbook run")
    rows = [
        ["Run", code(tl.run_id)],
        [
            "Playbook",
            md(tl.playbook) + (f" ({code(tl.playbook_path)})" if tl.playbook_path else ""),
        ],
        ["Mode", md(tl.mode)],
        ["Started", utc(tl.started) + (f" by {md(tl.operator)}" if tl.operator else "")],
        [
            "Finished" if tl.finished is not None else "Status",
            (utc(tl.finished) + ": " if tl.finished is not None else "") + f"**{md(tl.status)}**",
        ],
        ["Duration", _dur(elapsed(tl)) + _plan_text(tl)],
        ["RTO", md(rto_verdict(tl))],
        ["Steps", counts_text(tl)],
    ]
    warning = rto_warning_text(tl)
    if warning is not None:  # when the forecast first said the RTO would likely be missed
        rows.insert(7, ["RTO warning", f"**{md(warning)}**"])
    return f"# {title}\n\n" + table(["", ""], rows)


def _plan_text(tl: Timeline) -> str:
    if tl.plan_p50_s is None:
        return ""
    p90 = f", P90 {_dur(tl.plan_p90_s)}" if tl.plan_p90_s is not None else ""
    return f" (planned P50 {_dur(tl.plan_p50_s)}{p90})"


def _phases(tl: Timeline) -> str:
    rows = [
        [
            md(p.phase),
            md(p.state),
            f"{p.count('succeeded', 'skipped')}/{len(p.steps)}",
            str(p.count("failed")),
            str(p.count("blocked")),
            utc(p.start),
            utc(p.end),
        ]
        for p in phase_rows(tl)
    ]
    if not rows:
        return ""
    header = ["Phase", "State", "Done", "Failed", "Blocked", "Started", "Finished"]
    return "## Phases\n\n" + table(header, rows)


def _timeline(tl: Timeline) -> str:
    out = ["## Timeline\n"]
    current_day = ""
    rows: list[list[str]] = []

    def flush() -> None:
        if rows:
            out.append(table(["Time", "+", "Step", "Host", "What", "Who", "Note"], rows))
            rows.clear()

    for e in tl.entries:
        if day(e.ts) != current_day:
            flush()
            current_day = day(e.ts)
            out.append(f"### {current_day} (UTC)\n")
        since = _dur(e.ts - tl.started) if tl.started is not None else ""
        what = f"**{md(e.text)}**" if e.kind in ("failure", "decision") else md(e.text)
        rows.append(
            [
                utc(e.ts, with_date=False),
                since,
                code(e.step) if e.step else "",
                md(e.host),
                what,
                md(e.operator),
                md(e.note),
            ]
        )
    flush()
    return "\n".join(out)


def _failures(tl: Timeline) -> str:
    if not tl.failures:
        return ""
    out = ["## Failures\n"]
    by_step: dict[str, list[Failure]] = {}
    for f in tl.failures:
        by_step.setdefault(f.step, []).append(f)
    for sid, failures in by_step.items():
        step = tl.steps[sid]
        outcome = step.status + (f" after {step.attempts} attempt(s)" if step.attempts else "")
        out.append(f"### {code(sid)} {md(step.title)}\n\nOutcome: **{md(outcome)}**.\n")
        if step.doc:
            out.append(f"Documentation: {md(step.doc)}\n")
        for f in failures:
            why = f.reason + (f" {f.exit_code}" if f.exit_code is not None else "")
            msg = f": {md(f.message)}" if f.message else ""
            where = md(f.host) if f.host else "step"
            out.append(f"- {utc(f.ts)}, {where}, attempt {f.attempt}: {md(why)}{msg}\n")
            if f.output:
                cut = " (earlier output cut)" if f.truncated else ""
                out.append(f"  Last output{cut}:\n\n" + _indent(fenced(f.output)))
    return "\n".join(out)


def _indent(block: str) -> str:
    return "".join("  " + line if line.strip() else line for line in block.splitlines(True))


def _decisions(tl: Timeline) -> str:
    rows = [
        [utc(e.ts), md(e.operator), code(e.step) if e.step else "", md(e.text), md(e.note)]
        for e in tl.decisions
    ]
    if not rows:
        return "## Operator decisions\n\nNone.\n"
    return "## Operator decisions\n\n" + table(["Time", "Who", "Step", "Decision", "Note"], rows)


def _etas(tl: Timeline) -> str:
    points = eta_moves(tl.etas)
    if not points:
        return ""
    rows = [[utc(p.ts), utc(p.p50), utc(p.p90), percent(p.rto_risk), md(p.method)] for p in points]
    shown = (
        f" ({len(points)} of {len(tl.etas)} forecasts: those that moved)"
        if len(points) < len(tl.etas)
        else ""
    )
    header = ["Forecast at", "P50 finish", "P90 finish", "RTO risk", "Method"]
    return f"## ETA history{shown}\n\n" + table(header, rows)


def _integrity(tl: Timeline) -> str:
    return (
        "## Integrity\n\n"
        f"{tl.event_count} journal events; chain head {code(tl.head)}.\n"
        f"Check with `runbook verify {tl.run_id}` (or the jsonl export) and compare the head.\n"
    )

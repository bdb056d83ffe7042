"""`export --format csv`: one row per step and host, plan against actual.

A remote step has a row per host; a manual or local step (or a remote one that never got
hosts) has one row with `host` empty. Times are ISO-8601 UTC as in the journal; durations
are seconds, actual ones wall-clock from the first start to the last outcome (so retries
and their delays count, as they did for the restore).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable

from runbook.clock import iso
from runbook.events import Event
from runbook.report._timeline import HostRecord, StepRecord, Timeline, build_timeline

COLUMNS = (
    "run_id",
    "step",
    "title",
    "phase",
    "kind",
    "host",
    "planned_start",
    "planned_end",
    "planned_duration_s",
    "actual_start",
    "actual_end",
    "actual_duration_s",
    "result",
    "attempts",
    "operator",
    "note",
)

# Free text a spreadsheet could take for a formula (=HYPERLINK(...), +cmd|...): an
# auditor opens this file in Excel. Such a cell gets a leading ' (OWASP's advice), which
# spreadsheets show as text; the jsonl export keeps the journal's exact text.
_TEXT_COLUMNS = ("title", "phase", "host", "operator", "note")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")

# A host never reached takes its step's outcome, so a blocked step is not "not run".
_STEP_OUTCOME_FOR_UNRUN_HOST = {"skipped": "skipped", "blocked": "blocked", "failed": "not run"}


def _time(ts: float | None) -> str:
    return iso(ts) if ts is not None else ""


def _secs(value: float | None) -> str:
    return f"{value:.3f}" if value is not None else ""


def _span(start: float | None, end: float | None) -> str:
    return _secs(end - start) if start is not None and end is not None else ""


def _host_result(step: StepRecord, h: HostRecord) -> str:
    if h.result == "not run":
        return _STEP_OUTCOME_FOR_UNRUN_HOST.get(step.status, "not run")
    if h.result == "running" and step.status not in ("running", "pending"):
        return "interrupted" if step.status != "failed" else "failed"
    return h.result


def _inert(text: str) -> str:
    return "'" + text if text.startswith(_FORMULA_START) else text


def rows(tl: Timeline) -> list[dict[str, str]]:
    """The CSV rows as dicts keyed by COLUMNS."""
    out: list[dict[str, str]] = []
    for step in tl.steps.values():
        plan_start = plan_end = plan_dur = ""
        if step.planned is not None and tl.started is not None:
            plan_start = _time(tl.started + step.planned.start_s)
            plan_end = _time(tl.started + step.planned.end_s)
            plan_dur = _secs(step.planned.duration_s)
        base = {
            "run_id": tl.run_id,
            "step": step.id,
            "title": step.title,
            "phase": step.phase,
            "kind": step.kind,
            "planned_start": plan_start,
            "planned_end": plan_end,
            "planned_duration_s": plan_dur,
            "operator": step.operator or "",
            "note": step.note or "",
        }
        # Manual and local steps are one row; a remote step one row per host.
        hosts = [] if step.kind in ("manual", "local") else [h for h in step.host_names if h]
        if not hosts:
            out.append(
                base
                | {
                    "host": "",
                    "actual_start": _time(step.start),
                    "actual_end": _time(step.end),
                    "actual_duration_s": _span(step.start, step.end),
                    "result": step.status,
                    "attempts": str(step.attempts),
                }
            )
            continue
        for name in hosts:
            h = step.hosts.get(name) or HostRecord(name)
            out.append(
                base
                | {
                    "host": name,
                    "actual_start": _time(h.start),
                    "actual_end": _time(h.end),
                    "actual_duration_s": _span(h.start, h.end),
                    "result": _host_result(step, h),
                    "attempts": str(h.attempts),
                }
            )
    return out


def render_csv(events: Iterable[Event]) -> str:
    """The whole CSV document (header first, RFC 4180 quoting, \\r\\n line ends)."""
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=COLUMNS)
    writer.writeheader()
    for row in rows(build_timeline(events)):
        writer.writerow(row | {c: _inert(row[c]) for c in _TEXT_COLUMNS})
    return buf.getvalue()

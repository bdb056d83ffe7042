"""`runbook status` and `runbook runs` for people: rich on a terminal, plain when piped.

Both views render the status document (runbook/app/_status_doc.py), so text and json agree.
Lines are built once as (style, text) pairs: the plain form is the same text unstyled.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from rich.console import Group, RenderableType
from rich.text import Text

from runbook.clock import parse_iso
from runbook.durations import format_duration
from runbook.events import Event
from runbook.journal import RunSummary
from runbook.report import failure_text, host_label
from runbook.visible import visible

Line = list[tuple[str, str]]  # (style, text) segments
BAR = 10

STATUS_STYLE = {
    "succeeded": "green",
    "skipped": "cyan",
    "running": "yellow",
    "waiting": "magenta bold",
    "claimed": "magenta",
    "failed": "red bold",
    "blocked": "red",
    "pending": "dim",
    "interrupted": "yellow bold",
    "aborted": "red bold",
}


def _clock(text: str | None, now: str) -> str:
    """`12:40Z` today, `11-19 12:40Z` another day (UTC, as the journal)."""
    if not text:
        return "?"
    day = "" if text[:10] == now[:10] else f"{text[5:10]} "
    return f"{day}{text[11:16]}Z"


def _in(text: str | None, now: str) -> str:
    if not text:
        return ""
    delta = parse_iso(text) - parse_iso(now)
    return f"in {format_duration(delta)}" if delta >= 0 else f"{format_duration(-delta)} ago"


def _bar(done: int, total: int) -> str:
    filled = round(BAR * done / total) if total else BAR
    return "█" * filled + "░" * (BAR - filled)


def _run_status(doc: Mapping[str, Any]) -> Line:
    status = doc["status"]
    line: Line = [("bold", "status: "), (STATUS_STYLE.get(status, ""), status)]
    if status == "succeeded" and (n := doc.get("tolerated")):
        line.append(("yellow", f" with {n} tolerated failure{'s' if n > 1 else ''}"))
    if status in ("running", "interrupted"):
        if doc["engine_live"]:
            line.append(("", " (engine live)"))
        else:
            line.append(
                ("yellow", f" (no engine running; continue with: runbook resume {doc['run_id']})")
            )
    started = _clock(doc["started"], doc["now"])
    line.append(("", f" · started {started} · elapsed {format_duration(doc['elapsed_s'])}"))
    if doc["finished"]:
        line.append(("", f" · finished {_clock(doc['finished'], doc['now'])}"))
    return line


def _eta(doc: Mapping[str, Any]) -> Line:
    eta, now = doc["eta"], doc["now"]
    rto = ""
    if doc["rto_at"]:
        rto = f"RTO {format_duration(doc['rto_s'])} → {_clock(doc['rto_at'], now)}"
    if doc["finished"]:
        line: Line = [("bold", "finished: "), ("", f"after {format_duration(doc['elapsed_s'])}")]
        if doc["rto_at"]:
            # "met" only for a run that succeeded in time; one that stopped short has not
            # met it yet, whatever the clock says (SPEC: never "met" for a failed run).
            late = parse_iso(doc["finished"]) > parse_iso(doc["rto_at"])
            if doc["status"] == "succeeded":
                word, style = ("missed", "red") if late else ("met", "green")
            else:
                word, style = ("missed", "red") if late else ("not met yet", "yellow")
            line.append((style, f" · {rto} {word}"))
        if eta and eta.get("rto_warning_at"):
            line.append(("", f" · RTO warning given {_clock(eta['rto_warning_at'], now)}"))
        return line
    if not eta or not eta.get("p50"):
        return [("bold", "ETA: "), ("dim", "no forecast yet"), ("", f" · {rto}" if rto else "")]
    line = [
        ("bold", "ETA: "),
        ("", f"P50 {_clock(eta['p50'], now)} ({_in(eta['p50'], now)})"),
        ("", f" · P90 {_clock(eta['p90'], now)} ({_in(eta['p90'], now)})"),
    ]
    if rto:
        line.append(("", f" · {rto}"))
    risk = eta.get("rto_risk")
    if isinstance(risk, (int, float)):
        style = "red bold" if risk >= 0.5 else ("yellow" if risk >= 0.1 else "green")
        line.append((style, f" · risk of missing it {risk:.0%}"))
    if eta.get("rto_warning_at"):
        line.append(("red bold", f" · RTO warning since {_clock(eta['rto_warning_at'], now)}"))
    return line


def _phase_lines(doc: Mapping[str, Any]) -> list[Line]:
    width = max((len(p["name"]) for p in doc["phases"]), default=0)
    lines: list[Line] = []
    for p in doc["phases"]:
        done, total = p["done"], p["total"]
        style = "green" if done == total else ""
        extra = ", ".join(
            f"{n} {status}"
            for status, n in p["counts"].items()
            if n and status not in ("succeeded", "skipped", "pending")
        )
        lines.append(
            [
                ("", f"  {p['name']:<{width}} "),
                (style, _bar(done, total)),
                ("", f" {done}/{total}"),
                (STATUS_STYLE["failed"] if "failed" in extra else "yellow", f"  {extra}"),
            ]
        )
    return lines


def _host_text(s: Mapping[str, Any]) -> str:
    hosts = s["hosts"]
    if not hosts["total"]:
        return ""
    done = hosts["succeeded"] + hosts["skipped"]
    text = f", {done}/{hosts['total']} hosts done"
    if hosts["failed"]:
        text += f", {hosts['failed']} failed"
    return text


def _step_lines(doc: Mapping[str, Any]) -> list[Line]:
    run_id, now = doc["run_id"], doc["now"]
    out: list[Line] = []
    by_status: dict[str, list[Mapping[str, Any]]] = {}
    for s in doc["steps"]:
        by_status.setdefault(s["status"], []).append(s)
    sections = (
        ("running", "running"),
        ("waiting", "waiting for an operator"),
        ("claimed", "being worked on (claimed)"),
        ("failed", "failed"),
        ("blocked", "blocked"),
    )
    for status, heading in sections:
        steps = by_status.get(status, [])
        if not steps:
            continue
        out.append([("bold", f"{heading}:")])
        for s in steps:
            line: Line = [(STATUS_STYLE[status], f"  {s['id']}"), ("", _detail(s, run_id, now))]
            if s.get("tolerated"):  # the run went on without it
                line.append(("yellow", " (tolerated: on_failure continue)"))
            out.append(line)
            out.extend(_more(s, run_id, doc["status"] == "succeeded" or bool(doc["finished"])))
    stuck = [s for s in doc["steps"] if s.get("unclaimable")]
    if stuck:  # team mode: start an engine that reaches them
        out.append([("bold", "waiting for an engine that may run them:")])
        for s in stuck:
            u = s["unclaimable"]
            hosts = f"; no live engine reaches {', '.join(u['hosts'])}" if u["hosts"] else ""
            out.append([(STATUS_STYLE["blocked"], f"  {s['id']}"), ("", f"  {u['why']}{hosts}")])
    return out


def _detail(s: Mapping[str, Any], run_id: str, now: str) -> str:
    status = s["status"]
    text = f"  ({s['phase']}) {format_duration(s['elapsed_s'])}"
    if status == "running":
        text += _host_text(s)
        if s["attempts"] > 1:
            text += f", attempt {s['attempts']}"
    elif status in ("waiting", "claimed"):
        m = s["manual"] or {}
        text = f"  ({s['phase']}) waiting {format_duration(m.get('wait_s') or 0)}"
        if status == "claimed":
            text += f", {m.get('claimed_by')} on it for {format_duration(m.get('work_s') or 0)}"
    elif status == "failed":
        text = f"  ({s['phase']}) {s['reason'] or 'failed'}{_host_text(s)}"
    elif status == "blocked":
        text = f"  by {', '.join(s['blocked_by']) or ', '.join(s['waiting_for']) or '?'}"
    if s["expect"]:
        e = s["expect"]
        text += f"; expected {format_duration(e['remaining_s'])} more ({e['operator']})"
    if s["holds_up"]:
        text += f"; holds up {len(s['holds_up'])} step(s)"
    return text


def _more(s: Mapping[str, Any], run_id: str, finished: bool) -> list[Line]:
    status = s["status"]
    doc: list[Line] = [[("dim", f"      doc: {s['doc']}")]] if s.get("doc") else []
    if status in ("waiting", "claimed") and not finished:
        spec = (s.get("manual") or {}).get("input") or {}
        value = ""
        if spec and not spec.get("secret"):
            choices = spec.get("choices") or []
            value = " --value " + ("|".join(map(str, choices)) if choices else "TEXT")
        command = f"runbook confirm {run_id} {s['id']}{value} [--skip|--fail]"
        return [*doc, [("dim", f"      answer: {command}")]]
    if status != "failed":
        return []
    lines: list[Line] = list(doc)
    for h in s["failed_hosts"][:5]:
        text = failure_text(h["reason"], h["message"], h["exit_code"])  # as the summary
        lines.append([("red", f"      {host_label(h['host'])}: {text}")])
    if len(s["failed_hosts"]) > 5:
        lines.append([("red", f"      … {len(s['failed_hosts']) - 5} more hosts failed")])
    lines.append(
        [
            (
                "dim",
                f"      then: runbook retry {run_id} {s['id']}  or  "
                f"runbook skip {run_id} {s['id']} --note TEXT",
            )
        ]
    )
    return lines


def status_lines(doc: Mapping[str, Any]) -> list[Line]:
    """The status view as styled lines."""
    head = f"run {doc['run_id']}  {doc['playbook']}"
    if doc["title"]:
        head += f" — {doc['title']}"
    lines: list[Line] = [[("bold", head), ("dim", f"  ({doc['mode']})")]]
    lines.append(_run_status(doc))
    lines.append(_eta(doc))
    progress = doc["progress"]
    lines.append([("bold", "progress: "), ("", f"{progress['done']}/{progress['total']} steps")])
    lines.extend(_phase_lines(doc))
    lines.extend(_step_lines(doc))
    # Reasons and notes may quote a command's output, and notes are typed by people.
    return [[(style, visible(text)) for style, text in line] for line in lines]


def status_text(doc: Mapping[str, Any]) -> str:
    """Plain text, for pipes and logs."""
    return "".join("".join(t for _, t in line).rstrip() + "\n" for line in status_lines(doc))


def render_status(doc: Mapping[str, Any]) -> RenderableType:
    """The status view for a terminal."""
    return Group(*(Text.assemble(*((t, st) for st, t in line)) for line in status_lines(doc)))


# -- runs -----------------------------------------------------------------------------------

RUN_COLUMNS = ("run", "playbook", "mode", "started", "status", "progress")


def _run_row(r: RunSummary) -> tuple[str, ...]:
    status = r.status
    if status in ("running", "interrupted") and not r.live:
        status = f"{status} (no engine)"
    return (
        r.run_id,
        r.playbook,
        r.mode,
        r.created[:16].replace("T", " ") + "Z",
        status,
        f"{r.done}/{r.total}",
    )


def runs_text(runs: Sequence[RunSummary]) -> str:
    """Fixed columns, one run a line, newest last (the same on a terminal: ids are copied)."""
    rows = [RUN_COLUMNS, *(_run_row(r) for r in runs)]
    widths = [max(len(row[i]) for row in rows) for i in range(len(RUN_COLUMNS))]
    return "".join(
        "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() + "\n"
        for row in rows
    )


# -- watching without a terminal -----------------------------------------------------------


def event_lines(events: Iterable[Event]) -> Iterable[str]:
    """One plain line per event, for `status --watch` into a pipe or a log."""
    for e in events:
        where = " ".join(x for x in (e.step, e.host) if x)
        d = e.data
        if e.type == "host_output":
            detail = str(d.get("text", "")).rstrip("\n").replace("\n", " ⏎ ")[:200]
        elif e.type == "eta":
            detail = f"p50={d.get('p50')} p90={d.get('p90')} rto_risk={d.get('rto_risk')}"
        else:
            keys = ("answer", "operator", "reason", "result", "attempt", "note", "by")
            detail = " ".join(f"{k}={d[k]}" for k in keys if d.get(k) not in (None, "", []))
        yield visible(" ".join(x for x in (e.ts, e.type, where, detail) if x))

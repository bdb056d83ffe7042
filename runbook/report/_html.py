"""`export --format html`: one self-contained page for the review, on screen and on paper.

No external CSS, script or font: the report must open on a laptop with no network, and
stay readable in ten years. Every piece of journal text is escaped: command output and
operator notes are data, never markup.
"""

from __future__ import annotations

from collections.abc import Iterable

from runbook import __version__
from runbook.durations import format_duration
from runbook.events import Event
from runbook.report._mdtext import percent, utc
from runbook.report._summary import (
    counts_text,
    elapsed,
    eta_moves,
    phase_rows,
    rto_card,
    rto_warning_text,
)
from runbook.report._svg import STATUS_COLORS, esc, eta_chart, gantt
from runbook.report._timeline import Timeline, build_timeline

CSS = """
:root { --ink:#1f2933; --muted:#616e7c; --line:#d9e2ec; --bg:#f5f7fa; --ok:#2e7d32;
  --bad:#c62828; --warn:#ef6c00; }
* { box-sizing: border-box; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue",
  Arial, sans-serif; color: var(--ink); margin: 0; background: #fff; }
main { max-width: 1240px; margin: 0 auto; padding: 24px 28px 48px; }
header { border-bottom: 3px solid var(--ink); padding-bottom: 12px; margin-bottom: 18px; }
h1 { font-size: 24px; margin: 0 0 4px; }
h2 { font-size: 18px; margin: 28px 0 10px; padding-bottom: 4px;
  border-bottom: 1px solid var(--line); }
h3 { font-size: 15px; margin: 16px 0 6px; }
.sub, .muted { color: var(--muted); }
code, pre, .mono { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas,
  "Liberation Mono", monospace; font-size: 12.5px; }
.cards { display: grid; grid-template-columns: repeat(auto-fit, minmax(170px, 1fr));
  gap: 10px; }
.card { border: 1px solid var(--line); border-radius: 6px; padding: 10px 12px;
  background: var(--bg); }
.card .k { font-size: 11px; text-transform: uppercase; letter-spacing: .06em;
  color: var(--muted); }
.card .v { font-size: 17px; font-weight: 600; margin-top: 2px; }
.badge { display: inline-block; padding: 1px 8px; border-radius: 10px; color: #fff;
  font-size: 12px; font-weight: 600; }
table { border-collapse: collapse; width: 100%; margin: 6px 0; }
th, td { text-align: left; padding: 5px 8px; border-bottom: 1px solid var(--line);
  vertical-align: top; }
th { font-size: 12px; text-transform: uppercase; letter-spacing: .04em; color: var(--muted);
  background: var(--bg); }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
pre { background: #102a43; color: #f0f4f8; padding: 10px 12px; border-radius: 6px;
  white-space: pre-wrap; word-break: break-word; max-height: 360px; overflow: auto; }
.legend { display: flex; flex-wrap: wrap; gap: 14px; font-size: 12px; color: var(--muted);
  margin: 4px 0 8px; }
.legend i { display: inline-block; width: 18px; height: 9px; border-radius: 2px;
  vertical-align: middle; margin-right: 4px; }
svg { display: block; font-family: inherit; }
svg .row { fill: #fff; } svg .row.alt { fill: #f8fafc; }
svg .phase-sep { stroke: #9fb3c8; stroke-width: 1; }
svg .phase-head { fill: #eef2f7; }
svg .phase-label { font-size: 11px; font-weight: 600; fill: var(--muted);
  text-transform: uppercase; letter-spacing: .05em; }
svg .grid { stroke: #e4e7eb; stroke-width: 1; }
svg .tick, svg .ytick { font-size: 11px; fill: var(--muted); text-anchor: middle; }
svg .ytick { text-anchor: end; }
svg .tick.clock { fill: #9aa5b1; }
svg .step-label { font-size: 12px; fill: var(--ink);
  font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; }
svg .planned { opacity: .55; }
svg .rto { stroke: var(--bad); stroke-width: 1.5; stroke-dasharray: 6 4; }
svg .finish { stroke: var(--ink); stroke-width: 1.5; }
svg .rto-label { fill: var(--bad); font-size: 11px; font-weight: 600; }
svg .finish-label { fill: var(--ink); font-size: 11px; font-weight: 600; }
svg .band { fill: #90caf9; opacity: .45; stroke: none; }
svg .p50 { fill: none; stroke: #1565c0; stroke-width: 2; }
svg .p90 { fill: none; stroke: #64b5f6; stroke-width: 1; stroke-dasharray: 3 3; }
svg .eta-point { fill: #1565c0; }
svg .axis-title { font-size: 11px; fill: var(--muted); }
details summary { cursor: pointer; color: var(--muted); margin: 6px 0; }
footer { margin-top: 32px; padding-top: 10px; border-top: 1px solid var(--line);
  color: var(--muted); font-size: 12px; }
@page { size: A4 landscape; margin: 12mm; }
@media print {
  body { font-size: 11px; }
  main { max-width: none; padding: 0; }
  h2 { break-after: avoid; }
  tr, .card, figure, pre { break-inside: avoid; }
  pre { background: #fff; color: #000; border: 1px solid #999; max-height: none; }
  .card { background: #fff; }
  details > *:not(summary) { display: block; }
  details summary { display: none; }
}
"""


REHEARSAL_COLOR = "#5e35b1"  # a rehearsal's result is never dressed as a real restore's


def _badge(status: str) -> str:
    color = STATUS_COLORS.get(status, "#607d8b")
    return f'<span class="badge" style="background:{color}">{esc(status)}</span>'


def _run_badge(tl: Timeline) -> str:
    """The run's result; a rehearsal's says so, in its own colour (nothing was restored)."""
    if tl.mode != "rehearsal":
        return _badge(tl.status)
    return (
        f'<span class="badge rehearsal" style="background:{REHEARSAL_COLOR}">'
        f"rehearsal {esc(tl.status)}</span>"
    )


def _dur(seconds: float | None) -> str:
    return "—" if seconds is None else format_duration(seconds)


def render_html(events: Iterable[Event]) -> str:
    """The whole report as one html document."""
    tl = build_timeline(events)
    title = tl.title or tl.playbook or "runbook run"
    if tl.mode == "rehearsal":
        title = f"Rehearsal: {title}"
    sections = [
        _header(tl, title),
        _cards(tl),
        _phases(tl),
        _gantt(tl),
        _eta(tl),
        _decisions(tl),
        _failures(tl),
        _timeline(tl),
        _footer(tl),
    ]
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{esc(title)} — {'rehearsal' if tl.mode == 'rehearsal' else 'run'} "
        f"{esc(tl.run_id)}</title><style>{CSS}</style></head>"
        f"<body><main>{''.join(sections)}</main></body></html>\n"
    )


def _header(tl: Timeline, title: str) -> str:
    who = f" by {esc(tl.operator)}" if tl.operator else ""
    path = f" · <code>{esc(tl.playbook_path)}</code>" if tl.playbook_path else ""
    return (
        f"<header><h1>{esc(title)} {_run_badge(tl)}</h1>"
        f'<div class="sub">Run <code>{esc(tl.run_id)}</code> · playbook '
        f"<b>{esc(tl.playbook)}</b>{path} · {esc(tl.mode)} mode · started "
        f"{esc(utc(tl.started))}{who}</div></header>"
    )


def _cards(tl: Timeline) -> str:
    steps = len(tl.steps)
    done = sum(1 for s in tl.steps.values() if s.status in ("succeeded", "skipped"))
    last = tl.etas[-1] if tl.etas else None
    plan = f"plan P50 {_dur(tl.plan_p50_s)}" if tl.plan_p50_s is not None else ""
    cards = [
        ("Result", _run_badge(tl), esc(utc(tl.finished)) if tl.finished else "not finished"),
        ("Duration", esc(_dur(elapsed(tl))), esc(plan)),
        ("RTO", esc(rto_card(tl)[0]), esc(rto_card(tl)[1])),
        *_warning_card(tl),
        ("Steps", f"{done}/{steps} done", esc(counts_text(tl))),
        ("Decisions", str(len(tl.decisions)), "by operators"),
        ("Failed attempts", str(len(tl.failures)), f"{len(tl.etas)} ETA updates"),
    ]
    if last is not None and tl.finished is None:
        cards.insert(
            2,
            (
                "ETA (P50 / P90)",
                f"{esc(utc(last.p50, False))} / {esc(utc(last.p90, False))}",
                f"RTO risk {percent(last.rto_risk)}",
            ),
        )
    html = "".join(
        f'<div class="card"><div class="k">{k}</div><div class="v">{v}</div>'
        f'<div class="muted">{note}</div></div>'
        for k, v, note in cards
    )
    return f'<section class="cards" id="summary">{html}</section>'


def _warning_card(tl: Timeline) -> list[tuple[str, str, str]]:
    """The RTO warning, when the forecast gave one: the moment it said a miss was likely."""
    text = rto_warning_text(tl)
    if text is None:
        return []
    badge = f'<span class="badge" style="background:{STATUS_COLORS["failed"]}">given</span>'
    return [("RTO warning", badge, esc(text.removeprefix("given ")))]


def _phases(tl: Timeline) -> str:
    rows = []
    for p in phase_rows(tl):
        dur = p.end - p.start if p.start is not None and p.end is not None else None
        rows.append(
            f"<tr><td><b>{esc(p.phase)}</b></td><td>{esc(p.state)}</td>"
            f'<td class="num">{p.count("succeeded", "skipped")}/{len(p.steps)}</td>'
            f'<td class="num">{p.count("failed")}</td><td class="num">{p.count("blocked")}</td>'
            f'<td class="num">{p.count("skipped")}</td><td>{esc(utc(p.start))}</td>'
            f'<td>{esc(utc(p.end))}</td><td class="num">{esc(_dur(dur))}</td></tr>'
        )
    return (
        '<section id="phases"><h2>Phases</h2><table><thead><tr><th>Phase</th><th>State</th>'
        '<th class="num">Done</th><th class="num">Failed</th><th class="num">Blocked</th>'
        '<th class="num">Skipped</th><th>Started</th><th>Finished</th>'
        f'<th class="num">Took</th></tr></thead><tbody>{"".join(rows)}</tbody></table></section>'
    )


def _legend(items: list[tuple[str, str]]) -> str:
    return (
        '<div class="legend">'
        + "".join(f'<span><i style="background:{c}"></i>{esc(t)}</span>' for t, c in items)
        + "</div>"
    )


def _gantt(tl: Timeline) -> str:
    legend = _legend(
        [("planned (P50 schedule)", "#b0bec5"), ("waiting for an operator", "#b39ddb")]
        + [(k, STATUS_COLORS[k]) for k in ("succeeded", "failed", "blocked", "skipped", "running")]
    )
    return (
        '<section id="gantt"><h2>Plan against actual</h2><p class="muted">One row per step: '
        "the thin grey bar is the plan (earliest start from dependencies, likely estimates), "
        "the coloured bar what happened. Times in UTC.</p>"
        f"{legend}<figure>{gantt(tl)}</figure></section>"
    )


def _eta(tl: Timeline) -> str:
    rows = "".join(
        f"<tr><td>{esc(utc(p.ts))}</td><td>{esc(utc(p.p50))}</td><td>{esc(utc(p.p90))}</td>"
        f'<td class="num">{esc(percent(p.rto_risk))}</td><td>{esc(p.method or "")}</td></tr>'
        for p in eta_moves(tl.etas)
    )
    table = (
        "<details><summary>Forecasts that moved the ETA</summary><table><thead><tr>"
        "<th>Forecast at</th><th>P50 finish</th><th>P90 finish</th>"
        f'<th class="num">RTO risk</th><th>Method</th></tr></thead><tbody>{rows}</tbody>'
        "</table></details>"
        if rows
        else ""
    )
    legend = _legend(
        [
            ("P50 forecast", "#1565c0"),
            ("P50–P90 range", "#90caf9"),
            ("RTO deadline", "#c62828"),
            ("actual finish", "#1f2933"),
        ]
    )
    return (
        '<section id="eta"><h2>ETA history</h2><p class="muted">When the restore was '
        "forecast to finish, at each moment of the run.</p>"
        f"{legend}<figure>{eta_chart(tl)}</figure>{table}</section>"
    )


def _decisions(tl: Timeline) -> str:
    rows = "".join(
        f"<tr><td>{esc(utc(e.ts))}</td><td>{esc(e.operator or '')}</td>"
        f"<td><code>{esc(e.step or '')}</code></td><td>{esc(e.text)}</td>"
        f"<td>{esc(e.note or '')}</td></tr>"
        for e in tl.decisions
    )
    if not rows:
        return '<section id="decisions"><h2>Operator decisions</h2><p>None.</p></section>'
    return (
        '<section id="decisions"><h2>Operator decisions</h2><table><thead><tr><th>Time</th>'
        "<th>Who</th><th>Step</th><th>Decision</th><th>Note</th></tr></thead>"
        f"<tbody>{rows}</tbody></table></section>"
    )


def _failures(tl: Timeline) -> str:
    if not tl.failures:
        return '<section id="failures"><h2>Failures</h2><p>None.</p></section>'
    items = []
    for f in tl.failures:
        step = tl.steps.get(f.step)
        outcome = f" — step finally {_badge(step.status)}" if step else ""
        why = f.reason + (f" {f.exit_code}" if f.exit_code is not None else "")
        # A failure of the step as a whole (interrupted, answered fail) names no host.
        where = f" on {esc(f.host)}" if f.host else ""
        msg = f": {esc(f.message)}" if f.message else ""
        cut = ' <span class="muted">(earlier output cut)</span>' if f.truncated else ""
        out = f"<pre>{esc(f.output)}</pre>" if f.output else ""
        if step is not None and step.doc:
            out = f'<div>doc: <a href="{esc(step.doc)}">{esc(step.doc)}</a></div>' + out
        items.append(
            f'<div class="failure"><h3><code>{esc(f.step)}</code>{where}, attempt '
            f"{f.attempt}{outcome}</h3><div>{esc(utc(f.ts))} · {esc(why)}{msg}{cut}</div>"
            f"{out}</div>"
        )
    return f'<section id="failures"><h2>Failures</h2>{"".join(items)}</section>'


def _timeline(tl: Timeline) -> str:
    rows = "".join(
        f'<tr><td class="mono">{esc(utc(e.ts))}</td><td><code>{esc(e.step or "")}</code></td>'
        f"<td>{esc(e.host or '')}</td><td>{esc(e.text)}</td><td>{esc(e.operator or '')}</td>"
        f"<td>{esc(e.note or '')}</td></tr>"
        for e in tl.entries
    )
    return (
        f'<section id="timeline"><h2>Timeline</h2><details><summary>All {len(tl.entries)} '
        "step and operator events</summary><table><thead><tr><th>Time</th><th>Step</th>"
        "<th>Host</th><th>What</th><th>Who</th><th>Note</th></tr></thead>"
        f"<tbody>{rows}</tbody></table></details></section>"
    )


def _footer(tl: Timeline) -> str:
    return (
        f'<footer>{tl.event_count} journal events · chain head <code class="mono">'
        f"{esc(tl.head)}</code><br>Check it: <code>runbook verify {esc(tl.run_id)}</code> "
        f"(or the jsonl export with <code>--head</code>) · generated by runbook "
        f"{esc(__version__)}</footer>"
    )

"""The html report's two charts as inline SVG: plan-vs-actual Gantt and the ETA history.

Plain SVG strings with every label escaped, so the report needs no script, font or
network to draw, and prints as sharp vectors.
"""

from __future__ import annotations

from datetime import UTC, datetime
from html import escape

from runbook.durations import format_duration
from runbook.report._summary import step_order
from runbook.report._timeline import StepRecord, Timeline

WIDTH = 1200
LABEL_W = 250  # step names on the left of the Gantt
RIGHT_PAD = 24
ROW_H = 24
PHASE_H = 18  # the header row naming a phase above its steps
AXIS_H = 34
MIN_BAR_W = 3.0  # a 0-second step still shows
MIN_FAILED_W = 8.0  # a failed attempt is what a review looks for: never a sliver
LABEL_GAP = 14.0  # pixels between two labels that would otherwise overlap
STATUS_COLORS = {
    "succeeded": "#2e7d32",
    "failed": "#c62828",
    "blocked": "#ef6c00",
    "skipped": "#9e9e9e",
    "running": "#1565c0",
    "waiting": "#7b1fa2",
    "claimed": "#7b1fa2",
    "pending": "#cfd8dc",
}
_TICKS = (60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400)


def esc(text: object) -> str:
    return escape(str(text), quote=True)


def _tick_step(span: float, most: int = 10) -> float:
    return next((t for t in _TICKS if span / t <= most), float(_TICKS[-1] * (span // 864000 + 1)))


def _clock(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%H:%M")


class _Scale:
    """Seconds since the epoch → x pixels."""

    def __init__(self, t0: float, t1: float, x0: float, x1: float) -> None:
        self.t0, self.t1 = t0, max(t1, t0 + 60.0)
        self.x0, self.x1 = x0, x1

    def __call__(self, t: float) -> float:
        return self.x0 + (t - self.t0) / (self.t1 - self.t0) * (self.x1 - self.x0)


def _time_axis(scale: _Scale, y: float, height: float, origin: float) -> list[str]:
    """Vertical grid lines with `+1h` and the UTC clock time above them."""
    out = []
    step = _tick_step(scale.t1 - scale.t0)
    k = 0
    while origin + k * step <= scale.t1:
        t = origin + k * step
        if t >= scale.t0:
            x = scale(t)
            out.append(
                f'<line class="grid" x1="{x:.1f}" y1="{y:.1f}" x2="{x:.1f}" '
                f'y2="{y + height:.1f}"/>'
                f'<text class="tick" x="{x:.1f}" y="{y - 18:.1f}">+{format_duration(t - origin)}'
                f'</text><text class="tick clock" x="{x:.1f}" y="{y - 6:.1f}">{_clock(t)}</text>'
            )
        k += 1
    return out


def _marker(
    scale: _Scale, t: float, y: float, height: float, cls: str, label: str, label_y: float
) -> str:
    x = scale(t)
    # Near the right edge the label goes left of the line, so it is never cut off.
    tx, anchor = (x - 4, "end") if x > WIDTH - 110 else (x + 4, "start")
    return (
        f'<line class="{cls}" x1="{x:.1f}" y1="{y:.1f}" x2="{x:.1f}" y2="{y + height:.1f}"/>'
        f'<text class="{cls}-label" x="{tx:.1f}" y="{label_y:.1f}" '
        f'text-anchor="{anchor}">{esc(label)}</text>'
    )


def spread_labels(ys: list[float], gap: float = LABEL_GAP) -> list[float]:
    """Label heights moved apart (in order, downwards) so no two are closer than `gap`."""
    order = sorted(range(len(ys)), key=lambda i: ys[i])
    out = list(ys)
    last: float | None = None
    for i in order:
        if last is not None and out[i] < last + gap:
            out[i] = last + gap
        last = out[i]
    return out


def _bar(x0: float, x1: float, y: float, h: float, cls: str, color: str, tip: str) -> str:
    least = MIN_FAILED_W if color == STATUS_COLORS["failed"] else MIN_BAR_W
    w = max(x1 - x0, least)
    return (
        f'<rect class="{cls}" x="{x0:.1f}" y="{y:.1f}" width="{w:.1f}" height="{h:.1f}" '
        f'fill="{color}" rx="2"><title>{esc(tip)}</title></rect>'
    )


def _actual_bars(tl: Timeline, s: StepRecord, scale: _Scale, y: float) -> list[str]:
    """A bar per stretch of execution (a failed try, then the retry), coloured by outcome."""
    parts = []
    now = tl.finished or tl.last_ts
    for n, seg in enumerate(s.segments):
        end = seg.end if seg.end is not None else (now or seg.start)
        outcome = seg.outcome if seg.end is not None else s.status
        color = STATUS_COLORS.get(outcome, "#607d8b")
        tip = f"{s.id}: {outcome} after {format_duration(end - seg.start)}"
        start = seg.start
        last = n == len(s.segments) - 1
        if last and s.kind == "manual" and (s.wait_s or 0) > 0:
            # Waiting for an operator is not the step's work: drawn apart, lighter.
            start = min(seg.start + (s.wait_s or 0.0), end)
            parts.append(
                _bar(
                    scale(seg.start),
                    scale(start),
                    y,
                    9,
                    "actual wait",
                    "#b39ddb",
                    f"{s.id}: waited {format_duration(start - seg.start)} for an operator",
                )
            )
        parts.append(_bar(scale(start), scale(end), y, 9, "actual", color, tip))
    return parts


def gantt(tl: Timeline) -> str:
    """One row per step: the planned bar (P50 schedule) over the actual one."""
    steps = step_order(tl)
    t0 = (
        tl.started
        if tl.started is not None
        else min((s.start for s in steps if s.start is not None), default=0.0)
    )
    ends = [t0 + s.planned.end_s for s in steps if s.planned is not None]
    ends += [s.end for s in steps if s.end is not None]
    ends += [x for x in (tl.finished, tl.last_ts) if x is not None]
    deadline = tl.rto_deadline
    t1 = max(ends, default=t0 + 3600.0)
    if deadline is not None and deadline <= t1 * 1.0 + (t1 - t0) * 0.25:
        t1 = max(t1, deadline)  # show the RTO line when it is near enough to matter
    scale = _Scale(t0, t1 + (t1 - t0) * 0.02, LABEL_W, WIDTH - RIGHT_PAD)
    phases = len({s.phase for s in steps})
    rows_h = ROW_H * len(steps) + PHASE_H * phases
    height = AXIS_H + rows_h + 18  # room for the "finished" label under the rows
    body: list[str] = []
    phase = None
    y = float(AXIS_H)
    for i, s in enumerate(steps):
        if s.phase != phase:
            # Each phase is a labelled group: a header row names it above its steps.
            phase = s.phase
            body.append(
                f'<g class="phase-group" data-phase="{esc(phase)}">'
                f'<rect class="phase-head" x="0" y="{y}" width="{WIDTH}" height="{PHASE_H}"/>'
                f'<line class="phase-sep" x1="0" y1="{y}" x2="{WIDTH}" y2="{y}"/>'
                f'<text class="phase-label" x="8" y="{y + 13}">{esc(phase or "no phase")}'
                "</text></g>"
            )
            y += PHASE_H
        stripe = ' class="row alt"' if i % 2 else ' class="row"'
        body.append(f'<g class="gantt-row" data-step="{esc(s.id)}" data-status="{esc(s.status)}">')
        body.append(f'<rect{stripe} x="0" y="{y}" width="{WIDTH}" height="{ROW_H}"/>')
        label = s.id if len(s.id) <= 30 else s.id[:29] + "…"
        body.append(
            f'<text class="step-label" x="8" y="{y + 16}">{esc(label)}<title>'
            f"{esc(s.title)} ({esc(s.phase)})</title></text>"
        )
        if s.planned is not None:
            p0, p1 = t0 + s.planned.start_s, t0 + s.planned.end_s
            body.append(
                _bar(
                    scale(p0),
                    scale(p1),
                    y + 3,
                    7,
                    "planned",
                    "#90a4ae",
                    f"{s.id}: planned {format_duration(s.planned.duration_s)} "
                    f"from +{format_duration(s.planned.start_s)}",
                )
            )
        body.extend(_actual_bars(tl, s, scale, y + 12))
        if s.status == "blocked" and s.blocked_at is not None:
            until = tl.finished or tl.last_ts or s.blocked_at
            by = ", ".join(s.blocked_by) or "a failed step"
            body.append(
                _bar(
                    scale(s.blocked_at),
                    scale(until),
                    y + 14,
                    5,
                    "blocked",
                    STATUS_COLORS["blocked"],
                    f"{s.id}: blocked by {by}",
                )
            )
        body.append("</g>")
        y += ROW_H
    grid = _time_axis(scale, AXIS_H, rows_h, t0)
    marks = []
    # "finished" under the rows, "RTO" at their head: never on each other, nor on a bar.
    bottom = AXIS_H + rows_h + 13
    if tl.finished is not None:
        marks.append(_marker(scale, tl.finished, AXIS_H, rows_h, "finish", "finished", bottom))
    if deadline is not None and deadline <= scale.t1:
        marks.append(_marker(scale, deadline, AXIS_H, rows_h, "rto", "RTO", AXIS_H + 12))
    return (
        f'<svg class="gantt" role="img" aria-label="Gantt chart: plan against actual, '
        f'one row per step" viewBox="0 0 {WIDTH} {height}" width="100%" '
        f'xmlns="http://www.w3.org/2000/svg">'
        + "".join(body)
        + "".join(grid)
        + "".join(marks)
        + "</svg>"
    )


def eta_chart(tl: Timeline) -> str:
    """Forecast finish over time: the P50 line inside its P50–P90 band, the RTO and the finish."""
    pts = tl.etas
    if not pts:
        return '<p class="muted">No ETA was recorded for this run.</p>'
    h, top, bottom, left = 340, 44, 40, 90
    x_end = max(tl.finished or pts[-1].ts, pts[-1].ts)
    x_start = tl.started if tl.started is not None else pts[0].ts
    xs = _Scale(x_start, x_end, left, WIDTH - RIGHT_PAD - 150)
    ys_vals = [p.p50 for p in pts] + [p.p90 for p in pts]
    ys_vals += [x for x in (tl.finished, tl.rto_deadline) if x is not None]
    lo, hi = min(ys_vals), max(ys_vals)
    pad = max((hi - lo) * 0.08, 300.0)
    lo, hi = lo - pad, hi + pad

    def y(t: float) -> float:
        return top + (hi - t) / (hi - lo) * (h - top - bottom)

    def path(values: list[tuple[float, float]]) -> str:
        # Step-after: a forecast holds until the next one replaces it.
        d = [f"M{xs(values[0][0]):.1f} {y(values[0][1]):.1f}"]
        d += [f"H{xs(t):.1f}V{y(v):.1f}" for t, v in values[1:]]
        return "".join(d) + f"H{xs(x_end):.1f}"

    p50 = [(p.ts, p.p50) for p in pts]
    p90 = [(p.ts, p.p90) for p in pts]
    back = [f"V{y(p50[-1][1]):.1f}"]
    for i in range(len(p50) - 1, -1, -1):
        back.append(f"H{xs(p50[i][0]):.1f}")
        if i:
            back.append(f"V{y(p50[i - 1][1]):.1f}")
    band = path(p90) + "".join(back)
    out = [
        f'<svg class="eta-chart" role="img" aria-label="ETA history: forecast finish over '
        f'time" viewBox="0 0 {WIDTH} {h}" width="100%" xmlns="http://www.w3.org/2000/svg">'
    ]
    step = _tick_step(hi - lo, 7)
    k = int(lo // step) + 1
    while k * step < hi:
        t = k * step
        out.append(
            f'<line class="grid" x1="{left}" y1="{y(t):.1f}" x2="{xs(x_end):.1f}" '
            f'y2="{y(t):.1f}"/><text class="ytick" x="{left - 8}" y="{y(t) + 4:.1f}">'
            f"{_clock(t)}</text>"
        )
        k += 1
    out.extend(_time_axis(xs, top, h - top - bottom, x_start))
    out.append(f'<path class="band" d="{band}Z"><title>P50–P90 range</title></path>')
    out.append(f'<path class="p90" d="{path(p90)}"/>')
    out.append(f'<path class="p50" d="{path(p50)}"/>')
    for p in pts:
        risk = f", RTO risk {p.rto_risk * 100:.0f}%" if p.rto_risk is not None else ""
        out.append(
            f'<circle class="eta-point" cx="{xs(p.ts):.1f}" cy="{y(p.p50):.1f}" r="2.5">'
            f"<title>{esc(_clock(p.ts))}: P50 {esc(_clock(p.p50))}, P90 {esc(_clock(p.p90))}"
            f"{esc(risk)}</title></circle>"
        )
    lines = [
        (mark, cls, label)
        for mark, cls, label in (
            (tl.rto_deadline, "rto", "RTO deadline"),
            (tl.finished, "finish", "actual finish"),
        )
        if mark is not None
    ]
    label_ys = spread_labels([y(mark) + 4 for mark, _, _ in lines])  # close times: apart
    for (mark, cls, label), ly in zip(lines, label_ys, strict=True):
        out.append(
            f'<line class="{cls}" x1="{left}" y1="{y(mark):.1f}" x2="{xs(x_end):.1f}" '
            f'y2="{y(mark):.1f}"/><text class="{cls}-label" x="{xs(x_end) + 6:.1f}" '
            f'y="{ly:.1f}">{esc(label)} {_clock(mark)}</text>'
        )
    out.append(
        f'<text class="axis-title" x="{left}" y="{h - 8}">forecast made at (UTC) →</text>'
        f'<text class="axis-title" x="12" y="14">forecast finish (UTC) ↓</text>'
    )
    out.append("</svg>")
    return "".join(out)

"""The live board: where a run stands at one moment, as one rich renderable.

`render_board(state, now)` is pure; only `LiveView.tick` (runbook/present/_live.py),
called by the engine loop, puts it on the screen.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from runbook.clock import iso, parse_iso
from runbook.durations import format_duration
from runbook.events import RunState

BAR = 20


def _clock(ts: float) -> str:
    return iso(ts)[11:16]


def _bar(done: int, total: int) -> Text:
    filled = round(BAR * done / total) if total else BAR
    return Text("█" * filled, style="green") + Text("░" * (BAR - filled), style="dim")


def _eta_line(state: RunState, now: float, first: Mapping[str, Any] | None) -> Text:
    eta = state.eta
    if not eta:
        return Text("ETA: computing…", style="dim")
    p50, p90 = parse_iso(str(eta["p50"])), parse_iso(str(eta["p90"]))
    line = Text("ETA ", style="bold")
    line += Text(f"P50 {_clock(p50)} (+{format_duration(max(0.0, p50 - now))})  ", style="bold")
    line += Text(f"P90 {_clock(p90)} (+{format_duration(max(0.0, p90 - now))})")
    if state.rto_s is not None and state.started is not None:
        deadline = state.started + state.rto_s
        risk = eta.get("rto_risk")
        style = "red" if isinstance(risk, float) and risk > 0.5 else "yellow"
        shown = f"{risk:.0%}" if isinstance(risk, (int, float)) else "?"
        line += Text(f"   RTO {_clock(deadline)}: risk {shown}", style=style)
    if first and first is not eta:
        moved = p50 - parse_iso(str(first["p50"]))
        sign = "+" if moved >= 0 else "-"
        line += Text(f"   moved {sign}{format_duration(abs(moved))}", style="dim")
    return line


def render_board(
    state: RunState,
    now: float,
    last_lines: Mapping[tuple[str, str], str] | None = None,
    first_eta: Mapping[str, Any] | None = None,
) -> RenderableType:
    """The whole board for one moment of a run."""
    last_lines = last_lines or {}
    elapsed = format_duration(now - state.started) if state.started else "-"
    # One line whatever the width: the run id first (it is typed), the title last (cut).
    head = Text(f"run {state.run_id} ({state.mode})  elapsed {elapsed}  ", style="bold")
    head += Text(f"{state.playbook}", style="bold") + Text(f"  {state.title}")
    head.no_wrap, head.overflow = True, "ellipsis"
    parts: list[RenderableType] = [head, _eta_line(state, now, first_eta)]

    phases = Table(box=None, show_header=False, pad_edge=False)
    for p in state.phases():
        extra = ", ".join(
            f"{n} {k}" for k, n in sorted(p.counts.items()) if k not in ("succeeded", "skipped")
        )
        phases.add_row(p.name, _bar(p.done, p.total), f"{p.done}/{p.total}", extra)
    parts.append(phases)

    running = [s for s in state.steps.values() if s.status in ("running", "waiting", "claimed")]
    answers: list[str] = []  # the commands to answer waiting steps: wrapped, never cut
    if running:
        # A stopped run's board must not say its steps still run (the last frame stays).
        title = (
            "running"
            if state.status == "running"
            else f"in flight when the run stopped ({state.status})"
        )
        table = Table(box=None, title_justify="left", pad_edge=False, title=title)
        # A step id is what an operator types: folded onto a second line, never cut.
        table.add_column("step", overflow="fold")
        for col in ("hosts", "elapsed / estimate", "last output"):
            table.add_column(col, overflow="ellipsis", no_wrap=True)
        for s in running:
            est = float(s.estimate.get("likely_s", 0) or 0)
            took = format_duration(s.elapsed(now))
            done = sum(1 for h in s.host_states.values() if h.status in ("succeeded", "skipped"))
            hosts = f"{done}/{len(s.host_states)}" if s.kind == "remote" else s.kind
            if s.status in ("waiting", "claimed") and state.status == "running":
                who = f"claimed by {s.claimed_by}" if s.claimed_by else "waiting for an operator"
                last = f"{who} (answer below)"
                answers.append(f"answer {s.id}: runbook confirm {state.run_id} {s.id}")
            else:
                last = next(
                    (line for (sid, _h), line in reversed(list(last_lines.items())) if sid == s.id),
                    "",
                )
            style = "red" if est and s.elapsed(now) > est else ""
            table.add_row(s.id, hosts, Text(f"{took} / {format_duration(est)}", style), last)
        parts.append(table)
        parts.extend(Text(a, style="magenta", overflow="fold") for a in answers)

    problems = state.with_status("failed")
    for s in problems:
        blocked = state.holds_up(s.id)
        text = Text(f"✗ {s.id}: {s.reason or 'failed'}", style="red")
        if blocked:
            text += Text(f"  — blocks {len(blocked)}: {', '.join(blocked[:5])}", style="red")
        parts.append(text)
    return Group(*parts)

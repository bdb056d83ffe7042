"""Drawing a Board: pure functions from a Board to rich text.

The console's panes and the final board on the normal screen draw the same text. Each
pane is laid-out text rather than a rich Table: Textual redraws it cheaply, and a pane as
tall as before is redrawn without a new layout.
"""

from __future__ import annotations

from collections.abc import Sequence

from rich.cells import cell_len
from rich.console import Group, RenderableType
from rich.text import Text

from runbook.clock import iso
from runbook.durations import format_duration
from runbook.present._board import Board, Eta
from runbook.visible import visible

BAND = 36  # cells of the ETA band


def _clock(ts: float) -> str:
    return iso(ts)[11:16] + "Z"


def render_header(board: Board) -> Text:
    """Playbook, run id, mode, status and elapsed time: wraps rather than cuts."""
    end = board.now
    elapsed = format_duration(end - board.started) if board.started else "-"
    head = Text(board.playbook, style="bold")
    if board.title:
        head.append(f" · {board.title}")
    head.append(f"   run {board.run_id}", style="cyan")
    mode = " REHEARSAL" if board.mode == "rehearsal" else ""
    head.append(mode, style="bold magenta")
    style = {"succeeded": "bold green", "running": "bold"}.get(board.status, "bold red")
    head.append(f"   {board.status}", style=style)
    head.append(f" · {elapsed}")
    return head


def _band(board: Board, eta: Eta, width: int) -> Text:
    """A time line from the start: done, the P50-P90 band, and the RTO mark."""
    start = board.started or board.now
    deadline = start + board.rto_s if board.rto_s is not None else None
    end = max(eta.p90, deadline or 0.0, board.now) - start
    scale = (width - 1) / end if end > 0 else 0.0

    def at(ts: float) -> int:
        return min(width - 1, max(0, round((ts - start) * scale)))

    now, p50, p90 = at(board.now), at(eta.p50), at(eta.p90)
    cells: list[tuple[str, str]] = []
    for i in range(width):
        if i <= now:
            cells.append(("█", "green"))
        elif i < p50:
            cells.append(("─", "dim"))
        elif i <= p90:
            cells.append(("▒", "yellow"))
        else:
            cells.append((" ", ""))
    if deadline is not None:
        late = eta.p90 > deadline
        cells[at(deadline)] = ("┃", "bold red" if late else "bold green")
    text = Text()
    for ch, style in cells:
        text.append(ch, style=style)
    return text


def render_eta(board: Board, band: int = BAND) -> Text:
    """ETA P50-P90 against the RTO, the forecast's risk, how it moved, and the band."""
    eta = board.eta
    if board.status != "running":
        return render_outcome(board)
    if eta is None:
        return Text("ETA: computing…", style="dim")
    line = Text("ETA ", style="bold")
    line.append(f"{_clock(eta.p50)}–{_clock(eta.p90)}", style="bold")
    line.append(f" (P50 +{format_duration(max(0.0, eta.p50 - board.now))}")
    line.append(f" · P90 +{format_duration(max(0.0, eta.p90 - board.now))})")
    if board.rto_s is not None and board.started is not None:
        deadline = board.started + board.rto_s
        risk = f"{eta.risk:.0%}" if eta.risk is not None else "?"
        late = eta.p90 > deadline
        line.append(f"  RTO {_clock(deadline)}", style="bold red" if late else "bold green")
        line.append(f" risk {risk}", style="red" if late else "green")
        if eta.warned_at is not None:
            line.append(f"  RTO WARNING since {_clock(eta.warned_at)}", style="bold red")
    moved = eta.p50 - eta.first_p50
    step = eta.p50 - eta.previous_p50
    arrow = "↑" if step > 1 else ("↓" if step < -1 else "→")
    sign = "+" if moved >= 0 else "-"
    line.append(f"  {arrow} {sign}{format_duration(abs(moved))} since start", style="dim")
    line.append("\n")
    line.append_text(_band(board, eta, band))
    line.append("  █ done ─ to P50 ▒ P50–P90", style="dim")
    if board.rto_s is not None:
        line.append(" ┃ RTO", style="dim")
    return line


def render_outcome(board: Board) -> Text:
    """A finished (or interrupted) run's one line: result and time against the RTO."""
    style = "bold green" if board.status == "succeeded" else "bold red"
    took = format_duration(board.now - board.started) if board.started else "-"
    line = Text(f"{board.status.upper()}", style=style)
    line.append(f" after {took}")
    if board.rto_s is not None:
        within = board.started is not None and board.now - board.started <= board.rto_s
        if board.status == "succeeded":
            word = "met" if within else "missed"
        else:
            word = "missed" if not within else "not met yet"
        line.append(f"  RTO {format_duration(board.rto_s)}: {word}")
    return line


def _bar(done: int, total: int, width: int = 20) -> Text:
    filled = round(width * done / total) if total else width
    return Text("█" * filled, style="green") + Text("░" * (width - filled), style="dim")


def render_phases(board: Board) -> Text:
    """One line per phase: a bar, done/total, what is not done yet."""
    name_w = max((cell_len(p.name) for p in board.phases), default=0)
    count_w = max((len(f"{p.done}/{p.total}") for p in board.phases), default=0)
    text = Text()
    for i, p in enumerate(board.phases):
        if i:
            text.append("\n")
        text.append(p.name + " " * (name_w - cell_len(p.name)) + "  ")
        text.append_text(_bar(p.done, p.total))
        text.append(f"  {f'{p.done}/{p.total}':>{count_w}}")
        if p.extra:
            text.append(f"  {p.extra}", style="yellow" if "failed" not in p.extra else "red")
    return text


STATUS_STYLE = {
    "running": "yellow",
    "waiting": "magenta",
    "claimed": "magenta",
    "succeeded": "green",
    "skipped": "blue",
    "failed": "red",
}


def _fit(text: str, width: int) -> str:
    """`text` in `width` cells, cut with '…' (only the last-output column is ever cut)."""
    if cell_len(text) <= width:
        return text
    if width <= 1:
        return "…"[:width]
    out, used = [], 0
    for ch in text:
        used += cell_len(ch)
        if used > width - 1:
            break
        out.append(ch)
    return "".join(out) + "…"


def render_steps(board: Board, selected: str | None = None, width: int = 100) -> Text:
    """Running and waiting steps, then the latest to end, as aligned lines of `width`.

    A step id is never cut: one too wide for its column takes a line of its own and its
    row goes on below it. Only the last output line is shortened to fit.
    """
    rows = (*board.active, *board.finished)
    hosts_w = max([5, *(len(r.where) for r in rows)])
    took = [f"{format_duration(r.elapsed_s)}/{format_duration(r.estimate_s)}" for r in rows]
    took_w = max([11, *(len(t) for t in took)])
    id_w = min(max([4, *(cell_len(r.id) for r in rows)]), max(12, width // 3)) + 2
    last_w = max(0, width - id_w - hosts_w - took_w - 6)
    text = Text()
    text.append(f"{'step':<{id_w}}  {'hosts':<{hosts_w}}  {'elapsed/est':<{took_w}}  ", "bold")
    text.append("last output", style="bold")
    for row, spent in zip(rows, took, strict=True):
        text.append("\n")
        colour = STATUS_STYLE.get(row.status, "")
        mine = row.id == selected
        text.append("▶ " if mine else "  ", style="bold")
        text.append(row.id, style=f"bold {colour}" if mine else colour)
        pad = id_w - 2 - cell_len(row.id)
        if pad < 0:  # too wide: the id alone, the row on the next line
            text.append("\n")
            pad = id_w
        text.append(" " * pad + f"  {row.where:<{hosts_w}}  ")
        late = row.status == "running" and row.estimate_s and row.elapsed_s > row.estimate_s
        text.append(f"{spent:<{took_w}}", style="red" if late else "")
        style = "red" if row.status == "failed" else ("dim" if row in board.finished else "")
        text.append(f"  {_fit(visible(row.last), last_w)}".rstrip(), style=style)
        if board.more_active and row is board.active[-1]:
            text.append(f"\n  … {board.more_active} more running or waiting", style="dim")
    return text


def step_order(board: Board) -> list[str]:
    """The steps the cursor moves over, top to bottom (as render_steps draws them)."""
    return [row.id for row in (*board.active, *board.finished)]


def render_failures(board: Board) -> Text:
    """Each failed step: why, what it holds up, each failed host's last output lines."""
    text = Text()
    for f in board.failures:
        if text:
            text.append("\n")
        text.append(f"✗ {f.step}: {f.reason}", style="bold red")
        if f.holds_up:
            shown = ", ".join(f.holds_up[:5]) + (" …" if len(f.holds_up) > 5 else "")
            text.append(f" — holds up {len(f.holds_up)}: {shown}", style="red")
        for h in f.hosts[:3]:
            text.append(f"\n  {h.host}: {h.why}", style="red")
            for line in h.tail:
                text.append(f"\n    │ {line}", style="dim")
        if len(f.hosts) > 3:
            text.append(f"\n  … and {len(f.hosts) - 3} more hosts failed", style="red")
    return text


def count_words(counts: Sequence[tuple[str, int]]) -> str:
    """'12 succeeded, 1 failed, 3 blocked'."""
    return ", ".join(f"{n} {k}" for k, n in counts) or "no steps"


def render_final(board: Board) -> RenderableType:
    """The board as it ended, for the normal screen above the summary (which names the
    failures and their output: not said twice)."""
    return Group(render_header(board), render_phases(board))

"""The run's summary, left on the normal screen when the console closes.

Result, counts in words, duration against the RTO, each failed step with its last output
lines, and the exact next command.
"""

from __future__ import annotations

from rich.text import Text

from runbook.durations import format_duration
from runbook.events import RunState
from runbook.present._board import board_of
from runbook.present._draw import count_words, render_outcome
from runbook.visible import visible

TAIL_LINES = 5


def next_command(state: RunState) -> str:
    """What the operator types next."""
    run = state.run_id
    failed = state.with_status("failed")
    if state.status == "interrupted" or state.result is None:
        return f"runbook resume {run}"
    if failed:
        return f"runbook retry {run} {failed[0].id}"
    if state.with_status("blocked", "pending"):
        return f"runbook status {run}"
    return f"runbook export {run} --format html -o report.html"


def render_summary(state: RunState, now: float) -> Text:
    """The summary of a run that stopped (or, watched, one that is still going)."""
    board = board_of(state, now)
    text = Text("── summary " + "─" * 40 + "\n", style="dim")
    text.append_text(render_outcome(board))
    text.append(f"   run {state.run_id}")
    if state.mode == "rehearsal":
        text.append(" (rehearsal)")
    text.append(f"\n{count_words(board.counts)}\n")
    for s in state.with_status("failed"):
        text.append(f"✗ {s.id}: {s.reason or 'failed'}\n", style="bold red")
        for h in s.host_states.values():
            if h.status != "failed":
                continue
            code = f" (exit {h.exit_code})" if h.exit_code is not None else ""
            took = f" after {format_duration(h.duration_s)}" if h.duration_s else ""
            where = h.name or "this machine"
            text.append(f"  {where}: {h.reason or 'failed'}{code}{took}\n", style="red")
            lines = [ln for ln in h.tail.splitlines() if ln.strip()][-TAIL_LINES:]
            for line in lines:
                text.append(f"    │ {visible(line)}\n", style="dim")
    text.append("next: ", style="bold")
    text.append(next_command(state))
    return text

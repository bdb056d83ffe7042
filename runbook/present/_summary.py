"""The summary a run ends with: plain lines for pipes, styled text on a terminal.

Both are the same lines (runbook/report/_run_summary.py decides what they say); the
terminal only adds colour, so a screenshot and a log tell the same story. rich is imported
only for the terminal: a piped run's last lines do not wait for it (~40 ms).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, TextIO

from runbook.report import RunSummary

if TYPE_CHECKING:
    from rich.console import RenderableType

RESULT_STYLE = {
    "succeeded": "bold green",
    "failed": "bold red",
    "aborted": "bold red",
    "interrupted": "bold yellow",
    "stopped": "bold yellow",
    "running": "bold",
}
RTO_STYLE = {"met": "green", "missed": "red", "not met yet": "yellow"}


def summary_text(summary: RunSummary) -> str:
    """The summary as plain text, one fact a line."""
    return "".join(line + "\n" for line in summary.lines())


def render_summary(summary: RunSummary) -> RenderableType:
    """The summary, coloured by what it says."""
    from rich.console import Group
    from rich.text import Text

    out: list[Text] = []
    for i, line in enumerate(summary.lines()):
        style = ""
        if i == 0:
            style = RESULT_STYLE.get(summary.result, "bold")
        elif i == 1:
            style = RTO_STYLE.get(summary.rto_word or "", "")
        elif line.lstrip().startswith("failed (tolerated):"):
            style = "yellow"
        elif line.lstrip().startswith(("failed:", "|")) or line.startswith("     "):
            style = "red"
        elif line.lstrip().startswith(("next:", "or:")):
            style = "bold" if "next:" in line else ""
        out.append(Text(line, style=style))
    return Group(*out)


def print_summary(summary: RunSummary, out: TextIO, *, terminal: bool, color: bool) -> None:
    """Print the summary to `out`: styled on a terminal, plain lines otherwise."""
    try:
        if terminal:
            from rich.console import Console

            console = Console(file=out, no_color=not color, highlight=False, soft_wrap=True)
            console.print(render_summary(summary))
        else:
            out.write(summary_text(summary))
        out.flush()
    except (BrokenPipeError, ValueError):
        pass  # a closed pipe (`| head`) has nobody left to tell

"""The panes that change every second: the log follows its end, the steps table's height."""

from __future__ import annotations

from typing import Any

from console_helpers import drive, screen_text, until
from rich.text import Text

from runbook.present._console import RunConsole
from runbook.present._feed import Feed, LogLine
from runbook.present._panes import SteadyHeight


def test_the_log_follows_its_newest_line_and_pages_back() -> None:
    """Lines arrive in bursts, many more than the pane holds: the newest is on screen, and
    PageUp brings older ones back (the pane repaints without a new layout each time)."""
    feed = Feed(run_id="r1")
    app = RunConsole(feed, poll_s=0.05)

    async def script(pilot: Any) -> str:
        for burst in range(6):
            for n in range(50):
                feed.note(LogLine("12:00:00", f"step-{burst * 50 + n:03d}", "succeeded", "", ""))
            await until(pilot, lambda b=burst: f"step-{b * 50 + 49:03d}" in screen_text(app))
        for _ in range(4):
            await pilot.press("pageup")
        await pilot.pause(0.2)
        return screen_text(app)

    paged = drive(app, (80, 24), script)
    assert "step-299" not in paged  # scrolled back: the newest is off screen
    assert "step-2" in paged


def test_the_steps_table_keeps_its_height_a_while_after_it_shrinks() -> None:
    held = SteadyHeight()
    assert held.pad(Text("a\nb\nc"), now=0.0).plain == "a\nb\nc"
    assert held.pad(Text("a"), now=5.0).plain == "a\n\n"  # as tall as before
    assert held.pad(Text("a\nb\nc\nd"), now=6.0).plain == "a\nb\nc\nd"  # grows at once
    assert held.pad(Text("a"), now=15.9).plain == "a\n\n\n"
    assert held.pad(Text("a"), now=16.0).plain == "a"  # smaller for 10 s: it shrinks

"""Snapshots of the console's main screens at 80x24 and 160x50 (fixed clock and data).

Update after an intended change of the screens: pytest tests/present/test_console_snapshots.py
--snapshot-update, then look at the report and the SVGs under __snapshots__/.
"""

from __future__ import annotations

from typing import Any

import pytest
from console_scene import scene_feed, scene_output

from runbook.events import fold
from runbook.present._console import RunConsole
from runbook.present._console_run import summary_of

SIZES = [(80, 24), (160, 50)]


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_the_board_with_a_question_and_a_failure(snap_compare: Any, size: tuple[int, int]) -> None:
    assert snap_compare(RunConsole(scene_feed()), terminal_size=size)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_a_failed_steps_output_on_enter(snap_compare: Any, size: tuple[int, int]) -> None:
    app = RunConsole(scene_feed(), output_of=scene_output)
    keys = ["down"] * 6 + ["enter"]  # the cursor onto zpool-import, the failed step
    assert snap_compare(app, press=keys, terminal_size=size)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_the_end_of_an_interrupted_run(snap_compare: Any, size: tuple[int, int]) -> None:
    feed = scene_feed(ended=True)
    state = feed.final_state or fold([])
    app = RunConsole(feed, summary_of=lambda: summary_of(state, engine_stopped=True), linger_s=3600)
    assert snap_compare(app, terminal_size=size)

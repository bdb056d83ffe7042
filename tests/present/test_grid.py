"""The linear-time table (present/grid.py): alignment, wrapping, and what a terminal shows."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pexpect
from engine_helpers import spawn_tty
from rich.console import Console
from rich.text import Text

from runbook.present._grid import Column, Grid, wrap

ROOT = Path(__file__).resolve().parents[2]
ANSI = re.compile(r"\x1b\[[0-9;]*m")


def _text(grid: Grid, width: int) -> list[str]:
    return ["".join(t for t, _ in pieces) for pieces in grid.lines(width)]


def _grid() -> Grid:
    grid = Grid(
        [Column("n", justify="right"), Column("id"), Column("title", wrap=True, min_width=10)],
        edge=" ",
        header_rule=True,
    )
    grid.add_row("1", "power", "Confirm rooms A and B are energised")
    grid.add_section()
    grid.add_row("12", Text("core-switches", style="bold"), "Core switches")
    return grid


def test_columns_line_up_and_numbers_align_right() -> None:
    lines = _text(_grid(), 200)
    assert lines == [
        "  n  id             title",
        " " + "─" * 54,  # under the whole table: 2 + 2 + 13 + 2 + 35
        "  1  power          Confirm rooms A and B are energised",
        "",
        " 12  core-switches  Core switches",
    ]


def test_only_the_wrapping_column_gives_way_to_a_narrow_terminal() -> None:
    lines = _text(_grid(), 40)
    assert lines[2] == "  1  power          Confirm rooms A and"
    assert lines[3] == "                    B are energised"
    assert all(len(line) <= 40 for line in lines[2:])


def test_an_empty_row_is_a_blank_line() -> None:
    grid = Grid([Column("a"), Column("b")])
    grid.add_row("", "")
    assert _text(grid, 80) == ["a  b", ""]


def test_wrap_cuts_words_wider_than_the_column_and_counts_wide_characters() -> None:
    assert wrap("a-very-long-identifier", 8) == ["a-very-l", "ong-iden", "tifier"]
    assert wrap("電源 確認", 4) == ["電源", "確認"]
    assert wrap("", 5) == [""]


def test_styles_reach_the_terminal_and_plain_text_stays_plain() -> None:
    out = io.StringIO()
    Console(file=out, width=80, force_terminal=True, color_system="standard").print(_grid())
    assert "\x1b[1mcore-switches" in out.getvalue()
    assert (
        ANSI.sub("", out.getvalue()).splitlines()[4].rstrip() == " 12  core-switches  Core switches"
    )


def test_plan_table_on_a_real_terminal_wraps_titles_to_its_width(tmp_path: Path) -> None:
    child = spawn_tty(
        tmp_path,
        "plan",
        str(ROOT / "playbooks" / "datacenter-restore.yml"),
        "-i",
        str(ROOT / "inventory" / "datacenter.yml"),
        dimensions=(50, 90),
    )
    child.expect(pexpect.EOF)
    screen = ANSI.sub("", child.before)
    rows = screen.replace("\r", "").splitlines()
    assert any(r.lstrip().startswith("wave  step") for r in rows)
    assert all(len(r) <= 90 for r in rows), max(rows, key=len)
    # A long title continues under its column instead of pushing the ids off the screen.
    first = next(i for i, r in enumerate(rows) if "downtime-procedures" in r)
    assert rows[first + 1].startswith(" " * 40) and rows[first + 1].strip()

"""Where the state file is found: the current folder, then each parent, as git finds .git."""

from __future__ import annotations

from pathlib import Path

from runbook.cli._state_file import find_state_file, no_journal_text


def test_the_nearest_journal_upwards_wins_else_a_new_one_here(tmp_path: Path) -> None:
    deep = tmp_path / "a" / "b" / "c"
    deep.mkdir(parents=True)
    path, searched = find_state_file(deep)
    assert path == deep / ".runbook" / "state.db"  # none anywhere: created here
    assert searched[:4] == (deep, deep.parent, deep.parent.parent, tmp_path)
    outer = tmp_path / ".runbook" / "state.db"
    outer.parent.mkdir()
    outer.touch()
    assert find_state_file(deep)[0] == outer
    inner = tmp_path / "a" / ".runbook" / "state.db"
    inner.parent.mkdir()
    inner.touch()
    path, searched = find_state_file(deep)
    assert path == inner and searched == (deep, deep.parent, deep.parent.parent)
    (tmp_path / "a" / "b" / ".runbook").mkdir()  # a folder without a state.db is not one
    assert find_state_file(deep)[0] == inner


def test_no_journal_says_where_it_looked_and_how_to_name_one(tmp_path: Path) -> None:
    text = no_journal_text(tmp_path / "x.db", (tmp_path, tmp_path.parent), None)
    assert text.startswith(f"no journal: looked for .runbook/state.db in {tmp_path}, ")
    assert "--state PATH or RUNBOOK_STATE=PATH" in text
    named = no_journal_text(tmp_path / "x.db", (), "RUNBOOK_STATE")
    assert named.startswith(f"no journal at {tmp_path / 'x.db'} (from RUNBOOK_STATE); ")

"""A step's `when` at its start, through the real CLI: what the log says of a skip."""

from __future__ import annotations

from pathlib import Path

from engine_helpers import cli, events, write

PLAYBOOK = """
playbook: branch
steps:
  - id: lag
    local: true
    run: echo 0
    output: int
    example: 0
  - id: wait
    needs: [lag]
    local: true
    when: "steps['lag'].value > 60"
    chance: CHANCE
    run: "true"
"""


def test_a_rehearsal_says_a_when_was_drawn_with_its_chance_not_found_false(
    tmp_path: Path,
) -> None:
    pb = write(tmp_path / "pb.yml", PLAYBOOK.replace("CHANCE", "0%"))
    r = cli(tmp_path / "r.db", "rehearse", str(pb), "--speed", "max")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "wait skipped: when: steps['lag'].value > 60 (drawn at its chance 0%)" in r.stdout
    (skipped,) = [e for e in events(tmp_path / "r.db") if e.type == "step_skipped"]
    assert skipped.data["chance"] == 0
    # a live run evaluated it: false is false
    live = cli(tmp_path / "l.db", "run", str(pb))
    assert live.returncode == 0, live.stdout + live.stderr
    assert "wait skipped: when: steps['lag'].value > 60 is false" in live.stdout
    (skipped,) = [e for e in events(tmp_path / "l.db") if e.type == "step_skipped"]
    assert "chance" not in skipped.data

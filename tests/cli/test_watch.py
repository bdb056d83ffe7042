"""`runbook watch`: the console attached to a run from another terminal."""

from __future__ import annotations

from pathlib import Path

import pexpect
from engine_helpers import cli, events, of_type, spawn, spawn_tty, wait_for, write

MANUAL = """
playbook: watched
title: Watched from another terminal
rto: 1h
steps:
  - id: call-noc
    title: Call the NOC
    phase: power
    manual: "Call the NOC and ask about room A."
    estimate: 5m
  - id: after
    title: After the answer
    phase: apps
    needs: [call-noc]
    local: true
    run: "echo restored"
"""

FAILING = """
playbook: failing
title: Fails
rto: 1h
steps:
  - id: mount-volume
    title: Mount
    phase: storage
    local: true
    run: "echo 'mount: wrong fs type' >&2; exit 3"
"""


def test_watch_answers_a_question_with_its_operator_and_leaves_at_the_end(tmp_path: Path) -> None:
    state = tmp_path / "state.db"
    pb = write(tmp_path / "pb.yml", MANUAL)
    run = spawn(state, "run", str(pb))  # piped: no terminal to ask, the question waits
    wait_for(state, lambda evs: bool(of_type(evs, "manual_waiting")))
    child = spawn_tty(tmp_path, "watch", "--operator", "alice", dimensions=(24, 80))
    child.expect("waiting for you")
    child.expect("runbook confirm")
    child.send("d")
    child.expect("note for the journal")
    child.send("called at 3am\r")
    child.expect(r"== (run|rehearsal) \S+ ")
    child.expect("succeeded")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    assert run.wait(timeout=30) == 0
    answer = of_type(events(state), "manual_answered", "call-noc")[0].data
    assert answer["answer"] == "done" and answer["operator"] == "alice"
    assert answer["note"] == "called at 3am"


def test_watch_on_a_finished_run_prints_the_board_and_summary_and_its_exit_code(
    tmp_path: Path,
) -> None:
    state = tmp_path / "state.db"
    pb = write(tmp_path / "pb.yml", FAILING)
    assert cli(state, "run", str(pb)).returncode == 1
    r = cli(state, "watch")
    assert r.returncode == 1, r.stderr
    lines = r.stdout.splitlines()
    assert any("storage" in line and "0/1" in line for line in lines)  # the final board
    assert f"== run {_run_id(state)} failed in " in r.stdout and ": 1 failed" in r.stdout
    assert "mount: wrong fs type" in r.stdout
    run_id = of_type(events(state), "run_started")[0].run_id
    assert f"next: runbook retry {run_id} mount-volume" in r.stdout


def test_watch_without_a_journal_says_so(tmp_path: Path) -> None:
    r = cli(tmp_path / "state.db", "watch")
    assert r.returncode == 2 and "Traceback" not in r.stderr


def _run_id(state: Path) -> str:
    return of_type(events(state), "run_started")[0].run_id

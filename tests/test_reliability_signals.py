"""Signals at moments the engine does not hold (docs/commands.md, exit codes: 130 after
Ctrl-C or SIGTERM): the command ends as Ctrl-C ends it, never by the signal's default
action (exit 143, and a terminal left in the console's full-screen mode)."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pexpect
from engine_helpers import cli, events, of_type, spawn, spawn_tty, wait_for, write

LONG = """
playbook: long
title: One long step
steps:
  - {id: wait, title: Wait, local: true, run: "sleep 60"}
"""

FAILS = """
playbook: fails
title: Fails at once
steps:
  - {id: break, title: Break, local: true, run: "exit 3"}
"""


def test_sigterm_while_the_playbook_is_read_exits_130(tmp_path: Path) -> None:
    """A playbook named by a FIFO keeps `runbook run` reading it, before anything is
    journaled, for as long as the test likes."""
    fifo = tmp_path / "pb.yml"
    os.mkfifo(fifo)
    proc = spawn(tmp_path / "state.db", "run", str(fifo))
    time.sleep(3)  # imported, parsing its options, blocked opening the FIFO
    assert proc.poll() is None, proc.communicate()
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, (proc.returncode, out, err)
    assert "Traceback" not in out + err
    assert not (tmp_path / "state.db").exists()  # nothing was journaled


def test_sigterm_before_a_resume_goes_on_says_how_to_continue(tmp_path: Path) -> None:
    """`resume` reads the playbook again: a FIFO in its place holds it there, the run
    journaled and not yet taken over."""
    state = tmp_path / "state.db"
    pb = write(tmp_path / "pb.yml", FAILS)
    assert cli(state, "run", str(pb)).returncode == 1
    pb.unlink()
    os.mkfifo(pb)
    proc = spawn(state, "resume", "latest")
    time.sleep(3)
    assert proc.poll() is None, proc.communicate()
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, (proc.returncode, out, err)
    assert "Traceback" not in out + err
    run_id = events(state)[0].run_id
    assert (
        f"run {run_id} interrupted before it went on; continue with: runbook resume {run_id}" in err
    )


def test_sigterm_to_watch_gives_the_terminal_back(tmp_path: Path) -> None:
    state = tmp_path / "state.db"
    run = spawn(state, "run", str(write(tmp_path / "pb.yml", LONG)))
    try:
        wait_for(state, lambda evs: bool(of_type(evs, "host_started")))
        child = spawn_tty(tmp_path, "watch", "latest", dimensions=(24, 80))
        child.expect("local")
        time.sleep(1)
        child.kill(signal.SIGTERM)
        child.expect(pexpect.EOF, timeout=30)
        child.close()
        assert (child.exitstatus, child.signalstatus) == (130, None)
        assert "\x1b[?1049l" in str(child.before)  # the full-screen mode was left
        assert "Traceback" not in str(child.before)
    finally:
        run.send_signal(signal.SIGINT)
        run.communicate(timeout=30)
    assert run.returncode == 130  # the run itself was not touched by watch's signal

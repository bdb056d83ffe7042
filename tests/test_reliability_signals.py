"""Signals at moments the engine does not hold (docs/commands.md, exit codes: 130 after
Ctrl-C, SIGTERM or SIGHUP): the command ends as Ctrl-C ends it, never by the signal's
default action (exit 143 or 129, and a terminal left in the console's full-screen mode);
and a hang-up during a plain run (the console's: tests/present/test_console_pty.py)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pexpect
import pytest
from engine_helpers import (
    Terminal,
    alive,
    cli,
    env,
    events,
    hangs_playbook,
    interrupted_by_sighup,
    of_type,
    resumes_after_go,
    spawn,
    spawn_tty,
    started_command,
    wait_for,
    write,
)

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


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP], ids=lambda s: s.name)
def test_a_signal_while_the_playbook_is_read_exits_130(tmp_path: Path, sig: int) -> None:
    """A playbook named by a FIFO keeps `runbook run` reading it, before anything is
    journaled, for as long as the test likes."""
    fifo = tmp_path / "pb.yml"
    os.mkfifo(fifo)
    proc = spawn(tmp_path / "state.db", "run", str(fifo))
    time.sleep(3)  # imported, parsing its options, blocked opening the FIFO
    assert proc.poll() is None, proc.communicate()
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, (proc.returncode, out, err)
    assert "Traceback" not in out + err
    assert not (tmp_path / "state.db").exists()  # nothing was journaled


def test_ctrl_c_again_while_a_run_stops_is_harmless(tmp_path: Path) -> None:
    """A command that ignores SIGTERM; Ctrl-C pressed over and over (an impatient operator)
    until the command ends: still journaled as interrupted, exit 130, no traceback. A late
    one used to end the process by SIGINT as the interpreter shut down."""
    state = tmp_path / "state.db"
    pb = write(
        tmp_path / "pb.yml",
        """
        playbook: stubborn
        title: Ignores TERM
        steps:
          - {id: s, title: S, local: true, run: "trap '' TERM; echo $$ > pid; exec sleep 60"}
        """,
    )
    for _ in range(3):
        (tmp_path / "pid").unlink(missing_ok=True)
        proc = spawn(state, "run", str(pb))
        command = started_command(tmp_path, 1)
        while proc.poll() is None:
            proc.send_signal(signal.SIGINT)
            time.sleep(0.01)
        out, err = proc.communicate(timeout=30)
        assert proc.returncode == 130, (proc.returncode, out, err)
        assert "Traceback" not in out + err
        assert events(state)[-1].type == "run_interrupted"
        assert not alive(command)


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


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=lambda s: s.name)
def test_a_signal_while_watch_starts_its_console_ends_it_cleanly(tmp_path: Path, sig: int) -> None:
    """Sent as Textual takes the screen: it was raised into Textual as KeyboardInterrupt,
    which printed a traceback on the terminal (or held the exit on Textual's threads)."""
    state = tmp_path / "state.db"
    run = spawn(state, "run", str(hangs_playbook(tmp_path)))
    try:
        started_command(tmp_path, 1)
        for shown in (b"\x1b[?1049h", b"wait"):  # starting; drawn
            with Terminal(state, "watch", "latest") as terminal:
                terminal.wait_for(shown)
                terminal.proc.send_signal(sig)
                assert terminal.exit_code(within=10) == 130
                assert b"Traceback" not in terminal.shown, bytes(terminal.shown)
        assert run.poll() is None
    finally:
        run.send_signal(signal.SIGTERM)
        run.communicate(timeout=30)


def test_a_hang_up_ends_watch_and_not_the_run(tmp_path: Path) -> None:
    """The kernel sends the terminal's session leader SIGCONT with the SIGHUP: the console
    must not take the gone terminal back (it did, and failed with an internal error)."""
    state = tmp_path / "state.db"
    run = spawn(state, "run", str(hangs_playbook(tmp_path)))
    try:
        command = started_command(tmp_path, 1)
        with Terminal(state, "watch", "latest") as terminal:
            terminal.wait_for(b"\x1b[?1049h")  # the console is full-screen
            terminal.wait_for(b"wait")  # and drawn (the step, by its id)
            terminal.hang_up()
            assert terminal.exit_code(within=20) == 130
        assert run.poll() is None and alive(command)
    finally:
        run.send_signal(signal.SIGTERM)
        run.communicate(timeout=30)
    assert run.returncode == 130


def test_a_hang_up_interrupts_a_plain_run_resumably(tmp_path: Path) -> None:
    state = tmp_path / "state.db"
    pb = hangs_playbook(tmp_path)
    # Piped output (as to `tee` or a log file): the hang-up comes as a signal, and the
    # pipe still gets the last lines.
    proc = spawn(state, "run", str(pb))
    command = started_command(tmp_path, 1)
    proc.send_signal(signal.SIGHUP)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, (out, err)
    assert "Traceback" not in out + err
    assert "next: runbook resume" in out
    interrupted_by_sighup(tmp_path, command)

    # `resume --plain` on a terminal that goes away (its SSH session dropped): the kernel
    # hangs it up, and nothing more written to it may fail the run.
    with Terminal(state, "resume", "latest", "--plain") as terminal:
        command = started_command(tmp_path, 2)
        terminal.hang_up()
        assert terminal.exit_code(within=20) == 130
    interrupted_by_sighup(tmp_path, command)

    resumes_after_go(tmp_path)


def test_under_nohup_a_hang_up_is_ignored(tmp_path: Path) -> None:
    state = tmp_path / "state.db"
    pb = hangs_playbook(tmp_path)
    proc = subprocess.Popen(
        ["nohup", sys.executable, "-m", "runbook", "--state", str(state), "run", str(pb)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env(),
        cwd=tmp_path,
    )
    command = started_command(tmp_path, 1)
    proc.send_signal(signal.SIGHUP)
    time.sleep(1)
    assert proc.poll() is None and alive(command)  # the run goes on
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, (out, err)
    assert events(state)[-1].data["reason"] == "SIGTERM"

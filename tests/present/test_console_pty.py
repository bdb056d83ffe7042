"""The console on a real pseudo-terminal: `runbook rehearse` and `runbook run` as typed."""

from __future__ import annotations

import fcntl
import io
import os
import pty
import re
import select
import signal
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path

import pexpect
import pytest
from engine_helpers import (
    Terminal,
    cli,
    env,
    events,
    hangs_playbook,
    interrupted_by_sighup,
    of_type,
    resumes_after_go,
    spawn_tty,
    started_command,
    write,
)

ESCAPES = re.compile(
    r"\x1b(\[[0-9;?<>=]*[ -/]*[@-~]|\][^\x07\x1b]*(\x07|\x1b\\)|[PX^_][^\x1b]*\x1b\\|.)"
)

REHEARSAL = """
playbook: small
title: A small restore
rto: 1h
steps:
  - id: power-on
    title: Power on
    phase: power
    manual: "Switch the room on."
    estimate: 20s
  - id: mount-volume
    title: Mount
    phase: storage
    needs: [power-on]
    run: "mount /srv"
    hosts: [db1]
    estimate: 30s
"""
INVENTORY = """
all:
  hosts:
    db1: {ansible_host: 127.0.0.1}
"""

MANUAL = """
playbook: pty
title: A question while another step runs
rto: 1h
vars: {out: OUT}
steps:
  - id: call-noc
    title: Call the NOC
    phase: power
    manual: "Call the NOC and ask about room A."
    estimate: 5m
  - id: background
    title: Runs while the question waits
    phase: power
    local: true
    run: "sleep 0.5; echo background >> {{ vars.out }}; echo tick"
  - id: after
    title: After the answer
    phase: apps
    needs: [call-noc]
    local: true
    run: "echo after >> {{ vars.out }}"
"""


def _on_pty(args: list[str], cwd: Path, rows: int = 24, cols: int = 80) -> tuple[int, str]:
    """Run `runbook ARGS` with a pty (python's pty module) as its terminal: exit code, text."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
    proc = subprocess.Popen(
        [sys.executable, "-m", "runbook", *args],
        stdin=slave,
        stdout=slave,
        stderr=slave,
        cwd=cwd,
        env=env({"TERM": "xterm-256color"}),
        start_new_session=True,
    )
    os.close(slave)
    out = bytearray()
    end = time.monotonic() + 60
    while time.monotonic() < end:
        ready, _, _ = select.select([master], [], [], 0.2)
        if ready:
            try:
                chunk = os.read(master, 65536)
            except OSError:  # EIO: the child closed the terminal
                break
            if not chunk:
                break
            out += chunk
        elif proc.poll() is not None:
            break
    os.close(master)
    return proc.wait(timeout=10), out.decode("utf-8", "replace")


def _text(raw: str) -> str:
    return ESCAPES.sub("", raw)


def test_rehearse_on_a_terminal_shows_the_console_then_the_summary(tmp_path: Path) -> None:
    pb = write(tmp_path / "pb.yml", REHEARSAL)
    inv = write(tmp_path / "inv.yml", INVENTORY)
    args = ["--state", str(tmp_path / "state.db"), "rehearse", str(pb), "-i", str(inv)]
    code, raw = _on_pty([*args, "--speed", "10", "--seed", "3"], tmp_path)
    assert code == 0, _text(raw)
    screen, _, after = raw.partition("\x1b[?1049l")  # the console leaves the alternate screen
    assert "\x1b[?1049h" in screen  # it was full-screen
    assert "mount-volume" in _text(screen) and "REHEARSAL" in _text(screen)
    summary = _text(after)
    assert f"== rehearsal {run_id(tmp_path)} succeeded in 50s: 2 succeeded" in summary
    assert "RTO 1h00m: met" in summary
    assert f"next: runbook export {run_id(tmp_path)} --format html" in summary


def run_id(tmp_path: Path) -> str:
    return of_type(events(tmp_path / "state.db"), "run_started")[0].run_id


def test_a_question_answered_with_a_key_while_a_step_runs(tmp_path: Path) -> None:
    out = tmp_path / "out.txt"
    pb = write(tmp_path / "pb.yml", MANUAL.replace("OUT", str(out)))
    child = spawn_tty(tmp_path, "run", str(pb), dimensions=(24, 80))
    child.expect("waiting for you")
    # The other step runs to its end while the question waits.
    for _ in range(100):
        if out.exists() and "background" in out.read_text():
            break
        child.expect([pexpect.TIMEOUT], timeout=0.1)
    assert out.read_text().split() == ["background"]
    child.send("d")
    child.expect("note for the journal")
    child.send("\r")
    child.expect(r"== (run|rehearsal) \S+ ")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    assert out.read_text().split() == ["background", "after"]
    evs = events(tmp_path / "state.db")
    answer = of_type(evs, "manual_answered", "call-noc")[0]
    assert answer.data["answer"] == "done" and answer.data["operator"] == "tester"
    assert of_type(evs, "step_succeeded", "background")[0].seq < answer.seq


def test_a_question_answered_elsewhere_leaves_the_console(tmp_path: Path) -> None:
    out = tmp_path / "out.txt"
    pb = write(tmp_path / "pb.yml", MANUAL.replace("OUT", str(out)))
    child = spawn_tty(tmp_path, "run", str(pb), dimensions=(24, 80))
    child.expect("waiting for you")
    r = cli(tmp_path / "state.db", "confirm", "latest", "call-noc", "--operator", "alice")
    assert r.returncode == 0, r.stderr
    child.expect(r"== (run|rehearsal) \S+ ")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    answer = of_type(events(tmp_path / "state.db"), "manual_answered")[0].data
    assert answer["operator"] == "alice"


def test_ctrl_c_journals_the_interruption_and_prints_the_resume_command(tmp_path: Path) -> None:
    pb = write(
        tmp_path / "pb.yml",
        """
        playbook: long
        title: Long
        steps:
          - id: long
            title: Long
            phase: p
            local: true
            run: "sleep 60"
        """,
    )
    child = spawn_tty(tmp_path, "run", str(pb))
    child.expect("long")
    for _ in range(100):
        if of_type(events(tmp_path / "state.db"), "host_started"):
            break
        child.expect([pexpect.TIMEOUT], timeout=0.1)
    child.sendcontrol("c")  # a key to the console, not a signal: it stops the engine
    child.expect(r"== (run|rehearsal) \S+ ")
    child.expect("next:")
    child.expect("runbook resume")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 130
    evs = events(tmp_path / "state.db")
    assert evs[-1].type == "run_interrupted" and evs[-1].data["reason"] == "SIGINT"


def test_sigterm_under_the_console_interrupts_the_run_cleanly(tmp_path: Path) -> None:
    pb = write(
        tmp_path / "pb.yml",
        """
        playbook: long
        title: Long
        steps:
          - id: long
            title: Long
            phase: p
            local: true
            run: "sleep 60"
        """,
    )
    child = spawn_tty(tmp_path, "run", str(pb))
    child.expect("long")
    for _ in range(100):
        if of_type(events(tmp_path / "state.db"), "host_started"):
            break
        child.expect([pexpect.TIMEOUT], timeout=0.1)
    child.kill(signal.SIGTERM)
    child.expect("runbook resume")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 130
    evs = events(tmp_path / "state.db")
    assert evs[-1].type == "run_interrupted" and evs[-1].data["reason"] == "SIGTERM"


def test_a_hang_up_under_the_console_interrupts_the_run_resumably(tmp_path: Path) -> None:
    """The terminal goes away under the console (its SSH session dropped): the run stops as
    on SIGTERM, and the process ends though the console can no longer draw or close."""
    state = tmp_path / "state.db"
    with Terminal(state, "run", str(hangs_playbook(tmp_path))) as terminal:
        command = started_command(tmp_path, 1)
        terminal.wait_for(b"\x1b[?1049h")  # the console is full-screen
        terminal.wait_for(b"wait")  # and drawn (the step, by its id)
        terminal.hang_up()
        assert terminal.exit_code(within=20) == 130
    interrupted_by_sighup(tmp_path, command)
    resumes_after_go(tmp_path)


BREAKS = """
playbook: pty-fail
steps:
  - id: break
    local: true
    run: "echo checking the array; echo disk 3 is gone >&2; exit 3"
    estimate: 1m
  - id: slow
    local: true
    run: "sleep 2"
"""


def test_a_failed_hosts_lines_on_the_console_and_v_shows_the_commands(tmp_path: Path) -> None:
    pb = write(tmp_path / "pb.yml", BREAKS)
    child = spawn_tty(tmp_path, "run", str(pb))
    # While `slow` still runs, the failure is on the board with the host's last lines.
    child.expect("✗ break: run exited 3")
    child.expect("disk 3 is gone")
    child.expect(r"== run \S+ failed in ")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 1

    verbose = spawn_tty(tmp_path, "-v", "run", str(pb))
    verbose.logfile_read = seen = io.StringIO()
    verbose.expect("run: echo checking the array; echo disk 3 is gone >&2; exit 3")
    verbose.expect(pexpect.EOF)
    verbose.close()
    assert verbose.exitstatus == 1
    assert "checking the array" in _text(seen.getvalue())


@pytest.mark.parametrize("how", ["SIGTERM", "SIGINT", "hang-up"])
def test_a_stop_while_the_console_run_reads_its_playbook_ends_it(tmp_path: Path, how: str) -> None:
    """On a terminal the run reads its input on the console's worker thread: a FIFO nobody
    writes holds it there. A stop signal then hung the command for ever (nothing woke the
    wait for the run id)."""
    state = tmp_path / "state.db"
    fifo = tmp_path / "pb.yml"
    os.mkfifo(fifo)
    with Terminal(state, "run", str(fifo)) as terminal:
        time.sleep(3)  # imported, blocked opening the FIFO
        assert terminal.proc.poll() is None, bytes(terminal.shown)
        if how == "hang-up":
            terminal.hang_up()
        else:
            terminal.proc.send_signal(getattr(signal, how))
        assert terminal.exit_code(within=10) == 130
        assert b"Traceback" not in terminal.shown
    assert not state.exists()  # nothing was journaled

"""The process-group marker: added to POSIX-shell commands, cut out of what users see."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

from runbook.executors.ssh._remote_command import (
    ENGINE_MARK,
    MARKER,
    OutputStreams,
    PgidFilter,
    can_wrap,
    kill_command,
    killed_groups,
    orphan_killer,
    wrap,
)


def test_wrapped_command_reports_its_group_and_keeps_its_output() -> None:
    out = subprocess.run(
        ["/bin/sh", "-c", wrap("echo out; echo err >&2; exit 4")],
        capture_output=True,
        text=True,
        start_new_session=True,  # as sshd does: the shell leads its own group
    )
    assert out.returncode == 4
    assert out.stdout == "out\n"
    f = PgidFilter()
    assert f.feed(out.stderr) == "err\n"
    assert f.pgid is not None and f.pgid > 1


def test_marker_split_across_chunks_and_after_rc_noise() -> None:
    f = PgidFilter()
    text = f"bashrc says hi\n{MARKER}4242\nreal error\n"
    shown = "".join(f.feed(text[i : i + 3]) for i in range(0, len(text), 3)) + f.flush()
    assert shown == "bashrc says hi\nreal error\n"
    assert f.pgid == 4242


def test_stderr_without_marker_is_released_not_held_forever() -> None:
    f = PgidFilter()
    assert f.feed("x" * 5000) == "x" * 5000
    assert f.feed("more") == "more"
    assert f.pgid is None


def test_output_streams_decode_utf8_split_across_reads() -> None:
    seen: list[tuple[str, str]] = []
    s = OutputStreams(lambda stream, text: seen.append((stream, text)), None)
    data = "é→ok\n".encode()
    for i in range(len(data)):
        s.out(data[i : i + 1])
    s.err(b"\xff")
    s.flush()
    assert "".join(t for st, t in seen if st == "stdout") == "é→ok\n"
    assert ("stderr", "\ufffd") in seen


def test_only_posix_shells_over_ssh_are_wrapped() -> None:
    assert can_wrap({})
    assert can_wrap({"ansible_shell_type": "bash", "ansible_connection": "ssh"})
    assert not can_wrap({"ansible_shell_type": "powershell"})
    assert not can_wrap({"ansible_shell_type": "fish"})
    assert not can_wrap({"ansible_connection": "network_cli"})


def test_kill_command_runs_in_dash_and_bash() -> None:
    for shell in ("/bin/sh", "/bin/bash"):
        sleeper = subprocess.Popen(["sleep", "60"], start_new_session=True)
        subprocess.run([shell, "-c", kill_command(sleeper.pid, "TERM")], check=True)
        assert sleeper.wait(10) == -15


def test_the_orphan_killer_of_a_team_run_ends_only_the_gone_engines_commands() -> None:
    """Two engines ran commands of one run on a host; one died: only its own end (the
    other's go on), and an engine-less killer (`resume`) ends them all."""
    started = {
        engine: subprocess.Popen(
            ["/bin/sh", "-c", wrap("sleep 60", "run-7f3a", engine)],
            start_new_session=True,
            stderr=subprocess.DEVNULL,
        )
        for engine in ("vm:1:aaaaaa", "vm:2:bbbbbb")
    }
    dead, live = started["vm:1:aaaaaa"], started["vm:2:bbbbbb"]
    for engine, proc in started.items():
        _wait_marked(proc.pid, f"{ENGINE_MARK}={engine}")
    out = subprocess.run(
        ["/bin/sh", "-c", orphan_killer("run-7f3a", 0.2, "vm:1:aaaaaa")],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    assert [g for g, _ in killed_groups(out)] == [dead.pid]
    assert dead.wait(10) != 0 and live.poll() is None
    out = subprocess.run(
        ["/bin/sh", "-c", orphan_killer("run-7f3a", 0.2)], capture_output=True, text=True
    ).stdout
    assert [g for g, _ in killed_groups(out)] == [live.pid]
    assert live.wait(10) != 0


def _wait_marked(pgid: int, mark: str) -> None:
    """Until a process of group `pgid` carries `mark` in its environment: a shell's
    `export` reaches /proc only with the command it then starts (under load, later than
    the test's next line)."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        for entry in Path("/proc").iterdir():
            try:
                if os.getpgid(int(entry.name)) == pgid and (
                    mark.encode() + b"\0" in (entry / "environ").read_bytes()
                ):
                    return
            except (OSError, ValueError):
                continue
        time.sleep(0.02)
    raise AssertionError(f"no process of group {pgid} has {mark} in its environment")

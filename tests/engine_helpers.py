"""Helpers for the engine tests: playbooks in tmp_path, the real CLI, the real journal."""

from __future__ import annotations

import fcntl
import os
import pty
import select
import struct
import subprocess
import sys
import termios
import textwrap
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from runbook.events._event import Event
from runbook.journal import open_journal

State = Path | str  # a SQLite file, or a postgresql:// URL (tests on both backends)


def _cwd(state: State) -> Path | None:
    return state.parent if isinstance(state, Path) else None


def write(path: Path, text: str) -> Path:
    path.write_text(textwrap.dedent(text).lstrip())
    return path


def env(extra: dict[str, str] | None = None) -> dict[str, str]:
    e = dict(os.environ)
    e.pop("RUNBOOK_TEST_KILL_AFTER_EVENT", None)
    e.update({"NO_COLOR": "1", "RUNBOOK_OPERATOR": "tester"})
    e.update(extra or {})
    return e


def cli(
    state: State,
    *args: str,
    extra_env: dict[str, str] | None = None,
    timeout: float = 60,
    cwd: Path | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run `runbook --state STATE ARGS...` to completion."""
    return subprocess.run(
        [sys.executable, "-m", "runbook", "--state", str(state), *args],
        capture_output=True,
        text=True,
        env=env(extra_env),
        timeout=timeout,
        cwd=cwd or _cwd(state),
    )


def spawn(
    state: State, *args: str, extra_env: dict[str, str] | None = None, cwd: Path | None = None
) -> subprocess.Popen[str]:
    """Start `runbook --state STATE ARGS...` in the background."""
    return subprocess.Popen(
        [sys.executable, "-m", "runbook", "--state", str(state), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env(extra_env),
        cwd=cwd or _cwd(state),
    )


def events(state: State, run_id: str | None = None) -> list[Event]:
    with open_journal(state, create=False) as j:
        rid = run_id or j.resolve_run_id("latest")
        return j.events(rid)


def wait_for(state: State, pred: Callable[[list[Event]], bool], timeout: float = 30) -> list[Event]:
    """Poll the journal until `pred(events)` holds (the run must be the latest)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not isinstance(state, Path) or state.exists():
            try:
                evs = events(state)
            except Exception:  # the file may be mid-creation
                evs = []
            if evs and pred(evs):
                return evs
        time.sleep(0.05)
    raise AssertionError("timed out waiting for the journal")


def of_type(evs: Sequence[Event], type_: str, step: str | None = None) -> list[Event]:
    return [e for e in evs if e.type == type_ and (step is None or e.step == step)]


def step_status(evs: Sequence[Event]) -> dict[str, Any]:
    from runbook.events._fold import fold

    return {sid: s.status for sid, s in fold(evs).steps.items()}


def alive(pid: int) -> bool:
    """Whether `pid` runs (a zombie nobody reaped does not: in a container PID 1 may not)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    try:
        return stat.read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return not stat.parent.exists()


def spawn_tty(
    tmp_path: Path,
    *args: str,
    dimensions: tuple[int, int] = (50, 140),
    extra_env: dict[str, str] | None = None,
    timeout: float = 30,
) -> Any:
    """`runbook ARGS` on a real pseudo-terminal (pexpect) of `dimensions` (rows, columns),
    state in tmp_path."""
    import pexpect

    return pexpect.spawn(
        sys.executable,
        ["-m", "runbook", "--state", str(tmp_path / "state.db"), *args],
        env=env(extra_env),
        cwd=str(tmp_path),
        encoding="utf-8",
        timeout=timeout,
        dimensions=dimensions,
    )


def answer_all(child: Any, answers: Sequence[tuple[str, str]]) -> str:
    """Answer each (pattern on screen, keys) in turn, read to the end, close: all the
    terminal showed. Keys go as they are ("\r" is Enter)."""
    import pexpect

    seen = []
    for prompt, reply in answers:
        child.expect(prompt)
        seen.append(child.before + child.after)
        child.send(reply)
    child.expect(pexpect.EOF)
    seen.append(child.before)
    child.close()
    return "".join(seen)


# Run as `python -c TAKE_TERMINAL -m runbook ...` in a new session: the pseudo-terminal on
# its stdin becomes its controlling terminal, as a login shell's does, then runbook runs in
# its place (same pid).
TAKE_TERMINAL = (
    "import fcntl, os, sys, termios; fcntl.ioctl(0, termios.TIOCSCTTY, 0); "
    "os.execv(sys.executable, [sys.executable, *sys.argv[1:]])"
)


class Terminal:
    """`runbook --state STATE ARGS...` on a pseudo-terminal that is its controlling
    terminal. `hang_up` closes the terminal's other end, as sshd does when an SSH session
    drops: the kernel sends the process SIGHUP. Until then what the terminal shows is read
    all along (a terminal nobody reads blocks the program writing to it)."""

    def __init__(self, state: Path, *args: str, rows: int = 24, cols: int = 80) -> None:
        master, slave = pty.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
        self.proc = subprocess.Popen(
            [sys.executable, "-c", TAKE_TERMINAL, "-m", "runbook", "--state", str(state), *args],
            stdin=slave,
            stdout=slave,
            stderr=slave,
            cwd=state.parent,
            env=env({"TERM": "xterm-256color"}),
            start_new_session=True,
        )
        os.close(slave)
        self.shown = bytearray()
        self._master = master
        self._closing = threading.Event()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        try:
            while not self._closing.is_set():
                if not select.select([self._master], [], [], 0.05)[0]:
                    continue
                try:
                    chunk = os.read(self._master, 65536)
                except OSError:  # EIO: the program closed the terminal (it ended)
                    return
                if not chunk:
                    return
                self.shown += chunk
        finally:
            os.close(self._master)

    def __enter__(self) -> Terminal:
        return self

    def __exit__(self, *_exc: object) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.hang_up()

    def wait_for(self, shown: bytes, timeout: float = 30) -> None:
        """Until the terminal has shown `shown` (bytes as written, escapes and all)."""
        deadline = time.monotonic() + timeout
        while shown not in self.shown:
            assert time.monotonic() < deadline, f"not shown: {shown!r} in {bytes(self.shown)!r}"
            time.sleep(0.05)

    def hang_up(self) -> None:
        self._closing.set()
        self._reader.join(10)
        assert not self._reader.is_alive()

    def exit_code(self, within: float) -> int:
        """The program's exit code; it must end within `within` seconds (else killed)."""
        try:
            return self.proc.wait(timeout=within)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError(f"still running {within}s after: {bytes(self.shown)!r}") from None


# Its one step, re-run after an interruption (idempotent), waits until the test creates `go`.
HANGS = """
playbook: hangs
title: One step that waits
steps:
  - id: wait
    title: Wait
    local: true
    idempotent: true
    run: "test -e DIR/go && exit 0; echo $$ > DIR/pid; exec sleep 60"
"""


def hangs_playbook(tmp_path: Path) -> Path:
    """A playbook whose step waits (its command's pid in tmp_path/pid) until tmp_path/go."""
    return write(tmp_path / "pb.yml", HANGS.replace("DIR", str(tmp_path)))


def started_command(tmp_path: Path, attempts: int) -> int:
    """The pid of the step's command (hangs_playbook) once `attempts` were started."""
    wait_for(tmp_path / "state.db", lambda evs: len(of_type(evs, "host_started")) >= attempts)
    pid = tmp_path / "pid"
    for _ in range(200):
        if pid.exists() and pid.read_text().strip():
            return int(pid.read_text())
        time.sleep(0.05)
    raise AssertionError("the command did not start")


def interrupted_by_sighup(tmp_path: Path, command: int) -> None:
    """The run (hangs_playbook) was interrupted by a hang-up, its command stopped."""
    evs = events(tmp_path / "state.db")
    assert evs[-1].type == "run_interrupted" and evs[-1].data["reason"] == "SIGHUP"
    assert not alive(command)  # stopped as for SIGTERM
    (tmp_path / "pid").unlink()


def resumes_after_go(tmp_path: Path) -> None:
    """Let the step of hangs_playbook end (tmp_path/go): `resume` finishes the run."""
    (tmp_path / "go").touch()
    done = cli(tmp_path / "state.db", "resume", "latest")
    assert done.returncode == 0, done.stdout + done.stderr
    assert events(tmp_path / "state.db")[-1].data["result"] == "succeeded"

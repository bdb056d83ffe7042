"""Commands on the control machine: `/bin/sh -c` in its own process group."""

from __future__ import annotations

import codecs
import contextlib
import os
import selectors
import signal
import subprocess
import threading
import time
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path

from runbook.errors import HostError
from runbook.executors._base import NUL_IN_COMMAND, CommandResult, OutputCallback
from runbook.executors._feed import Feed, FeedState
from runbook.executors._files import CopySpec, FetchSpec, local_transfer
from runbook.model import Host

KILL_GRACE_S = 3.0  # SIGTERM first; SIGKILL the group if it is still there after this
DRAIN_AFTER_EXIT_S = 0.5  # a background child may keep the pipes open after `sh` exits
_POLL_S = 0.1


class LocalTransport:
    """Runs each command in a fresh `/bin/sh` session; a timeout kills the whole group.

    Real processes take real time, so durations here use the monotonic clock; this
    transport never runs under a virtual clock.
    """

    def __init__(
        self,
        shell: str = "/bin/sh",
        kill_grace_s: float = KILL_GRACE_S,
        env: Mapping[str, str] | None = None,  # None: this process's environment
    ) -> None:
        self.shell = shell
        self.kill_grace_s = kill_grace_s
        self.env = env
        self._lock = threading.Lock()
        self._groups: set[int] = set()

    def run(
        self,
        host: Host | None,
        command: str,
        *,
        timeout_s: float,
        on_output: OutputCallback,
        cancel: threading.Event,
        feed: Feed | None = None,
    ) -> CommandResult:
        """Run `command`; `host` is ignored (local steps have none)."""
        start = time.monotonic()
        if "\x00" in command:  # from a variable's value: no shell can be given one
            err = HostError("localhost", "error", NUL_IN_COMMAND)
            return CommandResult(None, 0.0, error=err)
        try:
            proc = subprocess.Popen(
                [self.shell, "-c", command],
                stdin=subprocess.DEVNULL if feed is None else subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                start_new_session=True,  # own group: the timeout kills grandchildren too
                close_fds=True,
                env=self.env,
            )
        except OSError as e:
            err = HostError("localhost", "error", f"cannot start {self.shell}: {e.strerror}")
            return CommandResult(None, time.monotonic() - start, error=err)
        with self._lock:
            self._groups.add(proc.pid)
        if feed is not None:
            on_output = _feeding(proc, feed, on_output)
        try:
            timed_out = self._pump(proc, start + max(0.0, timeout_s), on_output, cancel)
        finally:
            with self._lock:
                self._groups.discard(proc.pid)
        code = proc.returncode
        if timed_out or cancel.is_set():
            code = None
        return CommandResult(code, time.monotonic() - start, timed_out=timed_out)

    def _pump(
        self,
        proc: subprocess.Popen[bytes],
        deadline: float,
        on_output: OutputCallback,
        cancel: threading.Event,
    ) -> bool:
        """Stream output until the process ends; True when it had to be killed for time."""
        assert proc.stdout is not None and proc.stderr is not None
        sel = selectors.DefaultSelector()
        decoders: dict[str, codecs.IncrementalDecoder] = {}
        for pipe, name in ((proc.stdout, "stdout"), (proc.stderr, "stderr")):
            os.set_blocking(pipe.fileno(), False)
            sel.register(pipe, selectors.EVENT_READ, name)
            decoders[name] = codecs.getincrementaldecoder("utf-8")(errors="replace")
        timed_out = False
        exited_at: float | None = None
        try:
            while True:
                if sel.get_map():
                    _read(sel, decoders, on_output)
                elif exited_at is None:
                    # Output closed, but the process may go on (`exec >/dev/null; work`).
                    with contextlib.suppress(subprocess.TimeoutExpired):
                        proc.wait(_POLL_S)
                now = time.monotonic()
                if exited_at is None and proc.poll() is not None:
                    exited_at = now
                if exited_at is not None:
                    # A background child may hold the pipes open after `sh` is gone.
                    if not sel.get_map() or now - exited_at > DRAIN_AFTER_EXIT_S:
                        break
                elif now >= deadline or cancel.is_set():
                    timed_out = not cancel.is_set()
                    self._kill_group(proc)
                    exited_at = time.monotonic()
            for name, dec in decoders.items():
                tail = dec.decode(b"", final=True)
                if tail:
                    on_output(name, tail)
        finally:
            sel.close()
            proc.stdout.close()
            proc.stderr.close()
        return timed_out

    def _kill_group(self, proc: subprocess.Popen[bytes]) -> None:
        """SIGTERM the process group, then SIGKILL it after the grace period."""
        pgid = proc.pid
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pgid, signal.SIGTERM)
        until = time.monotonic() + self.kill_grace_s
        while time.monotonic() < until:
            proc.poll()
            if not _group_alive(pgid):
                break
            time.sleep(0.02)
        else:
            # Children that ignored SIGTERM, or outlived `sh`, still hold the group.
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(pgid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(self.kill_grace_s)  # reap `sh`

    def transfer(
        self,
        host: Host | None,
        spec: CopySpec | FetchSpec,
        *,
        on_output: OutputCallback,
        cancel: threading.Event,
        timeout_s: float = 3600.0,
    ) -> CommandResult:
        """`copy` or `fetch` on this machine: a plain copy."""
        start = time.monotonic()
        result = local_transfer(spec, on_output, cancel)
        return replace(result, duration_s=time.monotonic() - start)

    def kill_all(self) -> None:
        """SIGKILL every process group still running (interrupt, engine shutdown)."""
        with self._lock:
            groups = list(self._groups)
        for pgid in groups:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(pgid, signal.SIGKILL)

    def close(self) -> None:
        self.kill_all()


def _feeding(
    proc: subprocess.Popen[bytes], feed: Feed, on_output: OutputCallback
) -> OutputCallback:
    """`on_output` that also answers the command's stdin as its stderr shows (_feed.py)."""
    pipe = proc.stdin
    assert pipe is not None

    def send(data: bytes) -> None:
        with contextlib.suppress(OSError):  # the command may have ended already
            pipe.write(data)
            pipe.flush()

    def close() -> None:
        with contextlib.suppress(OSError):
            pipe.close()

    state = FeedState(feed, send, close)
    state.start()

    def on(stream: str, text: str) -> None:
        if stream == "stderr":
            text = state.stderr(text)
        if text:
            on_output(stream, text)

    return on


def _group_alive(pgid: int) -> bool:
    """Whether a process of group `pgid` still runs (zombies waiting for a reaper do not)."""
    try:
        os.killpg(pgid, 0)
    except (ProcessLookupError, PermissionError):
        return False
    proc = Path("/proc")
    if not proc.is_dir():
        return True
    for stat in proc.glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        # After "(comm)": state, ppid, pgrp, ...
        if len(fields) > 2 and fields[2] == str(pgid) and fields[0] != "Z":
            return True
    return False


def _read(
    sel: selectors.BaseSelector,
    decoders: dict[str, codecs.IncrementalDecoder],
    on_output: OutputCallback,
) -> None:
    """Read whatever the pipes have within one poll interval."""
    for key, _ in sel.select(_POLL_S):
        try:
            data = os.read(key.fd, 65536)
        except BlockingIOError:
            continue
        if not data:
            sel.unregister(key.fileobj)
            continue
        text = decoders[key.data].decode(data)
        if text:
            on_output(key.data, text)

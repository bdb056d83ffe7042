"""What every transport provides, and the bounded output buffer the engine drains.

The engine runs `skip_if → run → until → verify`, timeouts, retries and output bounding once
for every transport (STYLE rule 9); a transport only runs one command on one host.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from runbook.connection import LOCAL, connection
from runbook.errors import HostError
from runbook.executors._feed import Feed
from runbook.model import Host

Action = Literal["skip_if", "run", "until", "verify", "copy", "fetch"]
ACTIONS: tuple[Action, ...] = ("skip_if", "run", "until", "verify")  # the shell commands
FILE_ACTIONS: tuple[Action, ...] = ("copy", "fetch")  # transfers: executors/_files.py

# Per host and action: what the journal receives live, then only the tail. A 200 MB stdout
# costs at most STREAM_BUDGET + TAIL_BYTES in the journal and TAIL_BYTES in memory.
STREAM_BUDGET = 64 * 1024
TAIL_BYTES = 16 * 1024
HOLD_BACK = 256  # longest secret an unterminated line is never cut through


@dataclass(frozen=True)
class Commands:
    """The rendered commands of one step for one host (None: not in the step)."""

    skip_if: str | None = None
    run: str | None = None
    until: str | None = None
    verify: str | None = None
    # The same commands as they may be journaled and shown, when a secret went through a
    # filter into them (secret_forms.py); None: the commands themselves.
    shown: Commands | None = field(default=None, compare=False, repr=False)
    stdin: str | None = None  # given to `run`
    password: str | None = field(default=None, compare=False, repr=False)  # sudo -S
    copy: str | None = None  # what a copy does, as shown; its work is `files`
    fetch: str | None = None
    files: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)

    def get(self, action: Action) -> str | None:
        return getattr(self, action)  # type: ignore[no-any-return]

    def feed(self, action: Action) -> Feed | None:
        """What `action`'s command reads on stdin (None: nothing to give it)."""
        stdin = self.stdin if action == "run" else None
        if stdin is None and self.password is None:
            return None
        return Feed(stdin, self.password)

    def display(self, action: Action) -> str | None:
        """`action`'s command as it may be journaled and shown (still to be redacted)."""
        return (self.shown or self).get(action)


def runs_locally(host: Host) -> bool:
    """Ansible's `ansible_connection: local` (typically `localhost`): the host is this
    machine, its commands run here without SSH, as Ansible runs them."""
    return connection(host.vars) == LOCAL


NUL_IN_COMMAND = "the command holds a NUL character (from a variable?), which no shell can run"


@dataclass(frozen=True)
class CommandResult:
    """How one command ended on one host."""

    exit_code: int | None  # None when the command did not finish
    duration_s: float
    timed_out: bool = False
    error: HostError | None = None  # connection-level failure (kind as in host_failed.reason)
    data: Mapping[str, Any] | None = None  # a copy's or fetch's record for the journal

    @property
    def ok(self) -> bool:
        return self.exit_code == 0 and not self.timed_out and self.error is None


OutputCallback = Callable[[str, str], None]  # (stream "stdout"|"stderr", text)


class Transport(Protocol):
    """Runs one command on one host (None: the control machine) and reports how it ended.

    `run` blocks its worker thread; it streams decoded text through `on_output` as it
    arrives, gives up after `timeout_s` (killing what it started, `timed_out=True`), and
    returns promptly with `exit_code=None` once `cancel` is set. It must be safe to call
    from several threads at once, and must never raise for a host problem: those come
    back as `CommandResult.error`.
    """

    def run(
        self,
        host: Host | None,
        command: str,
        *,
        timeout_s: float,
        on_output: OutputCallback,
        cancel: threading.Event,
        feed: Feed | None = None,
    ) -> CommandResult: ...

    def close(self) -> None: ...


@dataclass(frozen=True)
class OutputChunk:
    """Text ready for a `host_output` event."""

    stream: str
    text: str
    truncated: bool = False
    omitted_bytes: int = 0


class OutputBuffer:
    """Thread-safe, bounded capture of one command's output.

    The worker thread `write`s; the engine thread `drain`s complete lines while the
    command runs (so a secret is never split across two events before redaction), and
    `finish`es with whatever is left. Past STREAM_BUDGET characters per stream, only the
    last TAIL_BYTES are kept and the rest is counted, never stored.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pending: dict[str, str] = {"stdout": "", "stderr": ""}
        self._streamed: dict[str, int] = {"stdout": 0, "stderr": 0}
        self._omitted: dict[str, int] = {"stdout": 0, "stderr": 0}

    def write(self, stream: str, text: str) -> None:
        """Called by the transport, from its worker thread."""
        if not text:
            return
        with self._lock:
            pending = self._pending.get(stream, "") + text
            over_budget = self._streamed.get(stream, 0) >= STREAM_BUDGET
            limit = TAIL_BYTES if over_budget else STREAM_BUDGET + TAIL_BYTES
            if len(pending) > limit:
                cut = len(pending) - limit
                # Start the tail at a line: a cut through a line could leave the end of a
                # secret that no longer matches the redactor.
                line = pending.find("\n", cut, cut + TAIL_BYTES // 2) + 1
                cut = line or cut
                self._omitted[stream] = self._omitted.get(stream, 0) + cut
                pending = pending[cut:]
            self._pending[stream] = pending

    def drain(self) -> list[OutputChunk]:
        """Complete lines written since the last drain, within the streaming budget."""
        out: list[OutputChunk] = []
        with self._lock:
            for stream in ("stdout", "stderr"):
                if self._streamed[stream] >= STREAM_BUDGET or self._omitted[stream]:
                    continue  # over budget: the tail comes out in finish()
                pending = self._pending[stream]
                cut = pending.rfind("\n") + 1
                # A long line without a newline is sent anyway rather than held forever,
                # less its end, which may be the start of a secret still being written.
                if cut == 0 and len(pending) >= TAIL_BYTES:
                    cut = len(pending) - HOLD_BACK
                if cut == 0:
                    continue
                room = STREAM_BUDGET - self._streamed[stream]
                if cut > room:
                    # Never split a line at the budget (a secret across two events would
                    # escape redaction): what does not fit whole goes to the tail.
                    cut = pending.rfind("\n", 0, room) + 1
                    if cut == 0:
                        self._streamed[stream] = STREAM_BUDGET
                        continue
                text, self._pending[stream] = pending[:cut], pending[cut:]
                self._streamed[stream] += len(text)
                out.append(OutputChunk(stream, text))
        return out

    def finish(self) -> list[OutputChunk]:
        """Everything still held, marking streams that lost text in the middle."""
        out: list[OutputChunk] = []
        with self._lock:
            for stream in ("stdout", "stderr"):
                text, omitted = self._pending[stream], self._omitted[stream]
                self._pending[stream] = ""
                if text or omitted:
                    out.append(OutputChunk(stream, text, omitted > 0, omitted))
        return out

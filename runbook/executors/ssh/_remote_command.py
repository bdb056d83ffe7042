"""How a command is sent to a remote shell and read back, so a timeout can kill it.

What works with OpenSSH (measured against 9.2, see tests/test_ssh_transport.py):
- sshd runs each non-pty command under `setsid`, so the login shell's `$$` is the process
  group of everything the command starts;
- closing the channel or the whole connection kills nothing: the command keeps running;
- the SSH "signal" channel request does `killpg`, but sshd refuses it for root logins
  ("session signalling requires privilege separation"), and restores often log in as root.
So a POSIX-shell host gets its command prefixed with one line that prints `$$` to stderr;
the line is cut out of the output, and a timeout sends `kill -s TERM -- -PGID`, then KILL
after a grace period, over a second channel of the same connection. Hosts without a POSIX
shell (`ansible_shell_type`/`ansible_connection` say so) get the signal request instead.
"""

from __future__ import annotations

import codecs
import re
import select
import shlex
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any, Protocol

from runbook.connection import SSH, connection

MARKER = "runbook-pgid:"
RUN_MARK = "RUNBOOK_SSH_RUN_ID"  # like runbook/executors/_orphans.py's local mark, its own name
ENGINE_MARK = "RUNBOOK_SSH_ENGINE_ID"  # team mode: which engine of the run started it
_SCAN_LIMIT = 4096  # the marker comes first; give up looking after this much stderr
_MARKER_LINE = re.compile(re.escape(MARKER) + r"(\d+)\r?\n")
_POSIX_SHELLS = {"", "sh", "bash", "zsh", "ksh", "dash", "ash"}
DRAIN_AFTER_EXIT_S = 1.0  # a background child may hold stdout open after the shell exits
_POLL_S = 0.2  # how often a running command's loop looks at `cancel` and the deadline


class Channel(Protocol):
    """What is used of a paramiko Channel, structurally: paramiko stays out of here."""

    closed: bool
    eof_received: int  # paramiko keeps it as 0/1
    status_event: threading.Event

    def recv_ready(self) -> bool: ...
    def recv(self, nbytes: int) -> bytes: ...
    def recv_stderr_ready(self) -> bool: ...
    def recv_stderr(self, nbytes: int) -> bytes: ...
    def exit_status_ready(self) -> bool: ...
    def fileno(self) -> int: ...


def can_wrap(host_vars: Mapping[str, Any]) -> bool:
    """Whether the host runs commands through a POSIX shell (Ansible's variables say)."""
    shell = str(host_vars.get("ansible_shell_type") or "").lower()
    return shell in _POSIX_SHELLS and connection(host_vars) == SSH


def wrap(command: str, run_id: str | None = None, engine: str | None = None) -> str:
    """`command` preceded by the line that reports the process group, and by the run's
    mark (and, in team mode, its engine's) in the environment of everything it starts
    (see `orphan_killer`)."""
    mark = f"export {RUN_MARK}={shlex.quote(run_id)}\n" if run_id else ""
    if run_id and engine:
        mark += f"export {ENGINE_MARK}={shlex.quote(engine)}\n"
    return f'echo "{MARKER}$$" >&2\n{mark}{command}'


def orphan_killer(run_id: str, grace_s: float, engine: str | None = None) -> str:
    """A POSIX shell script that ends every process group on the host whose processes
    carry `run_id`'s mark, and prints `killed PGID COMMAND` for each.

    Closing an SSH connection kills nothing, so the commands of an engine that died are
    still running on their hosts; `resume` holds the run, so whatever still carries its
    mark is an orphan (as runbook/executors/_orphans.py does on the control machine). The mark is in
    the environment, not the command line: a shell may exec its last command. Reads
    /proc (Linux); elsewhere it finds nothing. Its own group is never a candidate.
    With `engine` (team mode: other engines' commands on the host are no orphans), only
    the processes that engine started.
    """
    mark = shlex.quote(f"{RUN_MARK}={run_id}")
    emark = shlex.quote(f"{ENGINE_MARK}={engine}") if engine else ""
    also = (
        f"""  tr '\\000' '\\n' < "$d/environ" 2>/dev/null | grep -qxF {emark} || continue\n"""
        if engine
        else ""
    )
    return f"""mark={mark}
groups=
for d in /proc/[0-9]*; do
  tr '\\000' '\\n' < "$d/environ" 2>/dev/null | grep -qxF "$mark" || continue
{also}  g=$(sed 's/.*) //' "$d/stat" 2>/dev/null | cut -d' ' -f3)
  case "$g" in ''|*[!0-9]*) continue ;; esac
  [ "$g" = "$$" ] && continue
  case " $groups " in *" $g "*) continue ;; esac
  groups="$groups $g"
  echo "killed $g $(tr '\\000' ' ' < "$d/cmdline" 2>/dev/null | cut -c1-300)"
done
[ -n "$groups" ] || exit 0
for g in $groups; do kill -s TERM -- "-$g" 2>/dev/null; done
sleep {grace_s:g}
for g in $groups; do kill -s KILL -- "-$g" 2>/dev/null; done
exit 0
"""


def killed_groups(output: str) -> list[tuple[int, str]]:
    """(pgid, command) of each `killed` line `orphan_killer` printed."""
    found = []
    for line in output.splitlines():
        parts = line.split(" ", 2)
        if len(parts) >= 2 and parts[0] == "killed" and parts[1].isdigit():
            found.append((int(parts[1]), parts[2].strip() if len(parts) > 2 else ""))
    return found


def kill_command(pgid: int, signal: str) -> str:
    """Signal a whole process group (`kill -s SIG -- -PGID`: the POSIX form dash accepts)."""
    return f"kill -s {signal} -- -{pgid} 2>/dev/null; exit 0"


class PgidFilter:
    """Takes the marker line out of a command's stderr and remembers the group id."""

    def __init__(self) -> None:
        self.pgid: int | None = None
        self._held = ""
        self._done = False

    def feed(self, text: str) -> str:
        """The stderr text to pass on (held back until the marker line is seen)."""
        if self._done:
            return text
        self._held += text
        m = _MARKER_LINE.search(self._held)
        if m:
            self.pgid = int(m.group(1))
            out = self._held[: m.start()] + self._held[m.end() :]
            self._held, self._done = "", True
            return out
        if len(self._held) > _SCAN_LIMIT:
            return self.flush()
        return ""

    def flush(self) -> str:
        """Whatever is still held (the command ended before the marker was complete)."""
        out, self._held, self._done = self._held, "", True
        return out


class OutputStreams:
    """Incremental UTF-8 decoding of stdout and stderr, with the marker line cut out."""

    def __init__(self, emit: Callable[[str, str], None], pgids: PgidFilter | None) -> None:
        self._emit = emit
        self._pgids = pgids
        self._out = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._err = codecs.getincrementaldecoder("utf-8")(errors="replace")

    def out(self, data: bytes) -> None:
        text = self._out.decode(data)
        if text:
            self._emit("stdout", text)

    def err(self, data: bytes) -> None:
        text = self._err.decode(data)
        if self._pgids is not None:
            text = self._pgids.feed(text)
        if text:
            self._emit("stderr", text)

    def flush(self) -> None:
        """Pass on what the decoders and the marker filter still hold."""
        out, err = self._out.decode(b"", final=True), self._err.decode(b"", final=True)
        if self._pgids is not None:
            err = self._pgids.feed(err) + self._pgids.flush()
        if out:
            self._emit("stdout", out)
        if err:
            self._emit("stderr", err)


def pump(chan: Channel, streams: OutputStreams, deadline: float, cancel: threading.Event) -> bool:
    """Stream output until the command ends; True when stopped for time or `cancel`."""
    # A pipe paramiko sets when either stream has data: no polling lag. Waited on with
    # poll(), never select(): select() fails for a descriptor past 1024, which a run with a
    # few hundred hosts reaches. A poll object holds no descriptor of its own (epoll
    # would), and is used bare: selectors' wrapper costs more than the wait, per command.
    readable = select.poll()
    readable.register(chan.fileno(), select.POLLIN)
    return _pump(chan, streams, deadline, cancel, readable)


def _pump(
    chan: Channel,
    streams: OutputStreams,
    deadline: float,
    cancel: threading.Event,
    readable: select.poll,
) -> bool:
    exited_at: float | None = None
    while True:
        _drain(chan, streams)
        now = time.monotonic()
        ended = chan.eof_received or chan.closed
        if chan.exit_status_ready():
            exited_at = exited_at or now
            if ended or now - exited_at > DRAIN_AFTER_EXIT_S:
                _drain(chan, streams)  # what arrived between the drain above and the EOF
                return False
        if now >= deadline or cancel.is_set():
            return True
        wait = min(_POLL_S, deadline - now)
        if ended:  # the pipe stays readable after EOF: wait for the status instead
            chan.status_event.wait(wait)
        else:
            readable.poll(wait * 1000)  # ms


def _drain(chan: Channel, streams: OutputStreams) -> None:
    while chan.recv_ready():
        streams.out(chan.recv(65536))
    while chan.recv_stderr_ready():
        streams.err(chan.recv_stderr(65536))


def stop_group(
    chan: Channel, pgid: int, side_command: Callable[[str], bool], grace_s: float
) -> bool:
    """TERM the command's process group, wait, KILL what is left (children that ignore TERM
    outlive the shell). False when not even the first kill could be sent."""
    if not side_command(kill_command(pgid, "TERM")):
        return False
    chan.status_event.wait(grace_s)  # set when the channel closes
    side_command(kill_command(pgid, "KILL"))
    chan.status_event.wait(1.0)
    return True


def stop_by_signal(chan: Channel, send: Callable[[str], None], grace_s: float) -> bool:
    """The SSH "signal" request, for hosts whose shell cannot report its group."""
    send("TERM")
    if not chan.status_event.wait(grace_s):
        send("KILL")
        chan.status_event.wait(1.0)
    return True

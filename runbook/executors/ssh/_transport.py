"""Commands on inventory hosts over SSH: `SshTransport`, the Transport for remote steps.

One connection per server for the whole run (`ConnectionPool`), opened lazily by ssh.py's
`Connector`; the jumps of a ProxyJump chain are pooled too. Each command gets a session
channel of its own; one that outlives its timeout is stopped (remote_command.py), and its
end is read as an exit status, a timeout or a lost connection. Separate from ssh.py, the
only paramiko importer, whose names this uses: like ssh.py it is imported lazily, only
when a run has remote steps.
"""

from __future__ import annotations

import functools
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from pathlib import Path

from runbook.errors import HostError
from runbook.executors import (
    NUL_IN_COMMAND,
    CommandResult,
    CopySpec,
    Feed,
    FeedState,
    FetchSpec,
    OutputCallback,
)
from runbook.executors.ssh._channel import (
    NotSent,
    close_channel,
    feeding,
    send_eof,
    send_signal,
    side_command,
    start_command,
)
from runbook.executors.ssh._client import (
    CONN_ERRORS,
    Conn,
    Connector,
    HostKeyCallback,
    SessionChannel,
    close_conn,
    config_lookup,
    connection_ended,
    open_session,
)
from runbook.executors.ssh._known_hosts import KnownHosts
from runbook.executors.ssh._pool import ConnectionPool
from runbook.executors.ssh._remote_command import (
    OutputStreams,
    PgidFilter,
    can_wrap,
    killed_groups,
    orphan_killer,
    pump,
    stop_by_signal,
    stop_group,
    wrap,
)
from runbook.executors.ssh._socket import describe
from runbook.executors.ssh._target import (
    Hop,
    Target,
    TargetResolver,
    default_known_hosts,
    default_ssh_config,
)
from runbook.model import Host

PoolKey = tuple[tuple[str, str, int, tuple[str, ...]], ...]

CONNECT_TIMEOUT_S = 10.0
KEEPALIVE_S = 15  # an SSH keepalive every 15 s of silence ...
DEAD_AFTER_S = 45.0  # ... and the kernel drops the link if that stays unacked 45 s
KILL_GRACE_S = 3.0
_POLL_S = 0.2  # how often a wait for a free session looks at `cancel`


class SshTransport:
    """The `Transport` for remote steps (see executors/base.py)."""

    def __init__(
        self,
        hosts: Mapping[str, Host] | None = None,
        *,
        ssh_config: Path | None = None,  # None: $RUNBOOK_SSH_CONFIG, else ~/.ssh/config
        known_hosts: Sequence[Path] | None = None,  # None: default_known_hosts()
        inventory_sources: Sequence[str | Path] = (),  # a `known_hosts` beside them counts
        accept_new_host_keys: bool = False,
        on_host_key_accepted: HostKeyCallback | None = None,
        connect_timeout_s: float = CONNECT_TIMEOUT_S,
        keepalive_s: int = KEEPALIVE_S,
        dead_after_s: float = DEAD_AFTER_S,
        kill_grace_s: float = KILL_GRACE_S,
        allow_agent: bool = True,
        key_dir: Path | None = None,  # default keys (id_*) folder; None: ~/.ssh
    ) -> None:
        config_path = ssh_config if ssh_config is not None else default_ssh_config()
        self._resolver = TargetResolver(hosts or {}, config_lookup(config_path))
        if known_hosts is None:
            known_hosts = default_known_hosts([str(s) for s in inventory_sources])
        self._connector = Connector(
            KnownHosts(known_hosts),
            accept_new_host_keys=accept_new_host_keys,
            on_host_key_accepted=on_host_key_accepted,
            connect_timeout_s=connect_timeout_s,
            keepalive_s=keepalive_s,
            dead_after_s=dead_after_s,
            allow_agent=allow_agent,
            key_dir=key_dir if key_dir is not None else Path("~/.ssh").expanduser(),
        )
        self.connect_timeout_s = connect_timeout_s
        self.kill_grace_s = kill_grace_s
        # Set by the session: every command then carries the run's mark, so that a resume
        # after a crashed engine can end those still running (`end_orphans`).
        self.run_id: str | None = None
        self.engine: str | None = None  # team mode: the engine's id, in the mark too
        self._lock = threading.Lock()
        self._targets: dict[str, Target] = {}
        self._chains: dict[PoolKey, tuple[Hop, ...]] = {}
        self._pool: ConnectionPool[PoolKey, Conn] = ConnectionPool(
            self._open, lambda c: c.transport.is_active(), close_conn
        )

    @property
    def on_host_key_accepted(self) -> HostKeyCallback | None:
        """Told of each new host key accepted (the session journals it)."""
        return self._connector.on_host_key_accepted

    @on_host_key_accepted.setter
    def on_host_key_accepted(self, callback: HostKeyCallback | None) -> None:
        self._connector.on_host_key_accepted = callback

    # -- the Transport protocol ---------------------------------------------------------

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
        """Run `command` on `host` over its pooled connection."""
        start = time.monotonic()
        if host is None:
            err = HostError("localhost", "error", "the SSH transport needs a host")
            return CommandResult(None, 0.0, error=err)
        if cancel.is_set():
            return CommandResult(None, 0.0)
        if "\x00" in command:  # the server would drop the whole connection over it
            return CommandResult(None, 0.0, error=HostError(host.name, "error", NUL_IN_COMMAND))
        deadline = start + max(0.0, timeout_s)
        pgids = PgidFilter() if can_wrap(host.vars) else None
        if pgids is not None:
            command = wrap(command, self.run_id, self.engine)
        try:
            target = self.target(host)
            conn, chan = self._session(target, deadline, cancel, command)
        except HostError as e:
            return CommandResult(
                None, time.monotonic() - start, error=HostError(host.name, e.kind, e.detail)
            )
        if conn is None or chan is None:  # cancelled or out of time waiting for a session
            timed_out = not cancel.is_set()
            return CommandResult(None, time.monotonic() - start, timed_out=timed_out)
        try:
            fed = None
            if feed is not None:
                on_output, fed = feeding(chan, feed, on_output)
            return self._exec(host, conn, chan, pgids, deadline, on_output, cancel, start, fed)
        finally:
            close_channel(chan)
            conn.sessions.release()

    def transfer(
        self,
        host: Host | None,
        spec: CopySpec | FetchSpec,
        *,
        on_output: OutputCallback,
        cancel: threading.Event,
        timeout_s: float = 3600.0,
    ) -> CommandResult:
        """`copy` or `fetch` over SFTP on `host`'s pooled connection (one of its session
        slots, like a command)."""
        from runbook.executors.ssh._sftp import sftp_transfer

        start = time.monotonic()
        if host is None:
            err = HostError("localhost", "error", "the SSH transport needs a host")
            return CommandResult(None, 0.0, error=err)
        try:
            target = self.target(host)
            conn, chan = self._session(target, start + max(0.0, timeout_s), cancel)
        except HostError as e:
            err = HostError(host.name, e.kind, e.detail)
            return CommandResult(None, time.monotonic() - start, error=err)
        if conn is None or chan is None:
            return CommandResult(None, time.monotonic() - start, timed_out=not cancel.is_set())
        try:
            result = sftp_transfer(chan, spec, on_output, cancel, host.name, timeout_s)
        except CONN_ERRORS as e:
            self._pool.discard(target.key, conn)
            detail = f"connection to {target.hop.endpoint} lost during SFTP: {describe(e)}"
            err = HostError(host.name, "dropped", detail)
            return CommandResult(None, time.monotonic() - start, error=err)
        finally:
            close_channel(chan)
            conn.sessions.release()
        return replace(result, duration_s=time.monotonic() - start)

    def end_orphans(
        self, host: Host, run_id: str, timeout_s: float, engine: str | None = None
    ) -> list[tuple[int, str]]:
        """End the process groups a dead engine of `run_id` (that one, `engine`, in team
        mode) left running on `host`: (pgid, command) of each; HostError when the host
        cannot be reached to look."""
        if not can_wrap(host.vars):
            return []  # no POSIX shell: its commands were never marked
        out: list[str] = []
        result = self.run(
            host,
            orphan_killer(run_id, self.kill_grace_s, engine),
            timeout_s=timeout_s,
            on_output=lambda stream, text: out.append(text) if stream == "stdout" else None,
            cancel=threading.Event(),
        )
        if result.error is not None:
            raise result.error
        return killed_groups("".join(out))

    def warm(self, hosts: Iterable[Host]) -> None:
        """Start connecting to `hosts` now, in the background, ahead of their first command.
        A failure is not reported here: the first command on the host gets it, as it would
        have connecting itself. Started from a thread of its own: each start waits for the
        GIL, which the handshakes already started contend for; the caller goes on at once.
        """
        threading.Thread(target=self._warm, args=(list(hosts),), daemon=True).start()

    def _warm(self, hosts: Sequence[Host]) -> None:
        for host in hosts:
            try:
                target = self.target(host)
            except HostError:
                continue  # a ProxyJump loop: the host's first command reports it
            self._pool.warm(target.key)

    def close(self) -> None:
        """Close every connection (targets first, then their jumps)."""
        self._pool.close()
        self._connector.close()

    # -- targets and connections --------------------------------------------------------

    def target(self, host: Host) -> Target:
        """Where `host` really is (cached); HostError for a ProxyJump loop."""
        with self._lock:
            found = self._targets.get(host.name)
        if found is None:
            found = self._resolver.resolve(host)
            with self._lock:
                self._targets[host.name] = found
                for i in range(1, len(found.chain) + 1):  # the jumps are pooled too
                    prefix = found.chain[:i]
                    self._chains.setdefault(Target(prefix[-1], prefix[:-1]).key, prefix)
        return found

    def endpoint(self, host: Host) -> str:
        """`user@address:port`, with its jumps, for tables and messages."""
        target = self.target(host)
        via = " via " + ",".join(j.label for j in target.jumps) if target.jumps else ""
        return target.hop.endpoint + via

    def _session(
        self, target: Target, deadline: float, cancel: threading.Event, command: str | None = None
    ) -> tuple[Conn | None, SessionChannel | None]:
        """A fresh session channel, `command` started on it (if any); one reconnect if the
        pooled connection is found dead before the command was sent. A connection lost
        after that is the command's error: it may have started, so it is not sent again."""
        lost = ""  # the connection this command was to use, found dead: said if no other
        for attempt in (1, 2):
            held = self._pool.peek(target.key)
            if not lost and held is not None and not held.transport.is_active():
                lost = f"connection to {target.hop.endpoint} lost"
            try:
                conn = self._pool.get(target.key)
            except HostError as e:
                if not lost:
                    raise
                raise HostError(e.host, e.kind, f"{lost}; reconnecting: {e.detail}") from e
            while not conn.sessions.acquire(timeout=_POLL_S):
                if cancel.is_set() or time.monotonic() >= deadline:
                    return None, None
            chan = None
            try:
                chan = open_session(conn, self.connect_timeout_s, target.hop.label)
                if command is not None:
                    start_command(chan, command)
                return conn, chan
            except HostError:  # the server refused a session
                conn.sessions.release()
                raise
            except (NotSent, *CONN_ERRORS) as e:
                if chan is not None:
                    close_channel(chan)
                conn.sessions.release()
                self._pool.discard(target.key, conn)
                sent = chan is not None and not isinstance(e, NotSent)
                why = describe(e.why if isinstance(e, NotSent) else e)
                when = " as the command started" if sent else ""
                lost = f"connection to {target.hop.endpoint} lost{when}: {why}"
                if attempt == 2 or sent:
                    raise HostError(target.hop.label, "dropped", lost) from e
        raise AssertionError("unreachable")

    def _open(self, key: PoolKey) -> Conn:
        """Pool opener: the jump's pooled connection first (if any), then dial and log in."""
        with self._lock:
            chain = self._chains[key]
        hop = chain[-1]
        jump = None
        if len(chain) > 1:
            try:
                jump = self._pool.get(key[:-1])
            except HostError as e:
                raise HostError(hop.label, e.kind, f"via {e.host}: {e.detail}") from e
        return self._connector.open(hop, jump)

    # -- one command ----------------------------------------------------------------------

    def _exec(
        self,
        host: Host,
        conn: Conn,
        chan: SessionChannel,
        pgids: PgidFilter | None,
        deadline: float,
        on_output: OutputCallback,
        cancel: threading.Event,
        start: float,
        fed: FeedState | None = None,
    ) -> CommandResult:
        stream = OutputStreams(on_output, pgids)
        key, endpoint = self.target(host).key, self.target(host).hop.endpoint
        try:
            if fed is not None:
                fed.start()  # stdin now that the command runs (or after sudo's prompt)
            else:
                send_eof(chan)  # EOF at once, as /dev/null for local commands
            stopped = pump(chan, stream, deadline, cancel)
        except CONN_ERRORS as e:
            stream.flush()
            self._pool.discard(key, conn)
            detail = f"connection to {endpoint} lost during the command: {describe(e)}"
            err = HostError(host.name, "dropped", detail)
            return CommandResult(None, time.monotonic() - start, error=err)
        answered = not stopped or self._kill(conn, chan, pgids.pgid if pgids else None)
        stream.flush()
        duration = time.monotonic() - start
        if not answered:
            self._pool.discard(key, conn)
            detail = f"{endpoint} stopped answering: the command outlived its timeout and "
            detail += "no kill could be sent (connection lost?)"
            return CommandResult(None, duration, error=HostError(host.name, "dropped", detail))
        if stopped:
            return CommandResult(None, duration, timed_out=not cancel.is_set())
        if (lost := _lost(conn, chan, duration)) is not None:
            self._pool.discard(key, conn)
            err = HostError(host.name, "dropped", f"connection to {endpoint} lost {lost}")
            return CommandResult(None, duration, error=err)
        if chan.exit_status >= 0 and chan.exit_status_ready():
            return CommandResult(chan.exit_status, duration)
        detail = "the command ended without an exit status (killed by a signal?)"
        return CommandResult(None, duration, error=HostError(host.name, "error", detail))

    def _kill(self, conn: Conn, chan: SessionChannel, pgid: int | None) -> bool:
        """Stop a command that ran out of time; False if the server no longer answers."""
        if pgid is None:  # no POSIX shell: only the SSH signal request can reach it
            return stop_by_signal(chan, lambda sig: send_signal(chan, sig), self.kill_grace_s)
        side = functools.partial(side_command, conn.transport, min(self.connect_timeout_s, 5.0))
        return stop_group(chan, pgid, side, self.kill_grace_s)


def _lost(conn: Conn, chan: SessionChannel, duration: float) -> str | None:
    """When the connection was lost, if it was before the command's end was all read."""
    status = chan.exit_status >= 0 and chan.exit_status_ready()
    # with its status, only a channel closed before its EOF may have lost output (still
    # open: a background child holds stdout, the connection is fine)
    if (status and (chan.eof_received or not chan.closed)) or not connection_ended(conn):
        return None
    if status:  # sshd may send the status before output it still holds: that is lost
        return f"before the command's output ended (it exited {chan.exit_status})"
    return f"during the command after {duration:.1f}s"

"""Commands on inventory hosts over SSH: the only module that imports paramiko.

One connection per server for the whole run (`ConnectionPool`), opened lazily; ProxyJump
chains are built from `direct-tcpip` channels of the (pooled) jump connections, since
paramiko has no ProxyJump. Host keys are checked by `known_hosts.py`, never by paramiko's
Auto/Warning policies: we drive `paramiko.Transport` directly and check the key ourselves
before authenticating. Every paramiko or socket error becomes a `HostError` here.
"""

from __future__ import annotations

import contextlib
import functools
import importlib
import os
import re
import socket
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import paramiko
from paramiko.common import cMSG_CHANNEL_REQUEST
from paramiko.message import Message
from paramiko.pkey import UnknownKeyType

from runbook.errors import HostError, InputError, Issue
from runbook.executors.base import CommandResult, OutputCallback
from runbook.executors.known_hosts import KnownHosts, fingerprint
from runbook.executors.pool import ConnectionPool
from runbook.executors.remote_command import (
    OutputStreams,
    PgidFilter,
    can_wrap,
    pump,
    stop_by_signal,
    stop_group,
    wrap,
)
from runbook.executors.ssh_socket import describe, dial
from runbook.executors.ssh_target import (
    ConfigLookup,
    Hop,
    Target,
    TargetResolver,
    default_known_hosts,
    default_ssh_config,
    no_config,
    read_ssh_config,
)
from runbook.model import Host, Location

HostKeyCallback = Callable[[str, str, str], None]  # (host, key type, SHA256 fingerprint)
PoolKey = tuple[tuple[str, str, int, tuple[str, ...]], ...]

CONNECT_TIMEOUT_S = 10.0
KEEPALIVE_S = 15  # an SSH keepalive every 15 s of silence ...
DEAD_AFTER_S = 45.0  # ... and the kernel drops the link if that stays unacked 45 s
KILL_GRACE_S = 3.0
# OpenSSH's MaxSessions is 10 per connection; keep one free for the kill channel.
SESSIONS_PER_CONNECTION = 8
DEFAULT_KEY_NAMES = ("id_ed25519", "id_ecdsa", "id_rsa")
_POLL_S = 0.2  # how often a wait for a free session looks at `cancel`
_CONN_ERRORS = (paramiko.SSHException, OSError, EOFError)
_MATCH_EXEC = re.compile(r"^\s*match\b.*\bexec\b", re.IGNORECASE | re.MULTILINE)


@dataclass
class _Conn:
    transport: paramiko.Transport
    hop: Hop
    sessions: threading.BoundedSemaphore = field(
        default_factory=lambda: threading.BoundedSemaphore(SESSIONS_PER_CONNECTION)
    )


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
        self._resolver = TargetResolver(hosts or {}, _config_lookup(config_path))
        if known_hosts is None:
            known_hosts = default_known_hosts([str(s) for s in inventory_sources])
        self.known_hosts = KnownHosts(known_hosts)
        self.accept_new_host_keys = accept_new_host_keys
        self.on_host_key_accepted = on_host_key_accepted
        self.connect_timeout_s = connect_timeout_s
        self.keepalive_s = keepalive_s
        self.dead_after_s = dead_after_s
        self.kill_grace_s = kill_grace_s
        self._allow_agent = allow_agent
        self._key_dir = key_dir if key_dir is not None else Path("~/.ssh").expanduser()
        self._lock = threading.Lock()
        self._targets: dict[str, Target] = {}
        self._chains: dict[PoolKey, tuple[Hop, ...]] = {}
        self._keys: dict[str, paramiko.PKey | str] = {}  # path → key, or why it is unusable
        self._agent: paramiko.Agent | None = None
        self._pool: ConnectionPool[PoolKey, _Conn] = ConnectionPool(
            self._open, lambda c: c.transport.is_active(), _close_conn
        )

    # -- the Transport protocol ---------------------------------------------------------

    def run(
        self,
        host: Host | None,
        command: str,
        *,
        timeout_s: float,
        on_output: OutputCallback,
        cancel: threading.Event,
    ) -> CommandResult:
        """Run `command` on `host` over its pooled connection."""
        start = time.monotonic()
        if host is None:
            err = HostError("localhost", "error", "the SSH transport needs a host")
            return CommandResult(None, 0.0, error=err)
        if cancel.is_set():
            return CommandResult(None, 0.0)
        deadline = start + max(0.0, timeout_s)
        try:
            target = self.target(host)
            conn, chan = self._session(target, deadline, cancel)
        except HostError as e:
            return CommandResult(
                None, time.monotonic() - start, error=HostError(host.name, e.kind, e.detail)
            )
        if conn is None or chan is None:  # cancelled or out of time waiting for a session
            timed_out = not cancel.is_set()
            return CommandResult(None, time.monotonic() - start, timed_out=timed_out)
        try:
            return self._exec(host, conn, chan, command, deadline, on_output, cancel, start)
        finally:
            chan.close()
            conn.sessions.release()

    def warm(self, hosts: Iterable[Host]) -> None:
        """Start connecting to `hosts` now, in the background, ahead of their first command.

        A failure is not reported here: the first command on the host gets it, as it would
        have connecting itself.
        """
        for host in hosts:
            try:
                target = self.target(host)
            except HostError:
                continue  # a ProxyJump loop: the host's first command reports it
            self._pool.warm(target.key)

    def close(self) -> None:
        """Close every connection (targets first, then their jumps)."""
        self._pool.close()
        with self._lock:
            agent, self._agent = self._agent, None
        if agent is not None:
            agent.close()

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
        self, target: Target, deadline: float, cancel: threading.Event
    ) -> tuple[_Conn | None, paramiko.Channel | None]:
        """A fresh session channel; one reconnect if the pooled connection died meanwhile."""
        for attempt in (1, 2):
            conn = self._pool.get(target.key)
            while not conn.sessions.acquire(timeout=_POLL_S):
                if cancel.is_set() or time.monotonic() >= deadline:
                    return None, None
            try:
                return conn, conn.transport.open_session(timeout=self.connect_timeout_s)
            except paramiko.ChannelException as e:
                conn.sessions.release()
                raise HostError(
                    target.hop.label, "error", f"server refused a session: {e.text}"
                ) from e
            except _CONN_ERRORS as e:
                conn.sessions.release()
                self._pool.discard(target.key, conn)
                if attempt == 2:
                    raise HostError(
                        target.hop.label, "dropped", f"connection lost: {describe(e)}"
                    ) from e
        raise AssertionError("unreachable")

    def _open(self, key: PoolKey) -> _Conn:
        """Pool opener: dial (or tunnel through the jump's connection), check key, log in."""
        with self._lock:
            chain = self._chains[key]
        hop = chain[-1]
        if len(chain) == 1:
            sock: socket.socket | paramiko.Channel = dial(
                hop, self._timeout(hop), self.dead_after_s
            )
        else:
            try:
                jump = self._pool.get(key[:-1])
            except HostError as e:
                raise HostError(hop.label, e.kind, f"via {e.host}: {e.detail}") from e
            sock = self._tunnel(jump, hop)
        transport = paramiko.Transport(sock)
        try:
            self._handshake(transport, hop)
        except HostError:
            transport.close()
            raise
        except _CONN_ERRORS as e:
            transport.close()
            raise _handshake_error(hop, e) from e
        transport.set_keepalive(self.keepalive_s)
        return _Conn(transport, hop)

    def _tunnel(self, jump: _Conn, hop: Hop) -> paramiko.Channel:
        where = f"jump {jump.hop.label} ({jump.hop.endpoint})"
        try:
            return jump.transport.open_channel(
                "direct-tcpip",
                (hop.address, hop.port),
                ("127.0.0.1", 0),
                timeout=self._timeout(hop),
            )
        except paramiko.ChannelException as e:
            text = (e.text or "").lower()
            kind = "refused" if "refused" in text else "dns" if "resolve" in text else "unreachable"
            detail = f"{where} cannot reach {hop.address}:{hop.port}: {e.text or e.code}"
            raise HostError(hop.label, kind, detail) from e
        except _CONN_ERRORS as e:
            detail = f"{where} did not open a tunnel to {hop.address}:{hop.port}: {describe(e)}"
            raise HostError(hop.label, "unreachable", detail) from e

    def _handshake(self, transport: paramiko.Transport, hop: Hop) -> None:
        timeout = self._timeout(hop)
        transport.banner_timeout = transport.handshake_timeout = transport.auth_timeout = timeout
        # Ask for a key type known_hosts has, or a server holding several keys may show
        # one we have never seen and look "changed" (OpenSSH does the same).
        opts = transport.get_security_options()
        known = [
            t for t in self.known_hosts.key_types(hop.address, hop.port) if t in opts.key_types
        ]
        if known:
            opts.key_types = tuple(known + [t for t in opts.key_types if t not in known])
        transport.start_client(timeout=timeout)
        self._check_host_key(transport.get_remote_server_key(), hop)
        self._authenticate(transport, hop)

    def _timeout(self, hop: Hop) -> float:
        return hop.connect_timeout_s or self.connect_timeout_s

    def _check_host_key(self, key: paramiko.PKey, hop: Hop) -> None:
        blob, key_type = key.asbytes(), key.get_name()
        accept = self.accept_new_host_keys
        new = self.known_hosts.verify(hop.label, hop.address, hop.port, key_type, blob, accept)
        if new and self.on_host_key_accepted is not None:
            self.on_host_key_accepted(hop.label, key_type, fingerprint(blob))

    def _authenticate(self, transport: paramiko.Transport, hop: Hop) -> None:
        tried: list[str] = []
        for label, key in self._candidate_keys(hop, tried):
            try:
                more = transport.auth_publickey(hop.user, key)
            except paramiko.BadAuthenticationType as e:
                allowed = ", ".join(e.allowed_types) or "none"
                detail = f"{hop.endpoint} does not accept public keys (it allows: {allowed})"
                raise HostError(hop.label, "auth", detail) from e
            except paramiko.AuthenticationException:
                tried.append(label)
                continue
            if transport.is_authenticated():
                return
            tried.append(f"{label} (accepted, then {', '.join(more)} required)")
        detail = f"{hop.endpoint} refused public-key login; tried: " + (
            ", ".join(tried)
            or "no key (none in the inventory or ~/.ssh/config, no agent, no ~/.ssh/id_*)"
        )
        raise HostError(hop.label, "auth", detail)

    def _candidate_keys(self, hop: Hop, tried: list[str]) -> Iterator[tuple[str, paramiko.PKey]]:
        """Inventory/config keys, then the agent's, then ~/.ssh/id_* (never a secret shown)."""
        for path in hop.key_files:
            key = self._load_key(path)
            if isinstance(key, str):
                tried.append(f"{path} ({key})")
            else:
                yield path, key
        for key in self._agent_keys():
            yield f"agent key {fingerprint(key.asbytes())}", key
        for name in DEFAULT_KEY_NAMES:
            path = str(self._key_dir / name)
            if path in hop.key_files or not os.path.isfile(path):
                continue
            key = self._load_key(path)
            if isinstance(key, str):
                tried.append(f"{path} ({key})")
            else:
                yield path, key

    def _load_key(self, path: str) -> paramiko.PKey | str:
        with self._lock:
            cached = self._keys.get(path)
        if cached is not None:
            return cached
        loaded: paramiko.PKey | str
        if not os.path.isfile(path):
            loaded = "no such file"
        else:
            try:
                loaded = paramiko.PKey.from_path(path)
            except (TypeError, paramiko.PasswordRequiredException):
                loaded = "encrypted: load it into ssh-agent"
            except (paramiko.SSHException, UnknownKeyType, ValueError, OSError) as e:
                loaded = f"unusable: {type(e).__name__}"
        with self._lock:
            self._keys[path] = loaded
        return loaded

    def _agent_keys(self) -> tuple[paramiko.PKey, ...]:
        if not self._allow_agent or not os.environ.get("SSH_AUTH_SOCK"):
            return ()
        with self._lock:
            if self._agent is None:
                try:
                    self._agent = paramiko.Agent()
                except paramiko.SSHException:
                    return ()
            agent = self._agent
        return tuple(agent.get_keys())

    # -- one command ----------------------------------------------------------------------

    def _exec(
        self,
        host: Host,
        conn: _Conn,
        chan: paramiko.Channel,
        command: str,
        deadline: float,
        on_output: OutputCallback,
        cancel: threading.Event,
        start: float,
    ) -> CommandResult:
        pgids = PgidFilter() if can_wrap(host.vars) else None
        stream = OutputStreams(on_output, pgids)
        try:
            chan.exec_command(wrap(command) if pgids else command)
            stopped = pump(chan, stream, deadline, cancel)
        except _CONN_ERRORS as e:
            stream.flush()
            self._pool.discard(self.target(host).key, conn)
            err = HostError(host.name, "dropped", f"connection lost: {describe(e)}")
            return CommandResult(None, time.monotonic() - start, error=err)
        answered = not stopped or self._kill(conn, chan, pgids.pgid if pgids else None)
        stream.flush()
        duration = time.monotonic() - start
        if not answered:
            self._pool.discard(self.target(host).key, conn)
            detail = (
                f"{self.target(host).hop.endpoint} stopped answering: the command outlived its "
                "timeout and no kill could be sent (connection lost?)"
            )
            return CommandResult(None, duration, error=HostError(host.name, "dropped", detail))
        if stopped:
            return CommandResult(None, duration, timed_out=not cancel.is_set())
        if chan.exit_status >= 0 and chan.exit_status_ready():
            return CommandResult(chan.exit_status, duration)
        if not conn.transport.is_active():
            self._pool.discard(self.target(host).key, conn)
            target = self.target(host).hop
            detail = (
                f"connection to {target.endpoint} lost during the command after {duration:.1f}s"
            )
            return CommandResult(None, duration, error=HostError(host.name, "dropped", detail))
        detail = "the command ended without an exit status (killed by a signal?)"
        return CommandResult(None, duration, error=HostError(host.name, "error", detail))

    def _kill(self, conn: _Conn, chan: paramiko.Channel, pgid: int | None) -> bool:
        """Stop a command that ran out of time; False if the server no longer answers."""
        if pgid is None:  # no POSIX shell: only the SSH signal request can reach it
            return stop_by_signal(chan, lambda sig: _signal(chan, sig), self.kill_grace_s)
        side = functools.partial(self._side_command, conn)
        return stop_group(chan, pgid, side, self.kill_grace_s)

    def _side_command(self, conn: _Conn, command: str, timeout_s: float = 5.0) -> bool:
        """Run a short command on a channel of its own; False if the server did not answer."""
        try:
            side = conn.transport.open_session(timeout=min(self.connect_timeout_s, 5.0))
        except _CONN_ERRORS:
            return False
        try:
            side.exec_command(command)
            return side.status_event.wait(timeout_s)
        except _CONN_ERRORS:
            return False
        finally:
            side.close()


def _signal(chan: paramiko.Channel, name: str) -> None:
    """RFC 4254 "signal" request; paramiko has no public call for it. sshd applies it to
    the session's process group, but refuses it for root logins (see remote_command.py)."""
    m = Message()
    m.add_byte(cMSG_CHANNEL_REQUEST)
    m.add_int(chan.remote_chanid)
    m.add_string("signal")
    m.add_boolean(False)
    m.add_string(name)
    transport = chan.get_transport()
    with contextlib.suppress(*_CONN_ERRORS):
        transport._send_user_message(m)  # type: ignore[attr-defined]  # no public API


def _config_lookup(path: Path | None) -> ConfigLookup:
    if path is None or not path.is_file():
        return no_config
    text = read_ssh_config(path)
    if _MATCH_EXEC.search(text):
        _load_invoke()
    try:
        config = paramiko.SSHConfig.from_text(text)
    except (paramiko.ssh_exception.ConfigParseError, ValueError) as e:
        raise InputError([Issue(Location(str(path), 1, 1), f"cannot read ssh config: {e}")]) from e

    def lookup(name: str) -> Mapping[str, Any]:
        try:
            found: Mapping[str, Any] = config.lookup(name)
            return found
        except (paramiko.SSHException, ImportError, OSError) as e:  # Match exec, canonicalize
            raise HostError(name, "error", f"{path}: {describe(e)}") from e

    return lookup


def _load_invoke() -> None:
    """Give paramiko back invoke, which `Match exec` runs commands with.

    `runbook run` imports paramiko with invoke hidden (session_transport.py: it costs a
    run's start-up 40-100 ms and serves only `Match exec`); a config with one needs it.
    """
    cfg = paramiko.config
    if getattr(cfg, "invoke", None) is None:
        try:
            setattr(cfg, "invoke", importlib.import_module("invoke"))  # noqa: B010  # no stub
        except ImportError as e:
            cfg.invoke_import_error = e


def _handshake_error(hop: Hop, err: BaseException) -> HostError:
    where = f"{hop.address}:{hop.port}"
    if isinstance(err, EOFError | ConnectionResetError):
        return HostError(
            hop.label, "dropped", f"{where} closed the connection during the handshake"
        )
    if isinstance(err, paramiko.AuthenticationException):
        return HostError(hop.label, "auth", f"{hop.endpoint}: {describe(err)}")
    if isinstance(err, socket.timeout | TimeoutError):
        return HostError(hop.label, "unreachable", f"{where} did not complete the SSH handshake")
    return HostError(hop.label, "error", f"SSH handshake with {where} failed: {describe(err)}")


def _close_conn(conn: _Conn) -> None:
    with contextlib.suppress(*_CONN_ERRORS):
        conn.transport.close()

"""Opening and logging in to one SSH connection, and the other paramiko calls but those
about one session channel (channel.py) and SFTP's (sftp.py), the other paramiko importers.

ProxyJump chains are built from `direct-tcpip` channels of the (pooled) jump connections,
since paramiko has no ProxyJump. Host keys are checked by `known_hosts.py`, never by
paramiko's Auto/Warning policies: we drive `paramiko.Transport` directly and check the key
ourselves before authenticating. Every paramiko or socket error met here becomes a
`HostError`. The pool, the sessions and the commands are ssh_transport.py's: it reaches
paramiko only through the names here (`CONN_ERRORS` for what a lost connection raises)
and channel.py's, the messages about one session channel.
"""

from __future__ import annotations

import contextlib
import importlib
import logging
import re
import socket
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import UnionType
from typing import Any, TypeAlias

import paramiko
from paramiko.pkey import UnknownKeyType

from runbook.errors import HostError, InputError, Issue
from runbook.executors.ssh._keys import LoginKeys
from runbook.executors.ssh._known_hosts import KnownHosts, fingerprint
from runbook.executors.ssh._ramp import BANNER_TRIES, Ramp, backoff_s
from runbook.executors.ssh._socket import describe, dial
from runbook.executors.ssh._target import ConfigLookup, Hop, no_config, read_ssh_config
from runbook.model import Location

HostKeyCallback = Callable[[str, str, str], None]  # (host, key type, SHA256 fingerprint)
SessionChannel: TypeAlias = paramiko.Channel  # for ssh_transport.py, which may not import paramiko

# OpenSSH's MaxSessions is 10 per connection; keep one free for the kill channel.
SESSIONS_PER_CONNECTION = 8
IDLE_WAKE_S = 1.0  # how often an idle connection's thread wakes (paramiko: 0.1 s)
CONN_ERRORS = (paramiko.SSHException, OSError, EOFError)
_MATCH_EXEC = re.compile(r"^\s*match\b.*\bexec\b", re.IGNORECASE | re.MULTILINE)

# paramiko logs a failed handshake with its traceback from its own thread; with no handler
# anywhere, logging's last resort would print that on the terminal. The user gets the
# failure as the host's HostError instead.
logging.getLogger("paramiko").addHandler(logging.NullHandler())
logging.getLogger("paramiko").propagate = False


@dataclass
class Conn:
    """A logged-in connection to one server, and how many more sessions it may carry."""

    transport: paramiko.Transport
    hop: Hop
    sessions: threading.BoundedSemaphore = field(
        default_factory=lambda: threading.BoundedSemaphore(SESSIONS_PER_CONNECTION)
    )


class Connector:
    """Opens connections: dialled or tunnelled, host key checked, logged in by public key."""

    def __init__(
        self,
        known_hosts: KnownHosts,
        *,
        accept_new_host_keys: bool,
        on_host_key_accepted: HostKeyCallback | None,
        connect_timeout_s: float,
        keepalive_s: int,
        dead_after_s: float,
        allow_agent: bool,
        key_dir: Path,  # the default keys' (id_*) folder
    ) -> None:
        self.known_hosts = known_hosts
        self.accept_new_host_keys = accept_new_host_keys
        self.on_host_key_accepted = on_host_key_accepted
        self.connect_timeout_s = connect_timeout_s
        self.keepalive_s = keepalive_s
        self.dead_after_s = dead_after_s
        self._keys = LoginKeys(key_dir, allow_agent, _read_key, _open_agent)
        self.ramp = Ramp()

    def open(self, hop: Hop, jump: Conn | None) -> Conn:
        """Dial `hop` (or tunnel to it through `jump`'s connection), check its key, log in.

        Within a handshake slot of the route (ramp.py); a connection the server dropped
        before its banner (MaxStartups) is tried again after a pause.
        """
        route = jump.hop.endpoint if jump is not None else (hop.address, hop.port)
        for attempt in range(1, BANNER_TRIES + 1):
            with self.ramp.slot(route):
                try:
                    return self._open(hop, jump)
                except _Dropped as e:
                    if attempt == BANNER_TRIES:
                        where = f"{hop.address}:{hop.port}"
                        detail = (
                            f"{where} closed the connection before its SSH banner, "
                            f"{BANNER_TRIES} times (too many connections at once: sshd's "
                            "MaxStartups?)"
                        )
                        raise HostError(hop.label, "dropped", detail) from e.__cause__
            time.sleep(backoff_s(attempt))
        raise AssertionError("unreachable")

    def _open(self, hop: Hop, jump: Conn | None) -> Conn:
        if jump is None:
            sock: socket.socket | paramiko.Channel = dial(
                hop, self._timeout(hop), self.dead_after_s
            )
        else:
            sock = self._tunnel(jump, hop)
        transport = paramiko.Transport(sock)
        try:
            self._handshake(transport, hop)
        except HostError:
            transport.close()
            raise
        except CONN_ERRORS as e:
            transport.close()
            if _dropped_before_banner(e):
                raise _Dropped() from e
            raise _handshake_error(hop, e) from e
        transport.set_keepalive(self.keepalive_s)
        # paramiko's transport thread wakes every 0.1 s to see whether it was closed: with
        # 500 connections waiting between steps that is 5,000 wake-ups a second, ~10 % of a
        # core (bench/RESULTS.md). Once connected, once a second is enough: keepalives are
        # whole seconds, and close() wakes the thread by closing its socket.
        transport.sock.settimeout(IDLE_WAKE_S)
        return Conn(transport, hop)

    def close(self) -> None:
        """Let go of the SSH agent (the connections are the pool's to close)."""
        self._keys.close()

    def _tunnel(self, jump: Conn, hop: Hop) -> paramiko.Channel:
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
        except CONN_ERRORS as e:
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
        started = time.monotonic()
        try:
            transport.start_client(timeout=timeout)
        except EOFError:
            # paramiko's thread ends a handshake past its own timer with a bare EOFError,
            # racing start_client's timeout (which wins depends on the machine): past the
            # timeout, that is a server gone silent, not one that closed the connection.
            if time.monotonic() - started >= timeout:
                raise TimeoutError from None
            raise
        if not transport.initial_kex_done:  # paramiko returns quietly when the timeout passes
            raise TimeoutError
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
        for label, key in self._keys.candidates(hop, tried):
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


def open_session(conn: Conn, timeout_s: float, label: str) -> paramiko.Channel:
    """A new session channel on `conn`; HostError if the server refuses one, CONN_ERRORS
    if the connection is gone."""
    try:
        return conn.transport.open_session(timeout=timeout_s)
    except paramiko.ChannelException as e:
        raise HostError(label, "error", f"server refused a session: {e.text}") from e


def connection_ended(conn: Conn) -> bool:
    """Whether `conn` ended, asked once a channel closed without an exit status. paramiko's
    thread closes the channels of a lost connection just before it marks it inactive, the
    error it saw already noted: a command caught in between was lost with it."""
    transport = conn.transport
    if transport.saved_exception is not None or not transport.is_active():
        return True
    transport.join(0.1)  # its error taken by another channel's waiter: let it finish
    return not transport.is_active()


def close_conn(conn: Conn) -> None:
    """Close a connection that may already be dead (never raises).

    The socket is shut down first: paramiko's `close` only closes its file descriptor,
    which does not wake the transport thread blocked reading it, so the thread (and the
    TCP connection, which the kernel keeps while a read holds it) lived on until its next
    wake-up, up to `IDLE_WAKE_S` later, or until the process ended. The shutdown ends the
    read at once, so the server sees the connection end when it is closed; paramiko's
    `close` then finds the thread ended or ending, as with a lost connection.
    """
    sock = conn.transport.sock
    if isinstance(sock, socket.socket):  # a tunnel's channel closes with the transport
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)
    with contextlib.suppress(*CONN_ERRORS):
        conn.transport.close()


def config_lookup(path: Path | None) -> ConfigLookup:
    """The ssh_config at `path` parsed by paramiko, as ssh_target.py's lookup function."""
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


def _read_key(path: str) -> paramiko.PKey | str:
    """The key in a key file, or why it cannot be used."""
    try:
        return paramiko.PKey.from_path(path)
    except (TypeError, paramiko.PasswordRequiredException):
        return "encrypted: load it into ssh-agent"
    except (paramiko.SSHException, UnknownKeyType, ValueError, OSError) as e:
        return f"unusable: {type(e).__name__}"


def _open_agent() -> paramiko.Agent | None:
    """The SSH agent's connection; None if it does not answer."""
    try:
        return paramiko.Agent()
    except paramiko.SSHException:
        return None


class _Dropped(Exception):
    """The server closed the connection before sending its banner: worth another try."""


def _dropped_before_banner(err: BaseException) -> bool:
    """sshd past MaxStartups accepts, then closes at once: paramiko reports "Error reading
    SSH protocol banner" over an EOF or a reset (a timeout is a silent server instead)."""
    return _banner_error_over(err, EOFError | ConnectionResetError)


def _banner_error_over(err: BaseException, cause: type | UnionType) -> bool:
    """paramiko's "Error reading SSH protocol banner", raised while handling `cause`."""
    if not (isinstance(err, paramiko.SSHException) and "protocol banner" in str(err)):
        return False
    return isinstance(err.__context__, cause)


def _handshake_error(hop: Hop, err: BaseException) -> HostError:
    where = f"{hop.address}:{hop.port}"
    if isinstance(err, EOFError | ConnectionResetError):
        return HostError(
            hop.label, "dropped", f"{where} closed the connection during the handshake"
        )
    if isinstance(err, paramiko.AuthenticationException):
        return HostError(hop.label, "auth", f"{hop.endpoint}: {describe(err)}")
    # A silent server times out either in the key exchange or, when the machine is busy
    # enough that the banner's own wait ends first, as a banner error over the timeout.
    timeout = socket.timeout | TimeoutError
    if isinstance(err, timeout) or _banner_error_over(err, timeout):
        return HostError(hop.label, "unreachable", f"{where} did not complete the SSH handshake")
    return HostError(hop.label, "error", f"SSH handshake with {where} failed: {describe(err)}")

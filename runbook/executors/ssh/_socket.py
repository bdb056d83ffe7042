"""The TCP link to an SSH server: dialled and tuned here, its failures as per-host errors."""

from __future__ import annotations

import errno
import socket

from runbook.errors import HostError
from runbook.executors.ssh._target import Hop


def dial(hop: Hop, timeout_s: float, dead_after_s: float) -> socket.socket:
    """A connected TCP socket to `hop`, tuned for many small commands on a long-lived link."""
    try:
        infos = socket.getaddrinfo(hop.address, hop.port, type=socket.SOCK_STREAM)
    except socket.gaierror as e:
        raise HostError(hop.label, "dns", f"cannot resolve {hop.address}: {e.strerror}") from e
    last: OSError | None = None
    for family, kind, proto, _, sockaddr in infos:
        sock = socket.socket(family, kind, proto)
        try:
            # Small request/response packets: Nagle would add up to 40 ms per command.
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            sock.settimeout(timeout_s)
            sock.connect(sockaddr)
        except OSError as e:
            sock.close()
            last = e
            continue
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
        if hasattr(socket, "TCP_USER_TIMEOUT"):
            # Linux: data (the SSH keepalives) unacknowledged this long fails the socket,
            # so a silently dropped link ends the connection instead of hanging it.
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_USER_TIMEOUT, int(dead_after_s * 1000))
        return sock
    raise connect_error(hop, last, timeout_s)


def connect_error(hop: Hop, err: OSError | None, timeout_s: float) -> HostError:
    """ECONNREFUSED → refused; timeouts, no route → unreachable."""
    where = f"{hop.address}:{hop.port}"
    if isinstance(err, TimeoutError):
        return HostError(hop.label, "unreachable", f"no answer from {where} within {timeout_s:g}s")
    code = err.errno if err is not None else None
    if code == errno.ECONNREFUSED:
        return HostError(hop.label, "refused", f"connection refused by {where} (is sshd running?)")
    if code in (errno.EHOSTUNREACH, errno.ENETUNREACH):
        return HostError(hop.label, "unreachable", f"no route to {where}")
    return HostError(hop.label, "unreachable", f"cannot connect to {where}: {describe(err)}")


def describe(err: BaseException | None) -> str:
    """A short human text for an exception (strerror for OS errors)."""
    if err is None:
        return "unknown error"
    if isinstance(err, OSError) and err.strerror:
        return err.strerror
    if isinstance(err, EOFError) and not str(err):  # paramiko's, for a closed socket
        return "closed by the server"
    return str(err) or type(err).__name__

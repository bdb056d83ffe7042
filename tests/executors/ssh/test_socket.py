"""Dialling an SSH server's TCP port: a tuned socket, or a per-host error that says why."""

from __future__ import annotations

import errno
import socket

import pytest

from runbook.errors import HostError
from runbook.executors.ssh._socket import connect_error, describe, dial
from runbook.executors.ssh._target import Hop


def hop(address: str, port: int) -> Hop:
    return Hop("db01", address, port, "restore")


def test_a_listening_port_gives_a_tuned_socket() -> None:
    with socket.create_server(("127.0.0.1", 0)) as server:
        port = server.getsockname()[1]
        sock = dial(hop("127.0.0.1", port), timeout_s=5, dead_after_s=2.5)
        try:
            assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
            assert sock.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE)
            if hasattr(socket, "TCP_USER_TIMEOUT"):
                assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_USER_TIMEOUT) == 2500
        finally:
            sock.close()


def test_a_closed_port_is_refused() -> None:
    with socket.create_server(("127.0.0.1", 0)) as server:
        port = server.getsockname()[1]
    with pytest.raises(HostError) as caught:
        dial(hop("127.0.0.1", port), timeout_s=5, dead_after_s=5)
    assert (caught.value.host, caught.value.kind) == ("db01", "refused")
    assert caught.value.detail == f"connection refused by 127.0.0.1:{port} (is sshd running?)"


def test_an_unknown_name_is_a_dns_error() -> None:
    # A leading '-' makes the resolver refuse the name itself: no query leaves the machine.
    with pytest.raises(HostError) as caught:
        dial(hop("-no-such-host.invalid", 22), timeout_s=5, dead_after_s=5)
    assert caught.value.kind == "dns"
    assert caught.value.detail.startswith("cannot resolve -no-such-host.invalid: ")


def test_timeouts_and_routes_are_unreachable() -> None:
    h = hop("10.1.2.3", 2222)
    timeout = connect_error(h, TimeoutError(), 3.0)
    assert (timeout.kind, timeout.detail) == (
        "unreachable",
        "no answer from 10.1.2.3:2222 within 3s",
    )
    route = connect_error(h, OSError(errno.EHOSTUNREACH, "No route to host"), 3.0)
    assert (route.kind, route.detail) == ("unreachable", "no route to 10.1.2.3:2222")
    other = connect_error(h, OSError(errno.EACCES, "Permission denied"), 3.0)
    assert other.detail == "cannot connect to 10.1.2.3:2222: Permission denied"
    assert describe(None) == "unknown error" and describe(ValueError()) == "ValueError"

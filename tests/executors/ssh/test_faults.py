"""Network faults end as a clear per-host error, never a hang or a traceback."""

from __future__ import annotations

import contextlib
import random
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sshd
from engine_helpers import cli, write

from runbook.executors._base import CommandResult
from runbook.executors.ssh._transport import SshTransport
from runbook.model import Host

needs_nft = pytest.mark.skipif(
    sshd.Blackhole.unavailable() is not None,
    reason=f"blackhole needs nftables as root: {sshd.Blackhole.unavailable()}",
)

PING = """
playbook: ping
title: Reach the web host
steps:
  - {id: ping, title: Ping, hosts: all, run: "true"}
"""
A_DROP, A_HOLE_CONNECT, A_HOLE_RUNNING, A_HOLE_TIMEOUT = 13, 14, 15, 16
A_BOUNDARY, A_GONE = 33, 34  # tests/conftest.py


@pytest.fixture
def make(known_hosts: Path, tmp_path: Path) -> Iterator[Any]:
    made: list[SshTransport] = []

    def factory(h: Host, **kw: Any) -> SshTransport:
        t = SshTransport(
            {h.name: h},
            ssh_config=tmp_path / "none",
            known_hosts=[known_hosts],
            allow_agent=False,
            key_dir=tmp_path,
            **kw,
        )
        made.append(t)
        return t

    yield factory
    for t in made:
        t.close()


def host(server: sshd.Sshd, n: int) -> Host:
    return Host(f"h{n}", server.addresses[n], server.port, server.user, str(server.client_key))


def run_until_output(
    t: SshTransport, h: Host, command: str, timeout_s: float, when_output: Any
) -> CommandResult:
    fired = threading.Event()

    def on_output(stream: str, text: str) -> None:
        if stream == "stdout" and not fired.is_set():
            fired.set()
            when_output(text)

    return t.run(h, command, timeout_s=timeout_s, on_output=on_output, cancel=threading.Event())


def run_collecting(t: SshTransport, h: Host, command: str) -> tuple[CommandResult, str]:
    """The command's result and its stdout."""
    out: list[str] = []

    def on_output(stream: str, text: str) -> None:
        if stream == "stdout":
            out.append(text)

    r = t.run(h, command, timeout_s=20, on_output=on_output, cancel=threading.Event())
    return r, "".join(out)


def test_session_killed_mid_command_is_dropped(sshd_server: sshd.Sshd, make: Any) -> None:
    h = host(sshd_server, A_DROP)
    tok = f"{random.randint(100000, 999999)}"
    try:
        r = run_until_output(
            make(h),
            h,
            f"echo $PPID; sleep {tok}",
            60,
            lambda text: sshd.kill_connection(int(text.split()[0]), sshd_server),
        )
        assert r.exit_code is None and not r.timed_out
        assert r.error is not None and r.error.kind == "dropped"
        assert h.address in r.error.detail and "lost during the command" in r.error.detail
    finally:
        sshd.kill_matching(f"sleep {tok}")


def test_a_connection_lost_as_the_next_command_starts_is_a_clear_dropped_error(
    sshd_server: sshd.Sshd, make: Any
) -> None:
    """The connection killed (its sshd processes) a few milliseconds around the start of
    the next command, many times over: wherever the loss lands (found dead before the
    command was sent: a new connection runs it; after: it may have started, so it is not
    sent again), the result is the command's or a `dropped` naming the connection. Was:
    "connection lost: EOFError" (paramiko's empty EOFError), sometimes an `error`."""
    h = host(sshd_server, A_BOUNDARY)
    t = make(h)
    lost = f"connection to {h.user}@{h.address}:{h.port} lost"
    outcomes: list[str] = []
    for _ in range(40):
        r, out = run_collecting(t, h, "echo $PPID")
        if r.error is not None:  # the last round's kill still landing: a new connection now
            r, out = run_collecting(t, h, "echo $PPID")
        assert r.exit_code == 0, r
        shell_parent = int(out)
        delay = random.uniform(0, 0.008)
        kill = threading.Timer(delay, sshd.kill_connection, (shell_parent, sshd_server))
        kill.start()
        r, out = run_collecting(t, h, "echo back")
        kill.join()
        if r.error is None:
            # sshd may send the exit status before output it still holds: a kill landing
            # right then is `dropped` (below), never a success with its output cut
            assert (r.exit_code, out) == (0, "back\n"), (r, out)
            outcomes.append("ran")
            continue
        assert r.error.kind == "dropped", r.error
        assert r.error.detail.startswith(lost), r.error.detail
        assert "EOFError" not in r.error.detail and not r.error.detail.endswith(": ")
        outcomes.append("dropped")
    assert "dropped" in outcomes  # the kill did land on commands, not only between them


@needs_nft
def test_a_host_gone_after_its_connection_died_says_both(sshd_server: sshd.Sshd, make: Any) -> None:
    """Between two steps the connection dies and the host stops answering: the next
    command reconnects once, and the host fails saying what was lost and why the new
    connection could not be made."""
    h = host(sshd_server, A_GONE)
    t = make(h, connect_timeout_s=1.0)
    r, out = run_collecting(t, h, "echo $PPID")
    assert r.exit_code == 0, r
    sshd.kill_connection(int(out), sshd_server)
    time.sleep(0.3)  # the client sees the end of the connection
    with sshd.Blackhole(h.address, sshd_server.port):
        r, _ = run_collecting(t, h, "true")
    assert r.error is not None and r.error.kind == "unreachable", r
    assert r.error.detail == (
        f"connection to {h.user}@{h.address}:{h.port} lost; reconnecting: "
        f"no answer from {h.address}:{h.port} within 1s"
    )
    r, _ = run_collecting(t, h, "true")
    assert (r.exit_code, r.error) == (0, None)  # back: the next command connects again


@needs_nft
def test_blackholed_address_is_unreachable_after_the_connect_timeout(
    sshd_server: sshd.Sshd, make: Any
) -> None:
    h = host(sshd_server, A_HOLE_CONNECT)
    with sshd.Blackhole(h.address, sshd_server.port):
        r = make(h, connect_timeout_s=1.0).run(
            h, "true", timeout_s=30, on_output=lambda s, t: None, cancel=threading.Event()
        )
    assert r.error is not None and r.error.kind == "unreachable"
    assert f"no answer from {h.address}:{sshd_server.port} within 1s" in r.error.detail


@needs_nft
def test_link_that_goes_silent_mid_command_is_detected_as_dropped(
    sshd_server: sshd.Sshd, make: Any
) -> None:
    # Keepalives every second; the kernel gives up when they stay unacknowledged for 2 s,
    # well before the command's own 60 s timeout.
    h = host(sshd_server, A_HOLE_RUNNING)
    hole = sshd.Blackhole(h.address, sshd_server.port)
    tok = f"{random.randint(100000, 999999)}"
    try:
        t = make(h, keepalive_s=1, dead_after_s=2.0)
        r = run_until_output(t, h, f"echo started; sleep {tok}", 60, lambda _: hole.__enter__())
        assert r.error is not None and r.error.kind == "dropped"
        assert not r.timed_out
    finally:
        hole.__exit__()
        sshd.kill_matching(f"sleep {tok}")


@needs_nft
def test_timeout_on_a_dead_link_reports_the_lost_connection(
    sshd_server: sshd.Sshd, make: Any
) -> None:
    h = host(sshd_server, A_HOLE_TIMEOUT)
    hole = sshd.Blackhole(h.address, sshd_server.port)
    tok = f"{random.randint(100000, 999999)}"
    try:
        t = make(h, connect_timeout_s=1.0, kill_grace_s=0.5)
        r = run_until_output(t, h, f"echo started; sleep {tok}", 1.5, lambda _: hole.__enter__())
        assert r.error is not None and r.error.kind == "dropped"
        assert "stopped answering" in r.error.detail
    finally:
        hole.__exit__()
        sshd.kill_matching(f"sleep {tok}")


def _junk_server(reply: bytes, hold_s: float = 0.2) -> tuple[socket.socket, int]:
    """A TCP server on loopback that answers every connection with `reply` (and then
    nothing for `hold_s`), then closes."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(8)

    def serve() -> None:
        with contextlib.suppress(OSError):
            while True:
                conn, _ = srv.accept()
                with conn:
                    conn.sendall(reply)
                    time.sleep(hold_s)

    threading.Thread(target=serve, daemon=True).start()
    return srv, srv.getsockname()[1]


def _ping_web(
    tmp_path: Path, srv: socket.socket, host_vars: str
) -> subprocess.CompletedProcess[str]:
    """`runbook run` of PING on one host `web` at 127.0.0.1 with `host_vars`; `srv` is
    closed after."""
    try:
        write(
            tmp_path / "inv.yml",
            f"all:\n  hosts:\n    web: {{ansible_host: 127.0.0.1, {host_vars}}}\n",
        )
        pb = write(tmp_path / "pb.yml", PING)
        extra = {"RUNBOOK_SSH_CONFIG": "", "RUNBOOK_KNOWN_HOSTS": str(tmp_path / "known_hosts")}
        return cli(
            tmp_path / "state.db", "run", str(pb), "-i", str(tmp_path / "inv.yml"), extra_env=extra
        )
    finally:
        srv.close()


def test_a_server_that_is_not_ssh_fails_its_host_without_a_traceback(tmp_path: Path) -> None:
    """paramiko logs a failed handshake with its traceback: none of it reaches the terminal."""
    srv, port = _junk_server(b"HTTP/1.1 400 Bad Request\r\n\r\n" + bytes(range(256)) * 4)
    r = _ping_web(tmp_path, srv, f"ansible_port: {port}")
    assert r.returncode == 1, r.stdout + r.stderr
    assert "web failed (error): run: web: error: SSH handshake with 127.0.0.1" in r.stdout
    assert "Traceback" not in r.stdout + r.stderr
    assert r.stderr == ""


@pytest.mark.parametrize("banner", [b"", b"SSH-2.0-OpenSSH_9.6\r\n"], ids=["silent", "stalled"])
def test_a_server_that_stalls_in_the_handshake_is_unreachable(
    tmp_path: Path, banner: bytes
) -> None:
    """Accepted, then nothing (a hung sshd, a stalled middlebox): once the host's timeout
    has passed the host is unreachable, said so, not paramiko's "No existing session"."""
    srv, port = _junk_server(banner, hold_s=10)
    r = _ping_web(tmp_path, srv, f"ansible_port: {port}, ansible_timeout: 2")
    assert r.returncode == 1, r.stdout + r.stderr
    said = f"web: unreachable: 127.0.0.1:{port} did not complete the SSH handshake"
    assert said in r.stdout, r.stdout
    assert "Traceback" not in r.stdout + r.stderr

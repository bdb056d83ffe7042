"""Connections ramped so servers hold: dropped banners retried, one connection per jump.

Real sshd servers of their own (127.0.2.x), with a strict MaxStartups, and a TCP relay that
drops connections before the banner, as sshd past MaxStartups does.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sshd

from runbook.executors.ssh import _ramp as ramp
from runbook.executors.ssh._ramp import PER_ROUTE, backoff_s
from runbook.executors.ssh._transport import SshTransport
from runbook.model import Host

pytestmark = pytest.mark.skipif(sshd.unavailable() is not None, reason=str(sshd.unavailable()))

ADDRESSES = [f"127.0.2.{i}" for i in range(1, 17)]
RELAY = "127.0.2.100"


@pytest.fixture(scope="module")
def strict_sshd() -> Iterator[sshd.Sshd]:
    """One sshd process on 16 addresses that refuses every connection past 3 still
    unauthenticated (MaxStartups 3:100:3)."""
    with sshd.running(ADDRESSES, max_startups="3:100:3") as server:
        yield server


def transport(server: sshd.Sshd, tmp_path: Path, hosts: list[Host], known: str) -> SshTransport:
    known_hosts = tmp_path / "known_hosts"
    known_hosts.write_text(known)
    return SshTransport(
        {h.name: h for h in hosts},
        ssh_config=tmp_path / "no-ssh-config",
        known_hosts=[known_hosts],
        allow_agent=False,
        key_dir=tmp_path / "no-keys",
    )


def host(server: sshd.Sshd, name: str, address: str, **kw: Any) -> Host:
    return Host(
        name, address, port=server.port, user=server.user, key_file=str(server.client_key), **kw
    )


def run_all(t: SshTransport, hosts: list[Host]) -> dict[str, Any]:
    """`true` on every host at once, as a step with forks = len(hosts) does."""
    results: dict[str, Any] = {}

    def one(h: Host) -> None:
        results[h.name] = t.run(
            h, "true", timeout_s=30, on_output=lambda *_: None, cancel=threading.Event()
        )

    threads = [threading.Thread(target=one, args=(h,)) for h in hosts]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    return results


class DroppingRelay:
    """Forwards TCP to `target`, but closes the first `drop` connections at once."""

    def __init__(self, target: tuple[str, int], port: int, drop: int) -> None:
        self.target, self.drop, self.accepted = target, drop, 0
        self.listener = socket.create_server((RELAY, port))
        self.server = threading.Thread(target=self._serve, daemon=True)
        self.server.start()

    def _serve(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            self.accepted += 1
            if self.accepted <= self.drop:
                client.close()
                continue
            upstream = socket.create_connection(self.target)
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(src: socket.socket, dst: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while data := src.recv(65536):
                dst.sendall(data)
        with contextlib.suppress(OSError):
            dst.shutdown(socket.SHUT_WR)

    def close(self) -> None:
        # close() alone does not wake a thread blocked in accept() on Linux; shutdown does.
        # A thread left behind would stop later tests' single-threaded fork (test_beside).
        with contextlib.suppress(OSError):
            self.listener.shutdown(socket.SHUT_RDWR)
        self.listener.close()
        self.server.join(timeout=5)


def test_a_connection_dropped_before_the_banner_is_tried_again(
    strict_sshd: sshd.Sshd, tmp_path: Path
) -> None:
    relay = DroppingRelay((ADDRESSES[0], strict_sshd.port), strict_sshd.port, drop=2)
    try:
        h = host(strict_sshd, "flaky", RELAY)
        known = f"[{RELAY}]:{strict_sshd.port} {strict_sshd.host_public}\n"
        t = transport(strict_sshd, tmp_path, [h], known)
        try:
            r = run_all(t, [h])["flaky"]
        finally:
            t.close()
    finally:
        relay.close()
    assert (r.exit_code, r.error) == (0, None)
    assert relay.accepted == 3  # two dropped, the third logged in


def test_a_server_that_keeps_dropping_fails_the_host_with_the_banner_error(
    strict_sshd: sshd.Sshd, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ramp, "BACKOFF_S", 0.01)  # the same tries, without 6 s of pauses
    relay = DroppingRelay((ADDRESSES[0], strict_sshd.port), strict_sshd.port + 1, drop=100)
    try:
        h = Host("gone", RELAY, port=strict_sshd.port + 1, user=strict_sshd.user)
        t = transport(strict_sshd, tmp_path, [h], "")
        try:
            r = run_all(t, [h])["gone"]
        finally:
            t.close()
    finally:
        relay.close()
    assert r.exit_code is None and r.error is not None
    assert r.error.kind == "dropped", r.error
    assert "closed the connection before its SSH banner, 6 times" in r.error.detail
    assert relay.accepted == 6  # the first try and five more, then the host fails


def test_hosts_behind_one_jump_share_its_connection_past_max_startups(
    strict_sshd: sshd.Sshd, tmp_path: Path
) -> None:
    jump = host(strict_sshd, "bastion", ADDRESSES[0])
    behind = [host(strict_sshd, f"t{i}", a, proxy_jump="bastion") for i, a in enumerate(ADDRESSES)]
    behind = behind[1:]  # 15 targets, all on the strict server, through the bastion
    t = transport(strict_sshd, tmp_path, [jump, *behind], strict_sshd.known_hosts_lines())
    before = sshd.connection_count(strict_sshd, jump.address)
    try:
        results = run_all(t, behind)
        most = t._connector.ramp.most_in_flight
    finally:
        t.close()
    failed = {n: r.error for n, r in results.items() if r.exit_code != 0}
    assert not failed, failed
    assert sshd.connection_count(strict_sshd, jump.address) - before == 1
    assert most <= PER_ROUTE + 1  # the jump's own handshake, then its route's slots


def test_retries_back_off_doubling_and_jittered() -> None:
    pauses = [[backoff_s(a) for a in range(1, 7)] for _ in range(50)]
    assert all(0.1 <= p[0] <= 0.2 and 1.6 <= p[5] <= 3.2 for p in pauses)
    assert len({p[0] for p in pauses}) > 1  # hosts dropped together come back apart

"""The SSH transport against real OpenSSH servers on 127.0.0.x (tests/sshd.py)."""

from __future__ import annotations

import random
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import paramiko
import pytest
import sshd

from runbook.executors._base import CommandResult
from runbook.executors.ssh import _client
from runbook.executors.ssh._known_hosts import fingerprint
from runbook.executors.ssh._transport import SshTransport
from runbook.model import Host

# Each test takes its own addresses of the shared server, so connection counts stay its own.
A_OUTPUT, A_POOL, A_KILL, A_CANCEL, A_SIGNAL, A_BACKGROUND, A_BIG, A_RECONNECT = range(8)
A_KEYS, A_AUTH, A_JUMP, A_BEHIND, A_ALIAS = range(8, 13)
A_WARM = 31  # (13-30 and 32-34 belong to other modules)


@pytest.fixture
def make(known_hosts: Path, tmp_path: Path) -> Iterator[Any]:
    made: list[SshTransport] = []

    def factory(*hosts: Host, **kw: Any) -> SshTransport:
        kw.setdefault("ssh_config", tmp_path / "no-ssh-config")
        kw.setdefault("known_hosts", [known_hosts])
        kw.setdefault("allow_agent", False)
        kw.setdefault("key_dir", tmp_path / "no-keys")
        t = SshTransport({h.name: h for h in hosts}, **kw)
        made.append(t)
        return t

    yield factory
    for t in made:
        t.close()


def host(server: sshd.Sshd, n: int, **kw: Any) -> Host:
    kw.setdefault("port", server.port)
    kw.setdefault("user", server.user)
    kw.setdefault("key_file", str(server.client_key))
    return Host(f"h{n}", server.addresses[n], **kw)


def run(
    t: SshTransport,
    h: Host,
    command: str,
    timeout_s: float = 20.0,
    cancel: threading.Event | None = None,
    on_output: Any = None,
) -> tuple[CommandResult, str, str]:
    out: dict[str, str] = {"stdout": "", "stderr": ""}

    def collect(stream: str, text: str) -> None:
        out[stream] += text
        if on_output is not None:
            on_output(stream, text)

    r = t.run(
        h, command, timeout_s=timeout_s, on_output=collect, cancel=cancel or threading.Event()
    )
    return r, out["stdout"], out["stderr"]


def token() -> str:
    """A sleep duration no other process on the machine uses, to find ours in /proc."""
    return f"{random.randint(100000, 999999)}"


def test_output_streams_and_exit_code(sshd_server: sshd.Sshd, make: Any) -> None:
    h = host(sshd_server, A_OUTPUT)
    r, out, err = run(make(h), h, "echo out; echo err >&2; printf 'no newline'; exit 3")
    assert (r.exit_code, r.timed_out, r.error) == (3, False, None)
    assert out == "out\nno newline"
    assert err == "err\n"  # the process-group marker line never shows


def test_one_connection_per_host_shared_by_concurrent_commands(
    sshd_server: sshd.Sshd, make: Any
) -> None:
    h = host(sshd_server, A_POOL)
    t = make(h)
    before = sshd.connection_count(sshd_server, h.address)
    results: list[tuple[CommandResult, str, str]] = []
    lock = threading.Lock()

    def worker(i: int) -> None:
        res = run(t, h, f"echo {i}")
        with lock:
            results.append(res)

    # Ten rounds: a command that ends while its stdin's EOF is being sent must not take the
    # connection down (paramiko#1705: OpenSSH drops it on an EOF sent after the CLOSE, and
    # every other command on it failed "connection lost"; ~1 round in 8 before the fix).
    for _ in range(10):
        threads = [threading.Thread(target=worker, args=(i,)) for i in range(20)]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
    for i in range(5):
        results.append(run(t, h, f"echo again {i}"))
    assert [r.error for r, _, _ in results if r.exit_code != 0] == []
    assert sorted(out for _, out, _ in results)[:3] == ["0\n", "0\n", "0\n"]
    assert sshd.connection_count(sshd_server, h.address) - before == 1


def test_timeout_kills_the_whole_process_group_even_if_it_ignores_term(
    sshd_server: sshd.Sshd, make: Any
) -> None:
    h = host(sshd_server, A_KILL)
    tok = token()
    cmd = f"trap '' TERM; sleep {tok} & sleep {tok} & echo started; wait"
    r, out, _ = run(make(h, kill_grace_s=0.5), h, cmd, timeout_s=1.5)
    assert r.timed_out and r.exit_code is None and r.error is None
    assert out == "started\n"
    assert sshd.wait_gone(f"sleep {tok}") == []


def test_cancel_stops_the_command_and_kills_it(sshd_server: sshd.Sshd, make: Any) -> None:
    h = host(sshd_server, A_CANCEL)
    tok = token()
    cancel = threading.Event()
    r, _, _ = run(
        make(h),
        h,
        f"echo started; sleep {tok}",
        cancel=cancel,
        on_output=lambda s, text: cancel.set() if "started" in text else None,
    )
    assert r.exit_code is None and not r.timed_out and r.error is None
    assert sshd.wait_gone(f"sleep {tok}") == []


def test_hosts_without_a_posix_shell_are_stopped_by_the_ssh_signal_request(
    sshd_server: sshd.Sshd, make: Any
) -> None:
    # Not wrapped (ansible_shell_type says fish): sshd delivers the "signal" request to
    # the session's group, which works for non-root logins.
    h = host(sshd_server, A_SIGNAL, vars={"ansible_shell_type": "fish"})
    tok = token()
    r, out, _ = run(make(h), h, f"echo started; sleep {tok}", timeout_s=1.5)
    assert r.timed_out and out == "started\n"
    assert sshd.wait_gone(f"sleep {tok}") == []


def test_background_child_holding_stdout_does_not_hang_the_step(
    sshd_server: sshd.Sshd, make: Any
) -> None:
    h = host(sshd_server, A_BACKGROUND)
    tok = token()
    try:
        r, out, _ = run(make(h), h, f"sleep {tok} & echo launched", timeout_s=8)
        assert (r.exit_code, r.timed_out) == (0, False)
        assert out == "launched\n"
    finally:
        sshd.kill_matching(f"sleep {tok}")


def test_megabytes_of_output_arrive_whole(sshd_server: sshd.Sshd, make: Any) -> None:
    h = host(sshd_server, A_BIG)
    r, out, err = run(make(h), h, "head -c 3000000 /dev/zero | tr '\\0' a; echo end >&2")
    assert r.exit_code == 0
    assert len(out) == 3_000_000 and set(out) == {"a"}
    assert err == "end\n"


def test_a_connection_that_died_between_commands_is_reopened(
    sshd_server: sshd.Sshd, make: Any
) -> None:
    h = host(sshd_server, A_RECONNECT)
    t = make(h)
    r, out, _ = run(t, h, "echo $PPID")
    assert r.exit_code == 0
    sshd.kill_connection(int(out), sshd_server)
    r, out, _ = run(t, h, "echo back")
    assert (r.exit_code, out) == (0, "back\n")


def test_unknown_host_key_refused_then_accepted_and_recorded(
    sshd_server: sshd.Sshd, make: Any, tmp_path: Path
) -> None:
    h = host(sshd_server, A_KEYS)
    kh = tmp_path / "known_hosts"
    r, _, _ = run(make(h, known_hosts=[kh]), h, "true")
    assert r.error is not None and r.error.kind == "hostkey"
    fp = fingerprint(__import__("base64").b64decode(sshd_server.host_public.split()[1]))
    assert fp in r.error.detail and f"[{h.address}]:{sshd_server.port}" in r.error.detail
    assert not kh.exists()

    accepted: list[tuple[str, str, str]] = []
    t = make(
        h,
        known_hosts=[kh],
        accept_new_host_keys=True,
        on_host_key_accepted=lambda *a: accepted.append(a),
    )
    assert run(t, h, "true")[0].exit_code == 0
    assert accepted == [("h8", "ssh-ed25519", fp)]
    assert f"[{h.address}]:{sshd_server.port} ssh-ed25519 " in kh.read_text()
    assert run(make(h, known_hosts=[kh]), h, "true")[0].exit_code == 0


def test_changed_host_key_is_refused_even_with_accept_new(
    sshd_server: sshd.Sshd, make: Any, tmp_path: Path
) -> None:
    h = host(sshd_server, A_KEYS)
    other = sshd.keygen(tmp_path / "other_host_key")
    kh = tmp_path / "known_hosts"
    kh.write_text(sshd_server.known_hosts_lines(other))
    r, _, _ = run(make(h, known_hosts=[kh], accept_new_host_keys=True), h, "true")
    assert r.error is not None and r.error.kind == "hostkey"
    assert "CHANGED" in r.error.detail and h.address in r.error.detail
    assert kh.read_text() == sshd_server.known_hosts_lines(other)  # nothing recorded


def test_wrong_key_is_an_auth_failure_listing_what_was_tried(
    sshd_server: sshd.Sshd, make: Any, tmp_path: Path
) -> None:
    stranger = tmp_path / "stranger"
    sshd.keygen(stranger)
    h = host(sshd_server, A_AUTH, key_file=str(stranger))
    missing = Host(
        "h-missing", h.address, sshd_server.port, sshd_server.user, str(tmp_path / "nope")
    )
    t = make(h, missing)
    r, _, _ = run(t, h, "true")
    assert r.error is not None and r.error.kind == "auth"
    assert str(stranger) in r.error.detail and sshd_server.user in r.error.detail
    r, _, _ = run(t, missing, "true")
    assert r.error is not None and r.error.kind == "auth"
    assert "nope (no such file)" in r.error.detail


def test_refused_port_and_unknown_name(sshd_server: sshd.Sshd, make: Any) -> None:
    closed = Host("closed", "127.0.0.249", port=sshd_server.port, user=sshd_server.user)
    # A leading '-' makes the C resolver refuse the name itself: no DNS query leaves
    # this machine (tests only ever talk to 127.0.0.x).
    nowhere = Host("nowhere", "-no-such-host.invalid", port=22)
    t = make(closed, nowhere)
    r, _, _ = run(t, closed, "true")
    assert r.error is not None and r.error.kind == "refused"
    assert "127.0.0.249" in r.error.detail
    r, _, _ = run(t, nowhere, "true")
    assert r.error is not None and r.error.kind == "dns"
    assert "-no-such-host.invalid" in r.error.detail


def _peer_process(local_port: str) -> str:
    """Which process owns the client end of a loopback connection from `local_port`."""
    out = subprocess.run(
        ["ss", "-Htnp", "state", "established", f"( sport = :{local_port} )"],
        capture_output=True,
        text=True,
    ).stdout
    return out


def test_proxyjump_through_an_inventory_host(sshd_server: sshd.Sshd, make: Any) -> None:
    jump = host(sshd_server, A_JUMP)
    target = host(sshd_server, A_BEHIND, proxy_jump=jump.name)
    t = make(jump, target)
    r, out, _ = run(t, target, "echo $SSH_CLIENT")
    assert r.exit_code == 0, r
    client_port = out.split()[1]
    assert "sshd" in _peer_process(client_port)  # the target's client is the jump's sshd
    assert t.endpoint(target).endswith(f"via {jump.name}")
    # The jump's connection is pooled too: a second target through it opens no new one.
    before = sshd.connection_count(sshd_server, jump.address)
    behind2 = host(sshd_server, A_ALIAS, proxy_jump=jump.name)
    t2 = make(jump, target, behind2)
    assert run(t2, target, "true")[0].exit_code == 0
    assert run(t2, behind2, "true")[0].exit_code == 0
    assert sshd.connection_count(sshd_server, jump.address) - before == 1


def test_proxyjump_and_aliases_from_ssh_config(
    sshd_server: sshd.Sshd, make: Any, tmp_path: Path
) -> None:
    config = tmp_path / "ssh_config"
    config.write_text(
        f"Host bastion\n  HostName {sshd_server.addresses[A_JUMP]}\n  Port {sshd_server.port}\n"
        f"  User {sshd_server.user}\n  IdentityFile {sshd_server.client_key}\n"
        f"Host app-alias\n  HostName {sshd_server.addresses[A_ALIAS]}\n  Port {sshd_server.port}\n"
        f"  User {sshd_server.user}\n  IdentityFile {sshd_server.client_key}\n  ProxyJump bastion\n"
    )
    h = Host("app", "app-alias")
    r, out, _ = run(make(h, ssh_config=config), h, "echo $SSH_CLIENT")
    assert r.exit_code == 0, r
    assert "sshd" in _peer_process(out.split()[1])


def test_jump_that_cannot_reach_the_target_names_both(sshd_server: sshd.Sshd, make: Any) -> None:
    jump = host(sshd_server, A_JUMP)
    target = Host(
        "lost", "127.0.0.249", port=sshd_server.port, user=sshd_server.user, proxy_jump=jump.name
    )
    r, _, _ = run(make(jump, target), target, "true")
    assert r.error is not None and r.error.kind == "unreachable"
    assert r.error.host == "lost"
    assert jump.name in r.error.detail and "127.0.0.249" in r.error.detail


def test_close_ends_each_connection_at_once_on_both_sides(
    sshd_server: sshd.Sshd, make: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # An idle connection's thread wakes only this often: closing must not wait for that.
    monkeypatch.setattr(_client, "IDLE_WAKE_S", 600.0)
    h = host(sshd_server, A_OUTPUT)
    t = make(h)
    before = set(threading.enumerate())  # other tests' connections may still be ending
    r, out, _ = run(t, h, "echo $PPID")
    assert r.exit_code == 0
    server_side = sshd.session_pids(int(out), sshd_server)
    threads = [
        th
        for th in threading.enumerate()
        if isinstance(th, paramiko.Transport) and th not in before
    ]
    assert server_side and len(threads) == 1
    t.close()
    threads[0].join(timeout=30)
    assert not threads[0].is_alive()  # the process can end without waiting for it
    for pid in server_side:  # the server saw the connection end: its session is gone
        assert wait_exited(pid, timeout_s=30)


def wait_exited(pid: int, timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            return True
        if state == "Z":
            return True
        time.sleep(0.05)
    return False


def test_warm_up_connects_ahead_and_the_first_command_uses_that_connection(
    sshd_server: sshd.Sshd, make: Any
) -> None:
    h = host(sshd_server, A_WARM)
    t = make(h)
    before = sshd.connection_count(sshd_server, h.address)
    t.warm([h])
    t.warm([h])  # already connecting: nothing more
    r, out, _ = run(t, h, "echo warm")
    assert (r.exit_code, out) == (0, "warm\n")
    assert sshd.connection_count(sshd_server, h.address) - before == 1


def test_a_failed_warm_up_is_the_first_commands_error_and_the_next_one_retries(
    sshd_server: sshd.Sshd, make: Any
) -> None:
    closed = Host("closed", "127.0.0.249", port=sshd_server.port, user=sshd_server.user)
    t = make(closed)
    t.warm([closed])
    for _ in range(2):
        r, _, _ = run(t, closed, "true")
        assert r.error is not None and r.error.kind == "refused"
        assert r.error.host == "closed" and "127.0.0.249" in r.error.detail

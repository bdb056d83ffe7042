"""`runbook hosts --check` end to end: real CLI process, real sshd on loopback."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import sshd

FIRST = 17  # shared-server addresses 17-20 are this module's


def inventory(server: sshd.Sshd, tmp_path: Path, extra: str = "") -> Path:
    path = tmp_path / "hosts.yml"
    addresses = server.addresses[FIRST : FIRST + 4]
    lines = [
        *server.inventory_head(),
        "  children:",
        "    web:",
        "      hosts:",
        *[f"        web{i + 1}: {{ansible_host: {a}}}" for i, a in enumerate(addresses)],
    ]
    path.write_text("\n".join(lines) + "\n" + extra)
    return path


def hosts_check(tmp_path: Path, known_hosts: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = dict(
        os.environ,
        RUNBOOK_KNOWN_HOSTS=str(known_hosts),
        RUNBOOK_SSH_CONFIG="",
        RUNBOOK_STATE=str(tmp_path / "state.db"),
        NO_COLOR="1",
    )
    return subprocess.run(
        [sys.executable, "-m", "runbook", "hosts", "--check", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=120,
    )


def test_all_hosts_reachable_exit_0(
    sshd_server: sshd.Sshd, known_hosts: Path, tmp_path: Path
) -> None:
    inv = inventory(sshd_server, tmp_path)
    p = hosts_check(tmp_path, known_hosts, "-i", str(inv), "web", "--forks", "2")
    assert p.returncode == 0, p.stderr
    lines = p.stdout.splitlines()
    assert lines[0].split() == ["HOST", "ADDRESS", "RESULT", "DETAIL", "TIME"]
    assert [ln.split()[0] for ln in lines[1:5]] == ["web1", "web2", "web3", "web4"]
    assert all(ln.split()[2] == "ok" for ln in lines[1:5])
    assert lines[-1] == "4 ok, 0 failed"
    assert "Traceback" not in p.stderr


def test_failures_are_listed_per_host_and_exit_1(sshd_server: sshd.Sshd, tmp_path: Path) -> None:
    extra = (
        "    closed:\n      hosts:\n"
        "        gone: {ansible_host: 127.0.0.248}\n"
        # A leading '-' makes the C resolver refuse the name itself: no DNS query leaves
        # this machine (tests only ever talk to 127.0.0.x).
        "        nowhere: {ansible_host: -no-such-host.invalid}\n"
    )
    inv = inventory(sshd_server, tmp_path, extra)
    # web4's key is missing from this known_hosts: refused as unknown.
    known = tmp_path / "known_hosts"
    known.write_text(
        "".join(
            ln + "\n"
            for ln in sshd_server.known_hosts_lines().splitlines()
            if f"{sshd_server.addresses[FIRST + 3]}]" not in ln
        )
    )
    p = hosts_check(tmp_path, known, "-i", str(inv), "--format", "json")
    assert p.returncode == 1, p.stderr
    rows = {r["name"]: r for r in json.loads(p.stdout)}
    assert [rows[n]["result"] for n in ("web1", "web2", "web3")] == ["ok", "ok", "ok"]
    assert rows["web4"]["result"] == "hostkey"
    assert "SHA256:" in rows["web4"]["detail"]
    assert rows["gone"]["result"] == "refused"
    assert rows["nowhere"]["result"] == "dns"
    gone = rows["gone"]
    assert (gone["address"], gone["port"], gone["user"]) == (
        "127.0.0.248",
        sshd_server.port,
        sshd_server.user,
    )
    assert not rows["gone"]["ok"]


def test_accept_new_host_keys_records_them(sshd_server: sshd.Sshd, tmp_path: Path) -> None:
    inv = inventory(sshd_server, tmp_path)
    known = tmp_path / "fresh_known_hosts"
    p = hosts_check(tmp_path, known, "-i", str(inv))
    assert p.returncode == 1
    assert p.stdout.count("hostkey") == 4
    p = hosts_check(tmp_path, known, "-i", str(inv), "--accept-new-host-keys")
    assert p.returncode == 0, p.stdout
    assert known.read_text().count("ssh-ed25519") == 4
    assert hosts_check(tmp_path, known, "-i", str(inv)).returncode == 0


def test_known_hosts_beside_the_inventory_is_used(sshd_server: sshd.Sshd, tmp_path: Path) -> None:
    inv = inventory(sshd_server, tmp_path)
    (tmp_path / "known_hosts").write_text(sshd_server.known_hosts_lines())
    p = hosts_check(tmp_path, tmp_path / "empty_user_known_hosts", "-i", str(inv))
    assert p.returncode == 0, p.stdout

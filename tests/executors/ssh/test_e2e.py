"""End to end over real SSH: the example restore green on 35 loopback servers, and every
network fault ending as a clear per-host failure while independent branches finish."""

from __future__ import annotations

import random
import shutil
import socket
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import sshd
from ssh_helpers import base_env, run_answering, write_stubs

from runbook.load.inventory._load import load_inventory

pytestmark = pytest.mark.skipif(sshd.unavailable() is not None, reason=str(sshd.unavailable()))

ROOT = Path(__file__).resolve().parents[3]
PLAYBOOK = ROOT / "playbooks" / "datacenter-restore.yml"
INVENTORY = ROOT / "inventory" / "datacenter.yml"


def _port_free(addresses: list[str], port: int) -> bool:
    for a in addresses:
        with socket.socket() as s:
            try:
                s.bind((a, port))
            except OSError:
                return False
    return True


def test_example_restore_runs_green_over_real_ssh(tmp_path: Path) -> None:
    inv = load_inventory([INVENTORY])
    hosts = list(inv.hosts.values())
    addresses = sorted({h.address for h in hosts}, key=lambda a: tuple(map(int, a.split("."))))
    port = {h.port for h in hosts}.pop()
    assert len(addresses) >= 20
    if not _port_free(addresses, port):
        pytest.skip(f"port {port} is taken on the example's loopback addresses")
    work = sshd.public_tempdir("runbook-e2e-")  # the test user runs the stubs from here
    stubs = write_stubs(work / "stubs")
    with sshd.running(addresses, port, env_path=f"{stubs}:/usr/bin:/bin") as server:
        # The example leaves ansible_user unset: ~/.ssh/config supplies user and key.
        config = tmp_path / "ssh_config"
        config.write_text(
            f"Host 127.0.0.*\n  User {server.user}\n  IdentityFile {server.client_key}\n"
        )
        env = base_env(
            tmp_path,
            RUNBOOK_SSH_CONFIG=str(config),
            RUNBOOK_KNOWN_HOSTS=str(server.known_hosts),
            PATH=f"{stubs}:/usr/bin:/bin",  # the two local steps (dig, curl) use them too
        )
        result, events = run_answering(
            [str(PLAYBOOK), "-i", str(INVENTORY), "--forks", "50"], env, tmp_path
        )
    shutil.rmtree(work, ignore_errors=True)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert "Traceback" not in result.stderr
    types = Counter(e["type"] for e in events)
    assert types["host_failed"] == 0 and types["step_failed"] == 0
    finished = [e for e in events if e["type"] == "run_finished"]
    assert finished[-1]["data"]["result"] == "succeeded"
    remote_hosts = {e["host"] for e in events if e["type"] == "host_succeeded"}
    assert len(remote_hosts) >= 20
    outputs = [e for e in events if e["type"] == "host_output"]
    # Remote output reaches the journal per host (the ping stub on all 38 site routers).
    tunnel_output = {e["host"] for e in outputs if e["step"] == "site-tunnels"}
    assert len(tunnel_output) == 38
    assert all(
        "0% packet loss" in e["data"]["text"] for e in outputs if e["step"] == "site-tunnels"
    )
    assert not any("runbook-pgid" in e["data"]["text"] for e in outputs)


FAULTS_PLAYBOOK = """\
playbook: faults
title: Every SSH fault, one per branch
defaults: {{timeout: 30s, on_failure: block}}
steps:
  - id: healthy
    title: Healthy branch
    phase: ok
    hosts: good
    run: "echo fine on {{{{ host.name }}}}"
  - id: healthy-after
    title: Still healthy
    phase: ok
    needs: [healthy]
    hosts: good
    run: "echo still fine"
  - id: refused
    title: Nothing listens
    phase: faults
    hosts: refused
    run: "true"
  - id: hostkey
    title: Changed host key
    phase: faults
    hosts: hostkey
    run: "true"
  - id: auth
    title: Wrong key
    phase: faults
    hosts: auth
    run: "true"
  - id: dropped
    title: Session dies mid-command
    phase: faults
    hosts: dropped
    run: "echo going; kill -9 $PPID; sleep 5"
  - id: timeout
    title: Ignores TERM past its timeout
    phase: faults
    hosts: slow
    timeout: 1s
    run: "trap '' TERM; sleep {token}"
  - id: after-refused
    title: Blocked behind the refused one
    phase: faults
    needs: [refused]
    hosts: good
    run: "true"
{unreachable_step}"""

UNREACHABLE_STEP = """\
  - id: unreachable
    title: Blackholed address
    phase: faults
    hosts: unreachable
    run: "true"
"""


def test_every_fault_is_a_per_host_failure_while_other_branches_finish(
    sshd_server: sshd.Sshd, tmp_path: Path
) -> None:
    a = sshd_server.addresses
    blackhole = sshd.Blackhole.unavailable() is None
    token = f"{random.randint(100000, 999999)}"
    (tmp_path / "faults.yml").write_text(
        FAULTS_PLAYBOOK.format(token=token, unreachable_step=UNREACHABLE_STEP if blackhole else "")
    )
    stranger = tmp_path / "stranger"
    sshd.keygen(stranger)
    other = sshd.keygen(tmp_path / "other_host_key")
    groups: dict[str, list[tuple[str, str, str]]] = {
        "good": [("good1", a[24], ""), ("good2", a[25], "")],
        "refused": [("nobody", "127.0.0.247", "")],
        "hostkey": [("imposter", a[26], "")],
        "auth": [("locked", a[27], f"ansible_ssh_private_key_file: {stranger}")],
        "dropped": [("crashy", a[28], "")],
        "slow": [("stubborn", a[29], "")],
        "unreachable": [("dark", a[30], "ansible_ssh_timeout: 2")],
    }
    lines = [
        "all:",
        "  vars:",
        f"    ansible_port: {sshd_server.port}",
        f"    ansible_user: {sshd_server.user}",
        f"    ansible_ssh_private_key_file: {sshd_server.client_key}",
        "  children:",
    ]
    for group, members in groups.items():
        lines += [f"    {group}:", "      hosts:"]
        for name, address, extra in members:
            body = f"ansible_host: {address}" + (f", {extra}" if extra else "")
            lines.append(f"        {name}: {{{body}}}")
    inv = tmp_path / "hosts.yml"
    inv.write_text("\n".join(lines) + "\n")
    known = tmp_path / "known_hosts"
    known.write_text(
        "".join(
            f"[{addr}]:{sshd_server.port} {other if addr == a[26] else sshd_server.host_public}\n"
            for addr in a
        )
    )
    env = base_env(tmp_path, RUNBOOK_SSH_CONFIG="", RUNBOOK_KNOWN_HOSTS=str(known))
    args = [str(tmp_path / "faults.yml"), "-i", str(inv)]
    try:
        if blackhole:
            with sshd.Blackhole(a[30], sshd_server.port):
                result, events = run_answering(args, env, tmp_path)
        else:
            result, events = run_answering(args, env, tmp_path)
        left = sshd.wait_gone(f"sleep {token}")  # the timeout killed what ignored TERM
    finally:
        sshd.kill_matching(f"sleep {token}")
    assert result.returncode == 1, result.stdout[-3000:] + result.stderr[-2000:]
    assert "Traceback" not in result.stderr
    failed: dict[str, dict[str, Any]] = {
        e["host"]: e["data"] for e in events if e["type"] == "host_failed"
    }
    expected = {
        "nobody": "refused",
        "imposter": "hostkey",
        "locked": "auth",
        "crashy": "dropped",
        "stubborn": "timeout",
    }
    if blackhole:
        expected["dark"] = "unreachable"
    assert {h: failed[h]["reason"] for h in expected if h in failed} == expected
    assert "CHANGED" in failed["imposter"]["message"]
    assert "127.0.0.247" in failed["nobody"]["message"]
    if blackhole:
        assert "within 2s" in failed["dark"]["message"]  # ansible_ssh_timeout is honoured
    ends = ("step_succeeded", "step_failed", "step_blocked")
    status = {e["step"]: e["type"] for e in events if e["type"] in ends}
    assert status["healthy"] == status["healthy-after"] == "step_succeeded"
    assert status["after-refused"] == "step_blocked"
    assert left == []


def test_new_host_keys_refused_then_accepted_into_the_journal(
    sshd_server: sshd.Sshd, tmp_path: Path
) -> None:
    names = {"k1": sshd_server.addresses[24], "k2": sshd_server.addresses[25]}
    inv = tmp_path / "hosts.yml"
    inv.write_text(
        "all:\n  vars:\n"
        f"    ansible_port: {sshd_server.port}\n    ansible_user: {sshd_server.user}\n"
        f"    ansible_ssh_private_key_file: {sshd_server.client_key}\n  hosts:\n"
        + "".join(f"    {n}: {{ansible_host: {a}}}\n" for n, a in names.items())
    )
    (tmp_path / "pb.yml").write_text(
        "playbook: keys\ntitle: Keys\nsteps:\n"
        "  - {id: hello, title: Hello, phase: one, hosts: all, run: 'echo hi'}\n"
    )
    known = tmp_path / "user_known_hosts"  # empty: every key is new
    env = base_env(tmp_path, RUNBOOK_SSH_CONFIG="", RUNBOOK_KNOWN_HOSTS=str(known))
    result, events = run_answering([str(tmp_path / "pb.yml"), "-i", str(inv)], env, tmp_path)
    assert result.returncode == 1
    reasons = {e["host"]: e["data"]["reason"] for e in events if e["type"] == "host_failed"}
    assert reasons == {"k1": "hostkey", "k2": "hostkey"}

    args = [str(tmp_path / "pb.yml"), "-i", str(inv), "--accept-new-host-keys"]
    result, events = run_answering(args, env, tmp_path)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    accepted = {e["host"]: e["data"] for e in events if e["type"] == "host_key_accepted"}
    assert set(accepted) == {"k1", "k2"}
    assert all(d["key_type"] == "ssh-ed25519" for d in accepted.values())
    assert all(d["fingerprint"].startswith("SHA256:") for d in accepted.values())
    assert known.read_text().count("ssh-ed25519") == 2

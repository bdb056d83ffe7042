"""The GitLab Geo failover and the private cloud cold start examples, run for real over SSH.

playbooks/gitlab-geo-failover.yml and playbooks/cloud-cold-start.yml run unchanged
against a real OpenSSH server on fourteen loopback addresses, with shell stubs in place of
gitlab-ctl, gitlab-rake, ceph, virsh, curl... that answer per address and log what ran
where; sudo is tests/data/bin/fake-sudo. Operators answer from a second process with
`runbook confirm`. What is checked is what the journal and the hosts say.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sshd
import yaml
from ssh_helpers import base_env, run_answering, runbook

pytestmark = pytest.mark.skipif(sshd.unavailable() is not None, reason=str(sshd.unavailable()))

ROOT = Path(__file__).resolve().parents[2]
# 127.0.3.x: clear of every other test's loopback addresses (127.0.0.x, 127.0.2.x).
NAMES = ["gitlab-par-01", "gitlab-lyo-01", "ceph-01", "ceph-02", "ceph-03"]
NAMES += [f"kvm-0{i}" for i in range(1, 6)] + ["web-01", "web-02", "erp-01", "build-01"]
AT = {name: f"127.0.3.{i}" for i, name in enumerate(NAMES, 1)}
TOKEN = "glpat-Example-T0ken-42"
HEAD = '#!/bin/sh\nLOG=@LOG@\nSTATE=@STATE@\naddr=$(echo $SSH_CONNECTION | cut -d" " -f3)\n'
LOGGED = 'echo "$addr $(basename $0) $* ${TOKEN:+token=$TOKEN}" >> "$LOG"\n'
STUBS = {
    "gitlab-rake": 'case "$*" in *geo:status*) echo "Repositories: 10/10 (100%)"; '
    'echo "Repositories Verified: 10/10 (100%)";; esac',
    "gitlab-ctl": 'case "$*" in "geo promote") read a; [ "$a" = yes ] || exit 1;; esac',
    "systemctl": 'case "$1" in disable) touch "$STATE/$addr.disabled";; is-enabled) '
    '[ -e "$STATE/$addr.disabled" ] && { echo disabled; exit 1; }; echo enabled;; esac',
    "curl": 'case "$*" in *geo_sites*) echo \'{"healthy": true, "db_replication_lag_seconds": 2,'
    ' "repositories_verified_in_percentage": "99.50%"}\';; *) echo "{}";; esac',
    "ceph": 'case "$*" in "mon stat") [ "$addr" = @CEPH3@ ] && exit 1; echo "quorum 0,1";; '
    '"osd stat -f json") echo \'{"num_osds": 6, "num_up_osds": 6, "num_in_osds": 6}\';; '
    "health) echo HEALTH_OK;; esac",
    "virsh": 'case "$*" in *pool-info*) [ -e "$STATE/$addr.nopool" ] && exit 1; '
    'echo "State: running";; *autostart*) case "$addr" in '
    "@KVM1@) echo web-01;; @KVM2@) echo web-02; echo erp-01;; @KVM3@) echo build-01;; "
    "esac;; esac",
}


@pytest.fixture(scope="module")
def stubbed() -> Iterator[tuple[sshd.Sshd, Path]]:
    """A real sshd on the fourteen addresses whose PATH starts with the stubs; a folder
    with the stubs' log, their state, the local stubs and fake sudo."""
    work = sshd.public_tempdir("runbook-failover-")
    for folder in ("stubs", "local", "state"):
        (work / folder).mkdir()
        (work / folder).chmod(0o777)
    head = HEAD.replace("@LOG@", str(work / "ran.log")).replace("@STATE@", str(work / "state"))
    for name, body in STUBS.items():
        for key, host in (("@CEPH3@", "ceph-03"), ("@KVM1@", "kvm-01"), ("@KVM2@", "kvm-02")):
            body = body.replace(key, AT[host])
        body = body.replace("@KVM3@", AT["kvm-03"])
        for folder in ("stubs", "local"):
            path = work / folder / name
            path.write_text(head + LOGGED + body + "\n")
            path.chmod(0o755)
    shutil.copy(ROOT / "tests" / "data" / "bin" / "fake-sudo", work / "sudo")
    (work / "sudo").chmod(0o755)
    with sshd.running(list(AT.values()), env_path=f"{work / 'stubs'}:/usr/bin:/bin") as server:
        yield server, work
    shutil.rmtree(work, ignore_errors=True)


def _point(group: dict[str, Any]) -> None:
    for name, host in (group.get("hosts") or {}).items():
        host["ansible_host"] = AT[name]
    for child in (group.get("children") or {}).values():
        _point(child)


def _setup(
    server: sshd.Sshd, work: Path, example: str, tmp_path: Path
) -> tuple[Path, dict[str, str]]:
    """The example's inventory, pointed at the test server; the CLI's environment."""
    inventory = yaml.safe_load((ROOT / "inventory" / example).read_text())
    inventory["all"]["vars"] = {
        "ansible_port": server.port,
        "ansible_user": server.user,
        "ansible_ssh_private_key_file": str(server.client_key),
        "ansible_become_exe": str(work / "sudo"),
    }
    _point(inventory["all"])
    path = tmp_path / example
    path.write_text(yaml.safe_dump(inventory, sort_keys=False))
    (work / "ran.log").write_text("")
    (work / "ran.log").chmod(0o666)
    for flag in (work / "state").iterdir():
        flag.unlink()
    env = base_env(tmp_path, RUNBOOK_KNOWN_HOSTS=str(server.known_hosts), RUNBOOK_SSH_CONFIG="")
    env["PATH"] = f"{work / 'local'}:{env['PATH']}"  # the local steps' curl
    return path, env


def _ran(work: Path) -> list[str]:
    return (work / "ran.log").read_text().splitlines()


def _events(events: list[dict[str, Any]], type_: str, step: str) -> list[dict[str, Any]]:
    return [e for e in events if e["type"] == type_ and e["step"] == step]


def test_gitlab_geo_failover_waits_for_replication_promotes_and_keeps_the_token_out(
    stubbed: tuple[sshd.Sshd, Path], tmp_path: Path
) -> None:
    server, work = stubbed
    inventory, env = _setup(server, work, "gitlab.yml", tmp_path)
    env["GITLAB_ADMIN_TOKEN"] = TOKEN
    tried: dict[str, list[tuple[int, str]]] = {}
    result, events = run_answering(
        [str(ROOT / "playbooks" / "gitlab-geo-failover.yml"), "-i", str(inventory)],
        env,
        tmp_path,
        180,
        answers={"update-dns": [["--value", "dns change 12"], ["--value", "CHG-1234"]]},
        tried=tried,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    refused, accepted = tried["update-dns"]
    assert refused[0] == 2 and "does not match the pattern of step update-dns" in refused[1]
    assert accepted[0] == 0
    par, lyo = AT["gitlab-par-01"], AT["gitlab-lyo-01"]
    ran = _ran(work)
    # 99.50% verified: the wait branch ran, on the secondary
    (status,) = _events(events, "host_succeeded", "replication-status")
    assert status["data"]["value"]["repositories_verified_in_percentage"] == "99.50%"
    assert _events(events, "step_succeeded", "wait-for-replication")
    assert f"{lyo} gitlab-rake geo:status " in ran
    # stopped and disabled on the primary, then promoted on the secondary, with its "yes"
    order = [line.split()[0:3] for line in ran if "gitlab-ctl" in line or "disable" in line]
    assert order == [
        [par, "gitlab-ctl", "stop"],
        [par, "systemctl", "disable"],
        [lyo, "gitlab-ctl", "geo"],
    ]
    # the local steps ran here, without sudo; the token reached curl and nothing else
    assert any(line.startswith(" curl -sf https://gitlab.example.org/-/readiness") for line in ran)
    assert f"maintenance_mode=false token={TOKEN}" in ran[-1]
    exported = runbook(["export", "latest", "--format", "jsonl"], env, tmp_path)
    assert TOKEN not in exported.stdout and TOKEN not in result.stdout
    assert "TOKEN=*** curl" in json.dumps(_events(events, "host_started", "maintenance-mode"))
    (signed,) = _events(events, "manual_waiting", "sign-off")
    assert signed["data"]["instructions"].startswith("DNS change CHG-1234 is in place.")


def test_cloud_cold_start_stops_at_a_hypervisor_without_storage_then_resumes(
    stubbed: tuple[sshd.Sshd, Path], tmp_path: Path
) -> None:
    server, work = stubbed
    inventory, env = _setup(server, work, "cloud.yml", tmp_path)
    (work / "state" / f"{AT['kvm-03']}.nopool").touch()
    args = [str(ROOT / "playbooks" / "cloud-cold-start.yml"), "-i", str(inventory)]
    result, events = run_answering(args, env, tmp_path, 180)
    assert result.returncode == 1, result.stdout[-3000:] + result.stderr[-2000:]
    # two monitors are a quorum: the third, never in it, is cancelled (or, still in its
    # `run` then, stopped after it: nothing says it joined)
    assert _events(events, "step_succeeded", "ceph-monitors")
    checked = _events(events, "host_succeeded", "ceph-monitors")
    assert {e["host"] for e in checked if "message" not in e["data"]} == {"ceph-01", "ceph-02"}
    # batches of two: kvm-03 fails in the second batch, kvm-05 never starts
    assert [e["host"] for e in _events(events, "host_failed", "hypervisors")] == ["kvm-03"]
    (never,) = _events(events, "host_not_started", "hypervisors")
    assert never["host"] == "kvm-05"
    assert "failed: hypervisors: 1 of 5 hosts failed (kvm-03)" in result.stdout
    # the storage is back on kvm-03: retry, resume, the VMs the hypervisors list are checked
    (work / "state" / f"{AT['kvm-03']}.nopool").unlink()
    assert runbook(["retry", "latest", "hypervisors"], env, tmp_path).returncode == 0
    before = len(_ran(work))
    resumed, events = run_answering(["latest"], env, tmp_path, 180, command="resume")
    assert resumed.returncode == 0, resumed.stdout[-3000:] + resumed.stderr[-2000:]
    again = {line.split()[0] for line in _ran(work)[before:] if "libvirtd" in line}
    assert again == {AT["kvm-03"], AT["kvm-05"]}  # the hypervisors that were up stay up
    started = _events(events, "step_started", "app-health")[-1]
    assert started["data"]["hosts"] == ["web-01", "web-02", "erp-01", "build-01"]
    assert {line.split()[0] for line in _ran(work) if "curl -sf http" in line} == {
        AT[vm] for vm in ("web-01", "web-02", "erp-01", "build-01")
    }
    (signed,) = _events(events, "manual_waiting", "sign-off")
    assert signed["data"]["instructions"].startswith("4 VMs answer their")

"""The two example playbooks of steps that decide, run for real over SSH.

playbooks/galera-power-loss.yml and playbooks/etcd-restore.yml run unchanged against a
real OpenSSH server on six loopback addresses, with shell stubs in place of mysqld,
galera_new_cluster, mysql, cluster-restore.sh... that answer per address and log what ran
where. An operator answers from a second process with `runbook confirm
--value`, as a second terminal would. What is checked is what the journal and the hosts
say: the bootstrap ran on the chosen host only, the others joined, a skipped branch has its
reason and expression, a value outside the choices is refused with the choices listed.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
import sshd
from ssh_helpers import base_env, run_answering

pytestmark = pytest.mark.skipif(sshd.unavailable() is not None, reason=str(sshd.unavailable()))

ROOT = Path(__file__).resolve().parents[2]
# 127.0.0.140-145: clear of the example inventory (2-100), the shared fixture (150-184)
# and bench/fanout.py (190+).
ADDRESSES = sshd.loopback(140, 6)
DB = {"db-a": ADDRESSES[0], "db-b": ADDRESSES[1], "db-c": ADDRESSES[2]}
MASTERS = {"master-0": ADDRESSES[3], "master-1": ADDRESSES[4], "master-2": ADDRESSES[5]}
SEQNO = {DB["db-a"]: 1318, DB["db-b"]: 1325, DB["db-c"]: 1318}

# Each stub learns which "host" it runs on from the address the client dialled.
WHERE = "addr=$(echo $SSH_CONNECTION | cut -d' ' -f3)\n"
STUBS = {
    "systemctl": 'echo "$addr systemctl $*" >> "$LOG"',
    "mysqld": 'case "$addr" in '
    + " ".join(f"{a}) seq={s};;" for a, s in SEQNO.items())
    + ' esac\necho "WSREP: Recovered position: 6b7a5f3c-0000:$seq"',
    "galera_new_cluster": 'echo "$addr galera_new_cluster" >> "$LOG"',
    "mysql": 'case "$*" in *cluster_status*) printf "wsrep_cluster_status\\tPrimary\\n";; '
    '*local_state*) printf "wsrep_local_state_comment\\tSynced\\n";; '
    '*cluster_size*) printf "wsrep_cluster_size\\t3\\n";; '
    '*) echo "$addr mysql $*" >> "$LOG";; esac',
    "cluster-restore.sh": 'echo "$addr cluster-restore.sh $*" >> "$LOG"',
    "etcdctl": "exit 0",
}


@pytest.fixture(scope="module")
def stubbed() -> Iterator[tuple[sshd.Sshd, Path]]:
    """A real sshd on six addresses whose PATH starts with the stubs; the stubs' log."""
    work = sshd.public_tempdir("runbook-decide-")
    stubs = work / "stubs"
    stubs.mkdir()
    log = work / "ran.log"
    log.write_text("")
    log.chmod(0o666)
    for name, body in STUBS.items():
        path = stubs / name
        path.write_text(f"#!/bin/sh\nLOG={log}\n{WHERE}{body}\n")
        path.chmod(0o755)
    with sshd.running(ADDRESSES, env_path=f"{stubs}:/usr/bin:/bin") as server:
        yield server, work
    shutil.rmtree(work, ignore_errors=True)


def _inventory(server: sshd.Sshd, work: Path) -> Path:
    lines = [
        *server.inventory_head(),
        "  children:",
        "    galera:",
        "      hosts:",
    ]
    for name, addr in DB.items():
        datadir = work / name
        datadir.mkdir(exist_ok=True)
        (datadir / "grastate.dat").write_text("seqno: -1\nsafe_to_bootstrap: 0\n")
        (datadir / "grastate.dat").chmod(0o666)
        datadir.chmod(0o777)
        lines.append(f"        {name}: {{ansible_host: {addr}, datadir: {datadir}}}")
    lines += ["    masters:", "      hosts:"]
    for name, addr in MASTERS.items():
        backup = work / name / "backup"
        backup.mkdir(parents=True, exist_ok=True)
        if name != "master-1":  # master-1 has no usable backup
            (backup / "snapshot_2026-12-06_230000.db").write_text("snapshot")
        data = work / name / "etcd"
        data.mkdir(exist_ok=True)
        manifests = work / name / "manifests"
        manifests.mkdir(exist_ok=True)
        for pod in ("etcd-pod.yaml", "kube-apiserver-pod.yaml"):
            (manifests / pod).write_text("kind: Pod\n")
        for d in (backup, data, manifests, work / name):
            d.chmod(0o777)
        lines.append(
            f"        {name}: {{ansible_host: {addr}, backup_dir: {backup}, etcd_data: {data}, "
            f"manifests: {manifests}, stopped_manifests: {work / name / 'stopped'}}}"
        )
    path = work / "inventory.yml"
    path.write_text("\n".join(lines) + "\n")
    return path


def _run(
    playbook: Path,
    inventory: Path,
    env: Mapping[str, str],
    cwd: Path,
    answer: Mapping[str, list[list[str]]],
) -> tuple[subprocess.CompletedProcess[str], list[dict[str, Any]], dict[str, list[Any]]]:
    """`runbook run`, the manual steps answered from another process with the `confirm`
    arguments in `answer` (each tried in turn); the events, and every confirm's
    (returncode, output)."""
    tried: dict[str, list[tuple[int, str]]] = {}
    args = [str(playbook), "-i", str(inventory)]
    result, events = run_answering(args, env, cwd, 180, answers=answer, tried=tried)
    return result, events, dict(tried)


def _ran(work: Path) -> list[str]:
    return (work / "ran.log").read_text().splitlines()


def _hosts_of(events: list[dict[str, Any]], step: str) -> set[str]:
    return {e["host"] for e in events if e["type"] == "host_started" and e["step"] == step}


def test_galera_bootstraps_the_node_the_operator_chose_and_joins_the_others(
    stubbed: tuple[sshd.Sshd, Path], tmp_path: Path
) -> None:
    server, work = stubbed
    (work / "ran.log").write_text("")
    inventory = _inventory(server, work)
    env = base_env(tmp_path, RUNBOOK_KNOWN_HOSTS=str(server.known_hosts), RUNBOOK_SSH_CONFIG="")
    result, events, tried = _run(
        ROOT / "playbooks" / "galera-power-loss.yml",
        inventory,
        env,
        tmp_path,
        {"choose-bootstrap": [["--value", "db-z"], ["--value", "db-b"]]},
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    # A value outside the choices is refused (exit 2) with the choices listed.
    refused, accepted = tried["choose-bootstrap"]
    assert refused[0] == 2 and "'db-z' is not one of the choices" in refused[1]
    assert "db-a, db-b, db-c" in refused[1]
    assert accepted[0] == 0
    # Each node's seqno was captured from its own output and journaled.
    values = {
        e["host"]: e["data"]["value"]
        for e in events
        if e["type"] == "host_succeeded" and e["step"] == "find-seqno"
    }
    assert values == {"db-a": 1318, "db-b": 1325, "db-c": 1318}
    waiting = next(
        e for e in events if e["type"] == "manual_waiting" and e["step"] == "choose-bootstrap"
    )
    assert waiting["data"]["input"]["choices"] == ["db-a", "db-b", "db-c"]
    assert waiting["data"]["input"]["default"] == "db-b"  # the highest seqno
    assert "db-b: 1325" in waiting["data"]["instructions"]
    # The bootstrap ran on the chosen node only, the others joined it.
    assert _hosts_of(events, "bootstrap") == {"db-b"}
    assert _hosts_of(events, "join-others") == {"db-a", "db-c"}
    started = next(e for e in events if e["type"] == "step_started" and e["step"] == "join-others")
    assert started["data"]["pattern"] == "galera:!db-b"
    ran = _ran(work)
    assert ran.count(f"{DB['db-b']} galera_new_cluster") == 1
    assert not any("galera_new_cluster" in line and DB["db-b"] not in line for line in ran)
    assert (work / "db-b" / "grastate.dat").read_text().endswith("safe_to_bootstrap: 1\n")
    assert (work / "db-a" / "grastate.dat").read_text().endswith("safe_to_bootstrap: 0\n")
    # The force-quorum branch was not needed: skipped, with its reason and expression.
    skipped = next(e for e in events if e["type"] == "step_skipped" and e["step"] == "force-quorum")
    assert skipped["data"]["reason"] == "when"
    assert skipped["data"]["when"] == "steps['cluster-size'].value < 3"
    sign_off = next(e for e in events if e["type"] == "manual_waiting" and e["step"] == "sign-off")
    assert sign_off["data"]["instructions"].startswith("All three nodes joined.")


def test_etcd_restore_on_the_recovery_host_picked_from_those_with_a_backup(
    stubbed: tuple[sshd.Sshd, Path], tmp_path: Path
) -> None:
    server, work = stubbed
    (work / "ran.log").write_text("")
    inventory = _inventory(server, work)
    playbook = ROOT / "playbooks" / "etcd-restore.yml"
    env = base_env(tmp_path, RUNBOOK_KNOWN_HOSTS=str(server.known_hosts), RUNBOOK_SSH_CONFIG="")
    result, events, tried = _run(
        playbook,
        inventory,
        env,
        tmp_path,
        # master-1 has no backup: not a choice
        {"pick-recovery-host": [["--value", "master-1"], ["--value", "master-2"]]},
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    refused, accepted = tried["pick-recovery-host"]
    assert refused[0] == 2 and "master-0, master-2" in refused[1], refused
    assert accepted[0] == 0
    assert _hosts_of(events, "stop-static-pods") == {"master-0", "master-1"}
    assert _hosts_of(events, "restore") == {"master-2"}
    assert [line for line in _ran(work) if "cluster-restore.sh" in line] == [
        f"{MASTERS['master-2']} cluster-restore.sh {work / 'master-2' / 'backup'}"
    ]
    # The other masters' etcd data was moved away; the recovery host's was not.
    assert (work / "master-0" / "etcd.old").exists() and (work / "master-1" / "etcd.old").exists()
    assert (work / "master-2" / "etcd").exists()
    assert (work / "master-0" / "stopped" / "etcd-pod.yaml").exists()
    assert (work / "master-2" / "manifests" / "etcd-pod.yaml").exists()
    skipped = next(
        e for e in events if e["type"] == "step_skipped" and e["step"] == "force-new-cluster"
    )
    assert skipped["data"] == {
        **skipped["data"],
        "reason": "when",
        "when": "steps['etcd-healthy'].failed",
    }

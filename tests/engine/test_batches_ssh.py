"""Hosts in batches (`serial`), a failure limit (`max_fail`) and a quorum (`min_ok`),
over the real sshd fixture: what the journal shows and what is left on the hosts."""

from __future__ import annotations

import itertools
import uuid
from datetime import datetime
from pathlib import Path

import pytest
import sshd
from engine_helpers import events, of_type, write
from ssh_helpers import base_env, runbook

# Addresses 21-23 of the shared server (see tests/conftest.py); nothing here counts
# connections, so sharing them with the injection and output tests is safe.
A_FIRST = 21


def _inventory(tmp_path: Path, server: sshd.Sshd, names: list[str]) -> Path:
    lines = [
        *server.inventory_head(),
        "  hosts:",
    ]
    for i, name in enumerate(names):
        lines.append(f"    {name}: {{ansible_host: {server.addresses[A_FIRST + i % 3]}}}")
    path = tmp_path / "hosts.yml"
    path.write_text("\n".join(lines) + "\n")
    return path


def _ts(ts: str) -> datetime:
    return datetime.fromisoformat(ts.replace("Z", "+00:00"))


def test_serial_one_with_max_fail_zero_stops_at_the_first_failure(
    sshd_server: sshd.Sshd, ssh_env: dict[str, str], tmp_path: Path
) -> None:
    inv = _inventory(tmp_path, sshd_server, ["db-a", "db-b", "db-c"])
    pb = write(
        tmp_path / "pb.yml",
        """
        playbook: join
        steps:
          - id: join-others
            hosts: all
            serial: 1
            max_fail: 0
            run: "test {{ host.name }} != db-b"
        """,
    )
    r = runbook(["run", str(pb), "-i", str(inv)], base_env(tmp_path, **ssh_env), tmp_path)
    assert r.returncode == 1, r.stdout[-2000:] + r.stderr[-2000:]
    evs = events(tmp_path / "state.db")
    assert [e.host for e in of_type(evs, "host_started")] == ["db-a", "db-b"]
    assert [e.host for e in of_type(evs, "host_failed")] == ["db-b"]
    (never,) = of_type(evs, "host_not_started")
    assert never.host == "db-c"
    assert never.data["reason"] == "max_fail 0 exceeded: 1 host(s) failed"
    (failed,) = of_type(evs, "step_failed")
    assert failed.data["failed_hosts"] == ["db-b"]
    assert "host_not_started join-others@db-c not started: max_fail 0 exceeded" in r.stdout
    status = runbook(["status", "latest"], base_env(tmp_path, **ssh_env), tmp_path)
    assert "join-others" in status.stdout


def test_serial_list_batches_are_visible_in_the_journal_timestamps(
    sshd_server: sshd.Sshd, ssh_env: dict[str, str], tmp_path: Path
) -> None:
    names = [f"app{i}" for i in range(1, 9)]
    inv = _inventory(tmp_path, sshd_server, names)
    pb = write(
        tmp_path / "pb.yml",
        """
        playbook: rolling
        steps:
          - id: rolling-restart
            hosts: all
            serial: [1, 25%]
            run: "sleep 0.3"
        """,
    )
    r = runbook(["run", str(pb), "-i", str(inv)], base_env(tmp_path, **ssh_env), tmp_path)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    evs = events(tmp_path / "state.db")
    started = {e.host: _ts(e.ts) for e in of_type(evs, "host_started")}
    done = {e.host: _ts(e.ts) for e in of_type(evs, "host_succeeded")}
    # 8 hosts: 1, then 25% of 8 = 2 at a time, in host order
    batches = [["app1"], ["app2", "app3"], ["app4", "app5"], ["app6", "app7"], ["app8"]]
    for before, after in itertools.pairwise(batches):
        assert max(done[h] for h in before) <= min(started[h] for h in after)
        # within a batch, hosts run together: each started before the other finished
        assert max(started[h] for h in after) < min(done[h] for h in after)


def test_min_ok_two_of_three_succeeds_and_cancels_the_third_on_its_host(
    sshd_server: sshd.Sshd, ssh_env: dict[str, str], tmp_path: Path
) -> None:
    token = f"never-healthy-{uuid.uuid4().hex[:8]}"
    never = f"then sleep 120; echo {token}"
    inv = _inventory(tmp_path, sshd_server, ["galera-a", "galera-b", "galera-c"])
    pb = write(
        tmp_path / "pb.yml",
        f"""
        playbook: quorum
        steps:
          - id: galera-quorum
            hosts: all
            until: "if test {{{{ host.name }}}} = galera-c; {never}; else sleep 1; fi"
            every: 1s
            timeout: 5m
            min_ok: 2
          - id: after
            needs: [galera-quorum]
            hosts: galera-a
            run: "true"
        """,
    )
    try:
        r = runbook(["run", str(pb), "-i", str(inv)], base_env(tmp_path, **ssh_env), tmp_path)
        assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
        assert sshd.wait_gone(token) == [], "the cancelled command still runs on its host"
    finally:
        sshd.kill_matching(token)
    evs = events(tmp_path / "state.db")
    ok = {e.host for e in of_type(evs, "host_succeeded", "galera-quorum")}
    assert ok == {"galera-a", "galera-b"}
    (cancelled,) = of_type(evs, "host_cancelled")
    assert cancelled.host == "galera-c" and cancelled.data["action"] == "until"
    assert cancelled.data["reason"] == "min_ok reached: 2 host(s) succeeded"
    assert of_type(evs, "step_succeeded", "after")


def test_min_ok_fails_as_soon_as_it_is_out_of_reach(
    sshd_server: sshd.Sshd, ssh_env: dict[str, str], tmp_path: Path
) -> None:
    token = f"slow-{uuid.uuid4().hex[:8]}"
    inv = _inventory(tmp_path, sshd_server, ["n1", "n2", "n3"])
    pb = write(
        tmp_path / "pb.yml",
        f"""
        playbook: quorum
        steps:
          - id: quorum
            hosts: all
            run: "test {{{{ host.name }}}} = n1"
            until: "sleep 120; echo {token}"
            timeout: 5m
            min_ok: 2
        """,
    )
    try:
        r = runbook(["run", str(pb), "-i", str(inv)], base_env(tmp_path, **ssh_env), tmp_path)
        assert sshd.wait_gone(token) == []
    finally:
        sshd.kill_matching(token)
    assert r.returncode == 1, r.stdout[-2000:] + r.stderr[-2000:]
    evs = events(tmp_path / "state.db")
    (failed,) = of_type(evs, "step_failed")
    assert failed.data["reason"].startswith("min_ok 2 of 3 out of reach: 2 host(s) failed")
    cancelled = of_type(evs, "host_cancelled")
    if cancelled:  # n1 was in `until` when the quorum went out of reach
        assert [(c.host, "out of reach" in c.data["reason"]) for c in cancelled] == [("n1", True)]
    else:  # n1 was still in `run`: that finished, was journaled, and nothing more ran there
        actions = [e.data["action"] for e in evs if e.type == "host_started" and e.host == "n1"]
        assert actions == ["run"]
    # the run did not wait 120 s for n1
    assert (_ts(failed.ts) - _ts(evs[0].ts)).total_seconds() < 60


@pytest.mark.parametrize("serial", ["1", "[1, 25%]"])
def test_plan_and_dry_run_accept_batched_steps(serial: str, tmp_path: Path) -> None:
    (tmp_path / "hosts.yml").write_text("all:\n  hosts: {a: {}, b: {}}\n")
    pb = write(
        tmp_path / "pb.yml",
        f"""
        playbook: p
        steps:
          - id: s
            hosts: all
            serial: {serial}
            run: "true"
        """,
    )
    env = base_env(tmp_path)
    r = runbook(["rehearse", str(pb), "-i", "hosts.yml", "--speed", "max"], env, tmp_path)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]


def test_a_host_left_to_finish_its_run_after_min_ok_says_nothing_more_ran(
    sshd_server: sshd.Sshd, ssh_env: dict[str, str], tmp_path: Path
) -> None:
    # mon-c's `run` outlasts the quorum: it finishes, but its `until` (is it in the
    # quorum?) never runs; its success must not read as "checked".
    inv = _inventory(tmp_path, sshd_server, ["mon-a", "mon-b", "mon-c"])
    pb = write(
        tmp_path / "pb.yml",
        """
        playbook: quorum
        steps:
          - id: monitors
            hosts: all
            run: "if test {{ host.name }} = mon-c; then sleep 2; fi"
            until: "true"
            min_ok: 2
        """,
    )
    r = runbook(["run", str(pb), "-i", str(inv)], base_env(tmp_path, **ssh_env), tmp_path)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    evs = events(tmp_path / "state.db")
    assert [e.data["action"] for e in of_type(evs, "host_started") if e.host == "mon-c"] == ["run"]
    (late,) = [e for e in of_type(evs, "host_succeeded") if e.host == "mon-c"]
    assert late.data["message"] == "stopped after run, nothing more ran: min_ok was already decided"
    (line,) = [x for x in r.stdout.splitlines() if "host_succeeded   monitors@mon-c" in x]
    assert line.endswith("; stopped after run, nothing more ran: min_ok was already decided")
    assert all("message" not in e.data for e in of_type(evs, "host_succeeded") if e.host != "mon-c")

"""A step whose hosts span two zones (team mode, PostgreSQL, real sshd on loopback): the
engine reaching most of its hosts claims it and runs those; each host outside its reach
is offered (in its batch), claimed by an engine that reaches it (`work_claimed` with
`host`) and run there; the claimant decides the step. An engine killed while it holds
host work has the host taken over by another engine reaching it, and a non-idempotent
command that had its effect is not run again (its `skip_if` decides). Real `runbook run`
/ `join` processes, short leases (5 s); one run covers it all (the test costs ~20 s)."""

from __future__ import annotations

import shutil
import signal
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import sshd
from engine_helpers import cli, events, of_type, spawn, wait_for, write

from runbook.clock import parse_iso
from runbook.events import Event

LEASE_S = 5  # short, yet longer than a joining engine's start under a loaded machine
LEASE = f"{LEASE_S}s"
A_FIRST = 21  # shared-server addresses 21-23: nothing here counts connections
WEB = "web1,web2,web3"
DB = "db1,db2"
ALL = ["web1", "web2", "web3", "db1", "db2"]
BEGIN = ("host_started", "host_offered")
SPLIT = """
playbook: split
title: A step across two zones
steps:
  - {id: gate, title: Gate, phase: p, local: true, idempotent: true,
     run: "while [ ! -f GO ]; do sleep 0.1; done"}
  - id: both
    title: Both zones
    phase: p
    needs: [gate]
    hosts: all
    serial: 2
    skip_if: 'H={{ host.name }}; grep -q "^$H " SHARED/out'
    run: >-
      H={{ host.name }}; echo "$H $RUNBOOK_SSH_ENGINE_ID" >> SHARED/out;
      if [ "$H" = db1 ]; then sleep $(cat SHARED/delay); fi
"""


@pytest.fixture
def shared() -> Iterator[Path]:
    """A directory both this test and the sshd's test account write to."""
    path = Path(tempfile.mkdtemp(prefix="runbook-hosts-"))
    path.chmod(0o777)
    (path / "out").touch()
    (path / "out").chmod(0o666)
    yield path
    shutil.rmtree(path, ignore_errors=True)


def _finish(proc: object, timeout: float = 90) -> tuple[int, str]:
    stdout, stderr = proc.communicate(timeout=timeout)  # type: ignore[attr-defined]
    return proc.returncode, stdout + stderr  # type: ignore[attr-defined]


def _inventory(tmp_path: Path, server: sshd.Sshd) -> Path:
    lines = [
        *server.inventory_head(),
        "  hosts:",
    ]
    for i, name in enumerate(ALL):
        lines.append(f"    {name}: {{ansible_host: {server.addresses[A_FIRST + i % 3]}}}")
    return write(tmp_path / "hosts.yml", "\n".join(lines) + "\n")


def _two_zones(
    pg_url: str, tmp_path: Path, server: sshd.Sshd, env: dict[str, str], shared: Path
) -> tuple[str, Path, object, object]:
    """`run` stopped at its first step, then one engine per zone joins; then the gate
    opens and the step across both zones becomes ready."""
    inv = _inventory(tmp_path, server)
    pb = write(tmp_path / "pb.yml", SPLIT.replace("SHARED", str(shared)))
    common = ("-i", str(inv), "--lease", LEASE)
    first = spawn(pg_url, "run", str(pb), *common, extra_env=env, cwd=tmp_path)
    evs = wait_for(pg_url, lambda e: bool(of_type(e, "host_started", "gate")), timeout=90)
    first.send_signal(signal.SIGINT)  # type: ignore[attr-defined]
    assert _finish(first)[0] == 130  # interrupted: no engine on the run now
    run_id = evs[0].run_id
    # One takes the run over (as `resume`), then the other joins beside it.
    web = spawn(pg_url, "join", run_id, "--limit", WEB, *common, extra_env=env, cwd=tmp_path)
    _joined(pg_url, 2, web)
    db = spawn(pg_url, "join", run_id, "--limit", DB, *common, extra_env=env, cwd=tmp_path)
    _joined(pg_url, 3, web, db)
    (tmp_path / "GO").touch()
    return run_id, inv, web, db


def _engines(evs: list[Event], reach: list[str]) -> list[str]:
    """The engines that joined with this reach, in the order they joined."""
    return [e.data["engine"] for e in of_type(evs, "engine_joined") if e.data.get("reach") == reach]


def _joined(pg_url: str, n: int, *engines: object) -> None:
    """Wait for the n-th engine_joined; an engine that exited first says why."""
    try:
        wait_for(pg_url, lambda e: len(of_type(e, "engine_joined")) >= n, timeout=60)
    except AssertionError:
        for proc in engines:
            proc.kill()  # type: ignore[attr-defined]
        raise AssertionError([_finish(p) for p in engines]) from None


def _lines(shared: Path) -> list[tuple[str, str]]:
    return sorted(tuple(ln.split(" ", 1)) for ln in (shared / "out").read_text().splitlines())  # type: ignore[misc]


def test_a_step_across_two_zones_runs_each_host_once_where_it_is_reached_even_past_a_death(
    pg_url: str, tmp_path: Path, sshd_server: sshd.Sshd, ssh_env: dict[str, str], shared: Path
) -> None:
    (shared / "delay").write_text("60")  # db1's command has its effect, then hangs
    run_id, inv, web, db = _two_zones(pg_url, tmp_path, sshd_server, ssh_env, shared)
    started = lambda e: any(x.host == "db1" for x in of_type(e, "host_started", "both"))  # noqa: E731
    wait_for(pg_url, lambda e: started(e) and "db1 " in (shared / "out").read_text(), 90)
    db.kill()  # type: ignore[attr-defined]  # SIGKILL, holding db1
    killed_at = time.time()
    _finish(db)
    common = ("-i", str(inv), "--lease", LEASE)
    other = spawn(pg_url, "join", run_id, "--limit", DB, *common, extra_env=ssh_env, cwd=tmp_path)
    code, text = _finish(web)
    assert code == 0, text
    code, text = _finish(other)
    assert code == 0, text
    evs = events(pg_url, run_id)
    (web_id,), (dead, alive) = _engines(evs, WEB.split(",")), _engines(evs, DB.split(","))
    # The engine reaching three of the five hosts claims the step; db1 and db2 are
    # offered, each claimed by an engine that reaches it, under a fence of its own.
    (step_claim,) = [e for e in of_type(evs, "work_claimed", "both") if e.host is None]
    assert step_claim.data["engine"] == web_id
    assert sorted(e.host for e in of_type(evs, "host_offered", "both")) == ["db1", "db2"]
    claims = [e for e in of_type(evs, "work_claimed", "both") if e.host is not None]
    assert all(c.data["work"] == "host" and c.data["engine"] in (dead, alive) for c in claims)
    # The killed engine's host is taken over within the lease + 10 s (fence 2, `from`),
    # its `sleep` ended over SSH first; skip_if sees the effect: not run again.
    (ended,) = [e.data for e in of_type(evs, "engine_left") if e.data["engine"] == dead]
    assert ended["reason"] == "lease expired"
    db1 = [c for c in claims if c.host == "db1"]
    assert [(c.data["engine"], c.data["fence"]) for c in db1] == [(dead, 1), (alive, 2)]
    taken = db1[1].data
    assert taken["from"] == dead and taken["decision"] == "verify"
    assert any("sleep" in k.get("command", "") for k in taken["orphans_killed"])
    assert parse_iso(db1[1].ts) - killed_at <= LEASE_S + 10
    (done,) = [e for e in of_type(evs, "host_succeeded", "both") if e.host == "db1"]
    assert done.data["skipped"] is True
    # Batches of two: a host of a later batch starts (or is offered) only once every
    # host of the batch before has ended, on whichever engine ran it.
    (first,) = of_type(evs, "step_started", "both")
    batch = set(first.data["hosts"])
    assert len(batch) == 2
    seqs = {h: [e for e in evs if e.step == "both" and e.host == h] for h in ALL}
    ended_at = max(e.seq for h in batch for e in seqs[h] if e.type == "host_succeeded")
    begun_at = min(e.seq for h in set(ALL) - batch for e in seqs[h] if e.type in BEGIN)
    assert ended_at < begun_at
    # Every host ran exactly once, by an engine that reaches it; the claimant decided.
    lines = dict(_lines(shared))
    assert sorted(lines) == sorted(ALL) and len(_lines(shared)) == len(ALL)
    assert {lines[h] for h in WEB.split(",")} == {web_id}
    assert lines["db1"] == dead and lines["db2"] in (dead, alive)
    assert len(of_type(evs, "step_succeeded", "both")) == 1
    assert [e.data["result"] for e in of_type(evs, "run_finished")] == ["succeeded"]
    assert cli(pg_url, "verify", run_id).returncode == 0


CLAIMANT = """
playbook: claimant
title: The step's claimant dies while another engine runs one of its hosts
steps:
  - {id: gate, title: Gate, phase: p, local: true, idempotent: true,
     run: "while [ ! -f GO ]; do sleep 0.1; done"}
  - id: both
    title: Both zones
    phase: p
    needs: [gate]
    hosts: all
    run: >-
      H={{ host.name }}; echo "$H $RUNBOOK_SSH_ENGINE_ID" >> SHARED/out;
      if [ "$H" = db1 ]; then while [ ! -f SHARED/release ]; do sleep 0.1; done; fi
"""


@pytest.mark.slow
def test_a_claimant_killed_mid_step_leaves_the_hosts_others_run_to_them(
    pg_url: str, tmp_path: Path, sshd_server: sshd.Sshd, ssh_env: dict[str, str], shared: Path
) -> None:
    """The web engine (the claimant) is SIGKILLed once its hosts are done while the db
    engine still runs db1; a new web engine takes the step over (fence 2, `from`) and
    leaves db1 to the live engine that runs it: db1 runs once, its result decides.
    Slow (--runslow): ~20 s more for a path the fast test does not take."""
    global SPLIT
    saved, SPLIT = SPLIT, CLAIMANT
    try:
        run_id, inv, web, db = _two_zones(pg_url, tmp_path, sshd_server, ssh_env, shared)
    finally:
        SPLIT = saved

    def webs_done(evs: list[Event]) -> bool:
        done = {e.host for e in of_type(evs, "host_succeeded", "both")}
        return {"web1", "web2", "web3", "db2"} <= done and "db1 " in (shared / "out").read_text()

    evs = wait_for(pg_url, webs_done, 90)
    web.kill()  # type: ignore[attr-defined]
    _finish(web)
    (dead,) = _engines(evs, WEB.split(","))
    # Ended (its lease expired): the db engine alone cannot take the step (no web host is
    # reached); the new web engine, reaching more of its hosts, takes it over.
    left = lambda e: any(x.data["engine"] == dead for x in of_type(e, "engine_left"))  # noqa: E731
    wait_for(pg_url, left, 60)
    common = ("-i", str(inv), "--lease", LEASE)
    other = spawn(pg_url, "join", run_id, "--limit", WEB, *common, extra_env=ssh_env, cwd=tmp_path)
    wait_for(pg_url, lambda e: len(of_type(e, "work_claimed", "both")) >= 4, 90)
    (shared / "release").touch()
    code, text = _finish(other)
    assert code == 0, text
    code, text = _finish(db)
    assert code == 0, text
    evs = events(pg_url, run_id)
    (_, alive), (db_id,) = _engines(evs, WEB.split(",")), _engines(evs, DB.split(","))
    steps = [e for e in of_type(evs, "work_claimed", "both") if e.host is None]
    assert [(c.data["engine"], c.data["fence"]) for c in steps] == [(dead, 1), (alive, 2)]
    assert steps[1].data["from"] == dead
    db1 = [
        (c.data["engine"], c.data["fence"]) for c in of_type(evs, "work_claimed") if c.host == "db1"
    ]
    assert db1 == [(db_id, 1)]  # left to the live engine that ran it
    assert sorted(h for h, _ in _lines(shared)) == sorted(ALL)  # each host once
    (succeeded,) = of_type(evs, "step_succeeded", "both")
    (db1_done,) = [e for e in of_type(evs, "host_succeeded", "both") if e.host == "db1"]
    assert steps[1].seq < db1_done.seq < succeeded.seq
    assert [e.data["result"] for e in of_type(evs, "run_finished")] == ["succeeded"]
    assert cli(pg_url, "verify", run_id).returncode == 0

"""Team mode under faults, on the real PostgreSQL cluster: engines SIGKILLed, frozen past
their lease, cut off from the database, and the database restarted, mid-run. Short leases
(3 s) keep each test to seconds; what is asserted is what an operator relies on: the run
ends as it should, each non-idempotent step ran exactly once, the chain verifies."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pgcluster
from engine_helpers import cli, events, of_type, spawn, wait_for, write

from runbook.clock import parse_iso
from runbook.journal import open_journal

LEASE = "3s"
CHAOS = """
playbook: chaos
title: Chaos
steps:
  - id: one
    title: One, not safe to run twice
    phase: p
    local: true
    run: "echo one >> OUT"
  - id: two
    title: Two, safe to run twice
    phase: p
    needs: [one]
    local: true
    idempotent: true
    run: "sleep 5; echo two >> OUT"
  - id: three
    title: Three, not safe to run twice
    phase: p
    needs: [two]
    local: true
    run: "echo three >> OUT"
"""


def _start(pg_url: str, tmp_path: Path, sleep: int = 5) -> tuple[Path, object, str]:
    out = tmp_path / "out.txt"
    pb = write(tmp_path / "chaos.yml", CHAOS.replace("OUT", str(out)).replace("5;", f"{sleep};"))
    engine = spawn(pg_url, "run", str(pb), "--lease", LEASE, cwd=tmp_path)
    evs = wait_for(pg_url, lambda e: bool(of_type(e, "host_started", "two")), timeout=90)
    return out, engine, evs[0].run_id


def _lines(out: Path) -> list[str]:
    return out.read_text().split()


def _finish(proc: object, timeout: float = 90) -> tuple[int, str]:
    stdout, stderr = proc.communicate(timeout=timeout)  # type: ignore[attr-defined]
    return proc.returncode, stdout + stderr  # type: ignore[attr-defined]


def test_a_killed_engine_is_taken_over_within_the_lease_plus_10s(
    pg_url: str, tmp_path: Path
) -> None:
    out, engine, run_id = _start(pg_url, tmp_path, sleep=10)  # time for `join` to be up
    joined = spawn(pg_url, "join", run_id, "--lease", LEASE, cwd=tmp_path)
    wait_for(pg_url, lambda e: len(of_type(e, "engine_joined")) == 2, timeout=90)
    engine.kill()  # type: ignore[attr-defined]
    killed_at = time.time()
    _finish(engine)
    code, text = _finish(joined)
    assert code == 0, text
    evs = events(pg_url, run_id)
    first, second = (e.data["engine"] for e in of_type(evs, "engine_joined"))
    two = [c.data for c in of_type(evs, "work_claimed", "two")]
    assert [(c["engine"], c["fence"]) for c in two] == [(first, 1), (second, 2)]
    # the joined engine ended the dead one, then took its in-flight step over
    (left,) = [e.data for e in of_type(evs, "engine_left") if e.data["engine"] == first]
    assert left["reason"] == "lease expired" and left["ended_by"] == second
    (taken,) = [c for c in of_type(evs, "work_claimed", "two") if c.data.get("from")]
    assert taken.data["from"] == first and taken.data["decision"] == "rerun"
    assert parse_iso(taken.ts) - killed_at <= 3 + 10
    assert _lines(out).count("one") == 1 and _lines(out).count("three") == 1
    assert of_type(evs, "run_finished")[0].data["result"] == "succeeded"
    assert evs[-1].type == "engine_left" and evs[-1].data["engine"] == second
    assert cli(pg_url, "verify", run_id).returncode == 0


def test_a_frozen_engine_wakes_to_a_late_result_that_changes_nothing(
    pg_url: str, tmp_path: Path
) -> None:
    out, engine, run_id = _start(pg_url, tmp_path, sleep=10)  # time for `join` to be up
    joined = spawn(pg_url, "join", run_id, "--lease", LEASE, cwd=tmp_path)
    wait_for(pg_url, lambda e: len(of_type(e, "engine_joined")) == 2, timeout=90)
    os.kill(engine.pid, signal.SIGSTOP)  # type: ignore[attr-defined]
    try:
        wait_for(pg_url, lambda e: len(of_type(e, "work_claimed", "two")) == 2, timeout=90)
    finally:
        os.kill(engine.pid, signal.SIGCONT)  # type: ignore[attr-defined]
    code, text = _finish(engine)
    assert code == 1 and "lost run" in text and "late_result" in text, text
    assert _finish(joined)[0] == 0
    evs = events(pg_url, run_id)
    (late,) = of_type(evs, "late_result")
    # two's result, and whatever the frozen engine decided next (never started: fenced)
    assert late.data["fence"] == 1 and "two" in late.data["steps"]
    lost = of_type(evs, "lease_lost")[0].data
    assert (lost["fence"], lost["new_fence"]) == (1, 2)
    # the outcome is the new holder's: two ran again (idempotent), everything else once
    assert of_type(evs, "run_finished")[0].data["result"] == "succeeded"
    assert _lines(out).count("one") == 1 and _lines(out).count("three") == 1
    assert cli(pg_url, "verify", run_id).returncode == 0


def test_an_engine_cut_off_from_the_database_reconnects_and_loses_nothing(
    pg_cluster: pgcluster.Cluster, pg_url: str, tmp_path: Path
) -> None:
    out, engine, run_id = _start(pg_url, tmp_path)
    database = pg_url.rsplit("/", 1)[1]
    for _ in range(2):  # the pool, the lease keeper and the listener all lose theirs
        pg_cluster.sql(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            f"WHERE datname = '{database}' AND pid <> pg_backend_pid()"
        )
        time.sleep(0.5)
    code, text = _finish(engine)
    assert code == 0, text
    evs = events(pg_url, run_id)
    assert of_type(evs, "run_finished")[0].data["result"] == "succeeded"
    assert not of_type(evs, "late_result") and evs[-1].type == "engine_left"
    assert _lines(out) == ["one", "two", "three"]
    assert [e.seq for e in evs] == list(range(1, len(evs) + 1))
    assert cli(pg_url, "verify", run_id).returncode == 0


def test_the_engines_go_on_when_a_restarted_database_is_back(
    pg_cluster: pgcluster.Cluster, pg_url: str, tmp_path: Path
) -> None:
    out, engine, run_id = _start(pg_url, tmp_path)
    joined = spawn(pg_url, "join", run_id, "--lease", LEASE, cwd=tmp_path)
    # (on a loaded machine the run may end before `join` is up: it then just exits 0)
    wait_for(
        pg_url,
        lambda e: len(of_type(e, "engine_joined")) == 2 or e[-1].type == "engine_left",
        timeout=90,
    )
    pg_cluster.restart()
    code, text = _finish(engine)
    assert code == 0, text
    assert _finish(joined)[0] == 0
    evs = events(pg_url, run_id)
    assert of_type(evs, "run_finished")[0].data["result"] == "succeeded"
    assert _lines(out) == ["one", "two", "three"]
    assert cli(pg_url, "verify", run_id).returncode == 0


def test_join_and_resume_are_refused_where_they_cannot_work(pg_url: str, tmp_path: Path) -> None:
    out, engine, run_id = _start(pg_url, tmp_path, sleep=60)  # still running when asked
    resumed = cli(pg_url, "resume", run_id, cwd=tmp_path)
    assert resumed.returncode != 0 and f"runbook join {run_id}" in resumed.stderr
    engine.send_signal(signal.SIGTERM)  # type: ignore[attr-defined]
    assert _finish(engine)[0] == 130  # interrupted: the lease is free again

    other = write(tmp_path / "other.yml", CHAOS.replace("OUT", str(out)).replace("5;", "1;"))
    changed = cli(pg_url, "join", run_id, "--playbook", str(other), cwd=tmp_path)
    assert changed.returncode == 2 and "differs from the one run" in changed.stderr
    with open_journal(pg_url) as j:  # the refused engine gave its claim back at once
        assert not j.is_engine_live(run_id)
        assert j.events(run_id)[-1].type == "engine_left"
    assert _lines(out) == ["one"]

    assert cli(tmp_path / "state.db", "join", "latest", cwd=tmp_path).returncode == 2
    rehearsal = cli(pg_url, "rehearse", str(tmp_path / "chaos.yml"), "--speed", "max")
    assert rehearsal.returncode == 0, rehearsal.stderr
    refused = cli(pg_url, "join", "latest", cwd=tmp_path)
    assert refused.returncode == 2 and "rehearsal" in refused.stderr


FORKED = """
playbook: forked
title: Two commands at once
steps:
  - id: short
    title: Short
    phase: p
    local: true
    run: "until [ -e GO ]; do sleep 0.05; done; echo short >> OUT"
  - id: long
    title: Long, not safe to run twice
    phase: p
    local: true
    run: "until [ -e GO ]; do sleep 0.05; done; sleep 2; echo long >> OUT"
"""


def test_an_engine_that_loses_its_lease_kills_nothing_and_journals_late_results(
    pg_cluster: pgcluster.Cluster, pg_url: str, tmp_path: Path
) -> None:
    out = tmp_path / "out.txt"
    go = tmp_path / "go"  # the commands end only once the lease is gone, however slow the machine
    pb = write(tmp_path / "forked.yml", FORKED.replace("OUT", str(out)).replace("GO", str(go)))
    engine = spawn(pg_url, "run", str(pb), "--lease", "30s", cwd=tmp_path)
    evs = wait_for(pg_url, lambda e: len(of_type(e, "host_started")) == 2, timeout=90)
    run_id = evs[0].run_id
    # Another engine ends this one (as after an expiry) and takes its steps: fence 2.
    pg_cluster.sql(
        "UPDATE runbook.engines SET state='dead', ended_by='elsewhere:1:abc' "
        f"WHERE run_id='{run_id}'; UPDATE runbook.claims SET engine='elsewhere:1:abc', "
        f"fence=fence+1 WHERE run_id='{run_id}'",
        db=pg_url.rsplit("/", 1)[1],
    )
    go.touch()
    code, text = _finish(engine)
    assert code == 1 and "lost run" in text, text
    assert sorted(_lines(out)) == ["long", "short"]  # neither command was killed
    evs = events(pg_url, run_id)
    late = of_type(evs, "late_result")
    ended = {e.step: e.data for e in late if e.step}
    assert ended["long"]["exit_code"] == 0 and ended["long"]["fence"] == 1
    assert any("short" in e.data.get("steps", []) for e in late)
    assert of_type(evs, "lease_lost")[0].data["to"] == "elsewhere:1:abc"
    status = {s: st for s, st in ((e.step, e.type) for e in evs if e.type.startswith("step_"))}
    assert status == {"short": "step_started", "long": "step_started"}  # nothing changed
    assert not of_type(evs, "run_finished")
    assert cli(pg_url, "verify", run_id).returncode == 0

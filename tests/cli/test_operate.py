"""The operator commands as a user runs them: real subprocesses on a real journal."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from journal_helpers import T0, plan, plan_step, start_run

from runbook.journal import open_journal
from runbook.journal._store import Journal


def cli(db: Path | str, *args: str, operator: str = "olga") -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "RUNBOOK_OPERATOR": operator, "NO_COLOR": "1"}
    return subprocess.run(
        [sys.executable, "-m", "runbook", "--state", str(db), *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )


def _restore(db: Path | str) -> tuple[Path | str, str]:
    """A run in the middle of the night: power answered, switches failed, dns blocked, on
    either journal (`journal_state`: an SQLite file or a PostgreSQL database)."""
    j = open_journal(db)
    p = plan(
        plan_step("power", kind="manual", phase="power"),
        plan_step("switches", needs=("power",), hosts=("sw1", "sw2"), phase="network"),
        plan_step("storage", needs=("power",), hosts=("san1",), phase="storage"),
        plan_step("dns", needs=("switches",), hosts=("dns1",), phase="directory"),
        plan_step("phones", kind="manual", needs=("storage",), phase="telephony"),
    )
    run_id = start_run(j, p)
    ev = [
        (
            "eta",
            None,
            None,
            {
                "p50": "2026-11-18T15:00:00.000Z",
                "p90": "2026-11-18T17:00:00.000Z",
                "remaining_p50_s": 14000,
                "remaining_p90_s": 21000,
                "critical_path": ["power", "switches", "dns"],
                "rto_risk": 0.3,
            },
        ),
        ("step_started", "power", None, {"attempt": 1, "kind": "manual"}),
        ("manual_waiting", "power", None, {"instructions": "Call the NOC"}),
        (
            "manual_answered",
            "power",
            None,
            {"answer": "done", "operator": "ann", "note": None, "wait_s": 0.0, "work_s": 600.0},
        ),
        ("step_succeeded", "power", None, {"duration_s": 600.0, "attempts": 1}),
        ("step_started", "switches", None, {"attempt": 1, "hosts": ["sw1", "sw2"]}),
        (
            "host_failed",
            "switches",
            "sw1",
            {
                "attempt": 1,
                "duration_s": 5.0,
                "reason": "unreachable",
                "exit_code": None,
                "message": "no route to host",
            },
        ),
        ("host_succeeded", "switches", "sw2", {"attempt": 1, "duration_s": 5.0, "skipped": False}),
        (
            "step_failed",
            "switches",
            None,
            {"duration_s": 5.0, "attempts": 1, "failed_hosts": ["sw1"], "reason": "hosts failed"},
        ),
        ("step_blocked", "dns", None, {"by": ["switches"]}),
        ("step_started", "storage", None, {"attempt": 1, "hosts": ["san1"]}),
        ("step_started", "phones", None, {"attempt": 1, "kind": "manual"}),
        ("manual_waiting", "phones", None, {"instructions": "Check the SIP trunks"}),
    ]
    for i, (type_, step, host, data) in enumerate(ev):
        j.append(run_id, type_, ts=T0 + 60 * (i + 1), step=step, host=host, data=data)
    j.close()
    return db, run_id


def test_status_text_tells_where_the_run_stands(journal_state: Path | str) -> None:
    db, run_id = _restore(journal_state)
    r = cli(db, "status")
    assert r.returncode == 0, r.stderr
    out = r.stdout
    assert f"run {run_id}  restore — Restore test  (live)" in out
    assert f"no engine running; continue with: runbook resume {run_id}" in out
    eta = next(line for line in out.splitlines() if line.startswith("ETA: P50 "))
    assert "15:00Z" in eta and "P90 11-18 17:00Z" in eta and "risk of missing it 30%" in eta
    assert "progress: 1/5 steps" in out
    assert "running:\n  storage" in out
    assert "waiting for an operator:\n  phones" in out
    assert f"runbook confirm {run_id} phones" in out
    assert "failed:\n  switches" in out and "sw1: unreachable: no route to host" in out
    assert f"runbook retry {run_id} switches" in out
    assert "blocked:\n  dns  by switches" in out
    assert "Traceback" not in r.stderr


def test_status_json_is_a_stable_document(journal_state: Path | str) -> None:
    db, run_id = _restore(journal_state)
    r = cli(db, "status", run_id[:12], "--format", "json")
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert (doc["schema"], doc["run_id"], doc["status"], doc["engine_live"]) == (
        1,
        run_id,
        "running",
        False,
    )
    assert doc["progress"] == {"done": 1, "total": 5}
    assert doc["counts"]["failed"] == 1 and doc["counts"]["blocked"] == 1
    assert doc["eta"]["rto_risk"] == 0.3 and doc["rto_s"] == 8 * 3600.0
    steps = {s["id"]: s for s in doc["steps"]}
    assert steps["switches"]["failed_hosts"][0]["host"] == "sw1"
    assert steps["switches"]["holds_up"] == ["dns"]
    assert steps["power"]["manual"]["work_s"] == 600.0
    assert steps["phones"]["manual"]["claimed_by"] is None
    assert [p["name"] for p in doc["phases"]][:2] == ["power", "network"]


def test_operator_commands_end_to_end(journal_state: Path | str) -> None:
    db, run_id = _restore(journal_state)
    r = cli(db, "claim", "latest", "phones", operator="bob")
    assert r.returncode == 0 and "bob claimed step phones" in r.stdout, r.stderr
    r = cli(db, "claim", "latest", "phones", operator="carl")
    assert r.returncode == 2 and "already claimed by bob" in r.stderr
    r = cli(db, "expect", "latest", "storage", "45m", "--note", "array rebuilding")
    assert r.returncode == 0 and "45m more" in r.stdout, r.stderr
    r = cli(db, "confirm", "latest", "phones", "--note", "trunks green", operator="carl")
    assert r.returncode == 0, r.stderr
    assert f"recorded; continue with: runbook resume {run_id}" in r.stdout
    r = cli(db, "confirm", "latest", "phones", "--fail")
    assert r.returncode == 2 and "already answered (done) by carl" in r.stderr
    r = cli(db, "retry", "latest", "dns")
    assert r.returncode == 0 and "dns is blocked by switches" in r.stdout, r.stderr
    r = cli(db, "skip", "latest", "dns", "--note", "resolvers were never down")
    assert r.returncode == 0, r.stderr
    assert f"recorded; continue with: runbook resume {run_id}" in r.stdout
    with open_journal(db) as j:
        events = j.events(run_id)
    mine = [(e.type, e.step, e.data.get("operator")) for e in events[-5:]]
    assert mine == [
        ("manual_claimed", "phones", "bob"),
        ("operator_expect", "storage", "olga"),
        ("manual_answered", "phones", "carl"),
        ("operator_retry", "switches", "olga"),
        ("step_skipped", "dns", "olga"),
    ]


def test_bad_requests_exit_2_with_a_clear_line(journal_state: Path | str) -> None:
    db, run_id = _restore(journal_state)
    cases = [
        (("confirm", run_id, "phone"), "did you mean 'phones'"),
        (("confirm", "20991231", "phones"), "no run '20991231'"),
        (("confirm", run_id, "switches"), "only manual steps"),
        (("confirm", run_id, "phones", "--skip", "--fail"), "not both"),
        (("expect", run_id, "storage", "soon"), "not a duration"),
        (("skip", run_id, "storage", "--note", "x"), "storage is running"),
        (("retry", run_id, "power"), "power is succeeded"),
    ]
    for args, message in cases:
        r = cli(db, *args)
        assert (r.returncode, message in r.stderr) == (2, True), (args, r.stderr)
        assert "Traceback" not in r.stderr


def test_a_finished_run_says_so(tmp_path: Path) -> None:
    db = tmp_path / "state.db"
    j = Journal(db)
    run_id = start_run(j, plan(plan_step("a", kind="manual")))
    j.append(run_id, "run_finished", ts=T0 + 3600, data={"result": "succeeded", "counts": {}})
    r = cli(db, "confirm", run_id, "a")
    assert r.returncode == 2
    assert f"run {run_id} finished (succeeded) at 2026-11-18T12:06:40.000Z" in r.stderr
    r = cli(db, "status", "--watch")
    assert r.returncode == 0 and "status: succeeded" in r.stdout


def test_damaged_newer_and_missing_journals_exit_2(tmp_path: Path) -> None:
    damaged = tmp_path / "damaged.db"
    damaged.write_bytes(b"PK\x03\x04 not sqlite at all" * 100)
    before = damaged.read_bytes()
    r = cli(damaged, "runs")
    assert r.returncode == 2 and "is damaged" in r.stderr and "Traceback" not in r.stderr
    assert damaged.read_bytes() == before

    newer = tmp_path / "newer.db"
    Journal(newer).close()
    con = sqlite3.connect(newer)
    con.execute("UPDATE meta SET value='2' WHERE key='schema_version'")
    con.commit()
    con.close()
    r = cli(newer, "status")
    assert r.returncode == 2 and "newer runbook" in r.stderr

    r = cli(tmp_path / "none.db", "status")
    assert r.returncode == 2 and "no journal at" in r.stderr
    assert not (tmp_path / "none.db").exists()


def test_runs_lists_every_run(journal_state: Path | str) -> None:
    db, run_id = _restore(journal_state)
    j = open_journal(db)
    other = start_run(j, plan(plan_step("x")), ts=T0 + 7200, mode="rehearsal")
    j.append(other, "run_finished", ts=T0 + 7300, data={"result": "succeeded"})
    j.close()
    r = cli(db, "runs")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0].split() == ["run", "playbook", "mode", "started", "status", "progress"]
    assert run_id in lines[1] and "running (no engine)" in lines[1] and "1/5" in lines[1]
    assert other in lines[2] and "rehearsal" in lines[2] and "succeeded" in lines[2]
    runs = json.loads(cli(db, "runs", "--format", "json").stdout)
    assert [r["run_id"] for r in runs] == [run_id, other]


def test_watch_follows_the_run_until_it_finishes(journal_state: Path | str) -> None:
    db, run_id = _restore(journal_state)
    env = {**os.environ, "NO_COLOR": "1"}
    watch = subprocess.Popen(
        [sys.executable, "-m", "runbook", "--state", str(db), "status", "--watch"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert watch.stdout is not None
        while "progress:" not in watch.stdout.readline():
            pass
        j = open_journal(db)
        j.append(run_id, "step_succeeded", ts=time.time(), step="storage", data={})
        j.append(run_id, "run_finished", ts=time.time(), data={"result": "failed"})
        out, err = watch.communicate(timeout=30)
    finally:
        watch.kill()
    assert watch.returncode == 0, err
    assert "step_succeeded storage" in out and "run_finished" in out and "result=failed" in out


def test_runs_before_any_run_is_an_empty_list(tmp_path: Path) -> None:
    state = tmp_path / "none.db"
    r = cli(state, "runs")
    assert r.returncode == 0 and "no runs yet" in r.stdout
    r = cli(state, "runs", "--format", "json")
    assert r.returncode == 0 and json.loads(r.stdout) == []
    assert not state.exists()

"""Every command on both journals, as a user runs them: the same run on a SQLite file and
on a PostgreSQL database (`--state postgresql://…`) reads, answers, exports and verifies
the same way."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from engine_helpers import cli, env, events, of_type, spawn, wait_for, write

PLAYBOOK = """
playbook: team
title: Team restore
steps:
  - id: power
    title: Power
    phase: p
    local: true
    run: "echo powered"
  - id: sign
    title: Sign off
    phase: p
    needs: [power]
    manual: Check the room and confirm.
  - id: after
    title: After
    phase: p
    needs: [sign]
    local: true
    run: "echo done"
"""


def _answer_at_once(state: Path | str, tmp_path: Path) -> list[subprocess.CompletedProcess[str]]:
    """Two operators with their own HOME answer the same question at the same moment."""
    procs = []
    for who in ("ana", "ben"):
        home = tmp_path / f"home-{who}"
        home.mkdir()
        procs.append(
            subprocess.Popen(
                [sys.executable, "-m", "runbook", "--state", str(state), "confirm", "latest",
                 "sign", "--operator", who],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                env=env({"HOME": str(home)}),
                cwd=home,
            )
        )  # fmt: skip
    out = []
    for p in procs:
        stdout, stderr = p.communicate(timeout=60)
        out.append(subprocess.CompletedProcess(p.args, p.returncode, stdout, stderr))
    return out


def test_a_run_answered_from_two_terminals_on_either_journal(
    journal_state: Path | str, tmp_path: Path
) -> None:
    pb = write(tmp_path / "pb.yml", PLAYBOOK)
    engine = spawn(journal_state, "run", str(pb), cwd=tmp_path)
    try:
        wait_for(journal_state, lambda e: bool(of_type(e, "manual_waiting", "sign")), timeout=90)
        status = cli(journal_state, "status", "latest", "--format", "json", cwd=tmp_path)
        doc = json.loads(status.stdout)
        sign = next(step for step in doc["steps"] if step["id"] == "sign")
        assert doc["engine_live"] is True and sign["status"] == "waiting"

        answers = _answer_at_once(journal_state, tmp_path)
        codes = sorted(a.returncode for a in answers)
        assert codes[0] == 0 and codes[1] != 0, [a.stdout + a.stderr for a in answers]
        winner = next(a for a in answers if a.returncode == 0)
        loser = next(a for a in answers if a.returncode != 0)
        who = winner.args[winner.args.index("--operator") + 1]
        assert who in loser.stderr, loser.stderr  # the late one is told who answered
        stdout, stderr = engine.communicate(timeout=60)
        assert engine.returncode == 0, stdout + stderr
    finally:
        if engine.poll() is None:
            engine.kill()
    evs = events(journal_state)
    assert len(of_type(evs, "manual_answered", "sign")) == 1
    # on PostgreSQL the engine's engine_left comes after: it left the finished run
    (finished,) = of_type(evs, "run_finished")
    assert finished.data["result"] == "succeeded" and evs[-1].type in (
        "run_finished",
        "engine_left",
    )

    runs = cli(journal_state, "runs", "--format", "json", cwd=tmp_path)
    (summary,) = json.loads(runs.stdout)
    assert (summary["status"], summary["done"], summary["total"]) == ("succeeded", 3, 3)
    out = tmp_path / "audit.jsonl"
    exported = cli(
        journal_state, "export", "latest", "--format", "jsonl", "-o", str(out), cwd=tmp_path
    )
    assert exported.returncode == 0, exported.stderr
    head = evs[-1].hash
    assert f"chain head {head}" in exported.stderr
    for target in ("latest", str(out)):
        verified = cli(journal_state, "verify", target, "--head", head, cwd=tmp_path)
        assert verified.returncode == 0 and verified.stdout.startswith("ok:"), verified.stdout
    for fmt in ("csv", "md", "html"):
        assert cli(journal_state, "export", "latest", "--format", fmt, cwd=tmp_path).returncode == 0
    for command in (("status", "latest"), ("status", "latest", "--format", "md")):
        shown = cli(journal_state, *command, cwd=tmp_path)
        assert shown.returncode == 0 and "succeeded" in shown.stdout


def test_operator_decisions_and_resume_on_either_journal(
    journal_state: Path | str, tmp_path: Path
) -> None:
    pb = write(tmp_path / "pb.yml", PLAYBOOK.replace('run: "echo powered"', 'run: "exit 3"'))
    ran = cli(journal_state, "run", str(pb), cwd=tmp_path)
    assert ran.returncode == 1, ran.stdout + ran.stderr
    assert cli(journal_state, "expect", "latest", "sign", "10m", cwd=tmp_path).returncode != 0
    retried = cli(journal_state, "retry", "latest", "power", cwd=tmp_path)
    assert retried.returncode == 0 and "resume" in retried.stdout, retried.stdout
    skipped = cli(journal_state, "skip", "latest", "power", "--note", "done by hand", cwd=tmp_path)
    assert skipped.returncode == 0, skipped.stderr
    resumed = spawn(journal_state, "resume", "latest", cwd=tmp_path)
    try:
        wait_for(journal_state, lambda e: bool(of_type(e, "manual_waiting", "sign")), timeout=90)
        waited = cli(
            journal_state, "expect", "latest", "sign", "10m", "--note", "soon", cwd=tmp_path
        )
        assert waited.returncode == 0, waited.stderr
        assert cli(journal_state, "confirm", "latest", "sign", cwd=tmp_path).returncode == 0
        stdout, stderr = resumed.communicate(timeout=60)
        assert resumed.returncode == 0, stdout + stderr
    finally:
        if resumed.poll() is None:
            resumed.kill()
    evs = events(journal_state)
    assert [e.seq for e in evs] == list(range(1, len(evs) + 1))
    assert of_type(evs, "run_finished")[-1].data["result"] == "succeeded"
    assert cli(journal_state, "verify", "latest", cwd=tmp_path).returncode == 0


def test_a_database_password_never_appears_in_any_output(pg_url: str, tmp_path: Path) -> None:
    pb = write(tmp_path / "pb.yml", PLAYBOOK)
    password = pg_url.split(":")[2].split("@")[0]
    proc = spawn(pg_url, "run", str(pb), cwd=tmp_path)
    wait_for(pg_url, lambda e: bool(of_type(e, "manual_waiting", "sign")), timeout=90)
    outputs = [
        cli(pg_url, *args, cwd=tmp_path)
        for args in (
            ("runs",),
            ("status", "latest"),
            ("confirm", "latest", "sign"),
            ("verify", "latest"),
            ("status", "nope"),
        )
    ]
    stdout, stderr = proc.communicate(timeout=60)
    bad = pg_url.replace("127.0.0.1", "127.0.0.1").rsplit(":", 1)[0] + ":9/nowhere"
    outputs.append(cli(bad, "runs", cwd=tmp_path, timeout=120))
    for text in [stdout, stderr, *(o.stdout + o.stderr for o in outputs)]:
        assert password not in text
    assert outputs[-1].returncode != 0 and "***" in outputs[-1].stderr
    assert os.environ.get("RUNBOOK_STATE") is None or password not in os.environ["RUNBOOK_STATE"]


def test_status_watch_follows_a_run_to_its_end_on_either_journal(
    journal_state: Path | str, tmp_path: Path
) -> None:
    pb = write(tmp_path / "pb.yml", PLAYBOOK)
    engine = spawn(journal_state, "run", str(pb), cwd=tmp_path)
    try:
        wait_for(journal_state, lambda e: bool(of_type(e, "manual_waiting", "sign")), timeout=90)
        watch = spawn(
            journal_state, "status", "latest", "--watch", "--format", "json", cwd=tmp_path
        )
        assert watch.stdout is not None
        first = watch.stdout.readline()  # the watch is attached before the answer comes
        assert cli(journal_state, "confirm", "latest", "sign", cwd=tmp_path).returncode == 0
        stdout, stderr = watch.communicate(timeout=60)
        engine.communicate(timeout=60)
    finally:
        for proc in (engine, locals().get("watch")):
            if proc is not None and proc.poll() is None:
                proc.kill()
    assert watch.returncode == 0, stderr
    docs = [json.loads(line) for line in [first, *stdout.splitlines()]]
    assert docs[0]["status"] == "running" and docs[-1]["status"] == "succeeded"

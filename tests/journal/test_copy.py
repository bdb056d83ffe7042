"""`runbook journal copy SRC DST` between a real SQLite file and a real PostgreSQL database:
chains intact both ways, a same-head run skipped, a prefix extended, another chain refused."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from engine_helpers import cli
from journal_helpers import T0, plan, plan_step, start_run

from runbook.journal import open_journal


def _run(state: Path | str, outputs: int = 3) -> str:
    with open_journal(state) as j:
        run_id = start_run(j, plan(plan_step("net", hosts=("sw1",))), mode="rehearsal")
        for n in range(outputs):
            j.append(run_id, "host_output", ts=T0 + n, step="net", host="sw1",
                     data={"text": f"line {n} é"})  # fmt: skip
        return run_id


def _head(state: Path | str, run_id: str) -> str:
    with open_journal(state) as j:
        return j.events(run_id)[-1].hash


def test_a_round_trip_verifies_on_both_sides_and_the_heads_match(
    pg_url: str, tmp_path: Path
) -> None:
    db, back = tmp_path / "state.db", tmp_path / "back.db"
    first, second = _run(db), _run(db, outputs=5)
    there = cli(db, "journal", "copy", str(db), pg_url)
    assert there.returncode == 0, there.stdout + there.stderr
    assert there.stdout.count("copied ") == 2
    returned = cli(db, "journal", "copy", pg_url, str(back), first)
    assert returned.stdout.startswith(f"copied {first}: 4 events"), returned.stdout
    for run_id in (first, second):
        heads = {_head(db, run_id), _head(pg_url, run_id)}
        assert len(heads) == 1
        assert cli(pg_url, "verify", run_id, "--head", heads.pop()).returncode == 0
    assert _head(back, first) == _head(db, first)
    assert cli(back, "verify", first).returncode == 0
    again = cli(db, "journal", "copy", str(db), pg_url)
    assert again.returncode == 0 and again.stdout.count("skipped ") == 2, again.stdout
    assert "password" not in again.stdout and "s3cret" not in again.stdout + there.stdout


def test_a_copy_taken_mid_run_is_extended_and_another_chain_refused(
    pg_url: str, tmp_path: Path
) -> None:
    db = tmp_path / "state.db"
    run_id = _run(db)
    assert cli(db, "journal", "copy", str(db), pg_url).returncode == 0
    with open_journal(db) as j:  # the run went on after the copy
        j.append(run_id, "host_output", ts=T0 + 9, step="net", host="sw1", data={"text": "more"})
    extended = cli(db, "journal", "copy", str(db), pg_url)
    assert extended.stdout.startswith(f"extended {run_id}: 1 events"), extended.stdout
    assert _head(db, run_id) == _head(pg_url, run_id)

    with open_journal(pg_url) as j:  # the database's copy grows apart from the file's
        j.append(run_id, "host_output", ts=T0 + 10, step="net", host="sw1", data={"text": "pg"})
    with open_journal(db) as j:
        j.append(run_id, "host_output", ts=T0 + 10, step="net", host="sw1", data={"text": "fs"})
    refused = cli(db, "journal", "copy", str(db), pg_url)
    assert refused.returncode == 1
    assert f"refused {run_id}: " in refused.stdout and "another chain" in refused.stdout


def test_a_held_run_and_a_broken_chain_are_refused(pg_url: str, tmp_path: Path) -> None:
    db = tmp_path / "state.db"
    held, broken = _run(db), _run(db)
    con = sqlite3.connect(db)  # someone edits history by hand, past the triggers
    con.execute("DROP TRIGGER events_no_update")
    con.execute('UPDATE events SET data=\'{"text":"edited"}\' WHERE run_id=? AND seq=3', (broken,))
    con.commit()
    con.close()
    with open_journal(db) as j, j.engine_lock(held):
        out = cli(db, "journal", "copy", str(db), pg_url)
    assert out.returncode == 1
    assert f"refused {held}: an engine holds it" in out.stdout
    assert f"refused {broken}: its chain does not verify at seq 3" in out.stdout
    with open_journal(pg_url) as j:
        assert j.run_ids() == []

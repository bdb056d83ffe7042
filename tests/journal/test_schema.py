"""The journal's tables on a real SQLite file, and what its errors say to a user."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from runbook.errors import JournalError
from runbook.journal._schema import SCHEMA_VERSION, check_version, init_schema, journal_error
from runbook.journal._store import Journal


def fresh(tmp_path: Path) -> sqlite3.Connection:
    db = sqlite3.connect(tmp_path / "state.db", isolation_level=None)
    init_schema(db, tmp_path / "state.db")
    return db


def test_a_new_file_gets_the_schema_once(tmp_path: Path) -> None:
    db = fresh(tmp_path)
    assert check_version(db, tmp_path / "state.db") == SCHEMA_VERSION
    init_schema(db, tmp_path / "state.db")  # a second first run changes nothing
    rows = db.execute("SELECT value FROM meta WHERE key='schema_version'").fetchall()
    assert rows == [(str(SCHEMA_VERSION),)]
    empty = sqlite3.connect(tmp_path / "empty.db")
    assert check_version(empty, tmp_path / "empty.db") == 0


def test_events_and_runs_are_append_only(tmp_path: Path) -> None:
    db = fresh(tmp_path)
    db.execute(
        "INSERT INTO runs (run_id, playbook, mode, created, created_ts) "
        "VALUES ('r1', 'pb', 'live', '2026-11-18T11:00:00Z', 1.0)"
    )
    for statement in ("UPDATE runs SET playbook='other'", "DELETE FROM runs"):
        with pytest.raises(sqlite3.DatabaseError, match="journal runs are append-only"):
            db.execute(statement)


def test_a_journal_from_a_newer_runbook_is_refused(tmp_path: Path) -> None:
    db = fresh(tmp_path)
    db.execute("UPDATE meta SET value=? WHERE key='schema_version'", (str(SCHEMA_VERSION + 1),))
    with pytest.raises(JournalError, match=r"written by a newer runbook .*upgrade runbook"):
        check_version(db, tmp_path / "state.db")


def test_a_damaged_file_is_named_as_such(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    path.write_bytes(b"this is not a database, it is a shopping list\n" * 100)
    with pytest.raises(sqlite3.DatabaseError) as caught:
        sqlite3.connect(path).execute("SELECT * FROM events")
    message = str(journal_error(caught.value, path, "read"))
    assert message.startswith(f"the journal {path} is damaged (file is not a database)")
    assert "keep it for the audit" in message


def test_busy_and_other_errors(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    busy = str(journal_error(sqlite3.OperationalError("database is locked"), path, "write"))
    assert busy.startswith(f"the journal {path} stayed locked by another process for ")
    other = journal_error(sqlite3.OperationalError("No such table: events"), path, "read")
    assert str(other) == f"cannot read the journal {path}: no such table: events"


WATCHER = """
import sys
from pathlib import Path
from runbook.errors import NoJournal
from runbook.journal._store import Journal

print("ready", flush=True)
for i in range(int(sys.argv[2])):
    while True:  # what `runbook status` in a second terminal does, as fast as it can
        try:
            with Journal(Path(sys.argv[1]) / f"{i}.db", create=False) as journal:
                if journal.run_ids():
                    break
        except NoJournal:
            pass
"""


def test_a_journal_being_created_can_be_opened_by_others_at_once(tmp_path: Path) -> None:
    """A second terminal's `status` polling while the first run creates the journal: neither
    may be told "locked" (SQLite does not wait while a new file is switched to WAL)."""
    rounds = 30
    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "PYTHONPATH": str(root)}
    watchers = [
        subprocess.Popen(
            [sys.executable, "-c", WATCHER, str(tmp_path), str(rounds)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        for _ in range(2)
    ]
    try:
        for watcher in watchers:
            assert watcher.stdout is not None and watcher.stdout.readline() == "ready\n"
        for i in range(rounds):
            time.sleep(0.005)
            with Journal(tmp_path / f"{i}.db") as journal:
                journal.new_run("playbook.yml", "live", 1795000000.0)
        for watcher in watchers:
            _, err = watcher.communicate(timeout=60)
            assert watcher.returncode == 0, err
    finally:
        for watcher in watchers:  # a failed round leaves the watchers waiting for its file
            watcher.kill()
            watcher.communicate()
    assert sorted(p.name for p in tmp_path.iterdir() if ".new-" in p.name) == []

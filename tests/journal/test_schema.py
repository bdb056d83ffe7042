"""The journal's tables on a real SQLite file, and what its errors say to a user."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from runbook.errors import JournalError
from runbook.journal._schema import SCHEMA_VERSION, check_version, init_schema, journal_error


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

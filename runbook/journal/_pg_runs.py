"""Runs on PostgreSQL as a whole: `runbook runs` (each run's summary folded from the few
events that say where it is, read in three queries for all runs, not three per run: the
database may be across a WAN), and a run stored as given (`journal copy`)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from runbook.events import Event
from runbook.journal._protocol import RunRecord
from runbook.journal._rows import event_from_row, row_values
from runbook.journal._runs import _SUMMARY_TYPES, RunSummary, summary_of

Read = Callable[[str, Sequence[Any]], list[tuple[Any, ...]]]
_COLUMNS = "run_id, seq, ts, type, step, host, data, prev_hash, hash"


def summaries(read: Read, is_live: Callable[[str], bool]) -> list[RunSummary]:
    """Every run with its status and progress, oldest first."""
    runs = read(
        "SELECT run_id, playbook, mode, created FROM runbook.runs ORDER BY created_ts, run_id", ()
    )
    marks = ",".join("%s" for _ in _SUMMARY_TYPES)
    rows = read(
        f"SELECT {_COLUMNS} FROM runbook.events WHERE type IN ({marks}) ORDER BY run_id, seq",
        _SUMMARY_TYPES,
    )
    lasts: dict[str, str] = dict(
        read(
            "SELECT DISTINCT ON (run_id) run_id, ts FROM runbook.events ORDER BY run_id, seq DESC",
            (),
        )
    )
    by_run: dict[str, list[Event]] = {}
    for row in rows:
        by_run.setdefault(row[0], []).append(event_from_row(row))
    return [summary_of(r, p, m, c, by_run.get(r, []), lasts.get(r), is_live) for r, p, m, c in runs]


def import_rows(conn: Any, record: RunRecord, events: Sequence[Event]) -> None:
    """The run's row if missing, then `events` exactly as given, in one transaction."""
    with conn.transaction():
        conn.execute(
            "INSERT INTO runbook.runs (run_id, playbook, mode, created, created_ts) "
            "VALUES (%s, %s, %s, %s, %s) ON CONFLICT (run_id) DO NOTHING",
            (record.run_id, record.playbook, record.mode, record.created, record.created_ts),
        )
        conn.execute("SELECT 1 FROM runbook.runs WHERE run_id=%s FOR UPDATE", (record.run_id,))
        if events:
            with conn.cursor() as cur:
                cur.executemany(
                    "INSERT INTO runbook.events (run_id, seq, ts, type, step, host, data, "
                    "prev_hash, hash) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)",
                    [row_values(e) for e in events],
                )
            conn.execute(
                "SELECT pg_notify('runbook_events', %s)", (f"{record.run_id} {events[-1].seq}",)
            )

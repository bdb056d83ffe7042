"""`runbook verify`: read a run's chain from the database or a jsonl export, and check it.

The database is read with plain SQL, read-only, row by row: whoever edited it may have
dropped the append-only triggers and left rows the journal itself would refuse (data that
is not JSON, a seq that is not a number). Every such row is still checked, and named.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from runbook.errors import InputError, JournalError, NoJournal
from runbook.events import Event
from runbook.journal import (
    ChainBreak,
    StateRef,
    cannot_write,
    connect_read_only,
    find_break,
    state_label,
)
from runbook.report import parse_event


@dataclass(frozen=True)
class Verdict:
    """What `verify` found."""

    source: str  # "run ID in PATH" or the export's path
    run_id: str
    events: int
    head: str  # the last event's hash as stored
    problem: ChainBreak | None
    line: int | None = None  # the export line of the problem

    @property
    def ok(self) -> bool:
        return self.problem is None

    def text(self) -> str:
        """The one-line result `verify` prints."""
        if self.problem is None:
            return f"ok: {self.events} events, chain head {self.head}"
        where = f" (line {self.line} of {self.source})" if self.line else ""
        return f"broken: {self.problem.message}{where}"


def _str_or_none(value: Any) -> str | None:
    return None if value is None else str(value)


def _row_event(row: tuple[Any, ...]) -> Event:
    run_id, seq, ts, type_, step, host, data, prev_hash, hash_ = row
    try:
        body = json.loads(data) if isinstance(data, str) else None
    except ValueError:
        body = None
    if not isinstance(body, dict):
        # Not what the journal writes: keep the raw text so the hash check names this row.
        body = {"<unreadable data>": str(data)}
    try:
        number = int(seq)
    except (TypeError, ValueError):
        number = -1
    return Event(
        str(run_id),
        number,
        str(ts),
        str(type_),
        _str_or_none(step),
        _str_or_none(host),
        body,
        str(prev_hash),
        str(hash_),
    )


def _connect_ro(db: Path) -> tuple[sqlite3.Connection, Callable[[], None]]:
    """The connection and how to close it: a journal this process cannot write is read
    without creating anything beside it (runbook/journal/_readonly.py)."""
    if not db.exists():
        raise NoJournal(db)
    try:
        if cannot_write(db):
            conn, close = connect_read_only(db)
        else:
            conn = sqlite3.connect(f"{db.resolve().as_uri()}?mode=ro", uri=True, timeout=15.0)
            close = conn.close
    except sqlite3.Error as err:
        raise JournalError(f"cannot open the journal {db}: {err}") from err
    # Text that is not UTF-8 (a flipped bit, a hex editor) is read as stored, marked, so the
    # hash check names its row instead of the whole read failing.
    conn.text_factory = lambda raw: raw.decode("utf-8", "replace")
    return conn, close


def read_run(db: StateRef, run_text: str) -> tuple[str, list[Event]]:
    """(run id, its events in seq order) read straight from the SQLite file or database."""
    from runbook.journal import open_journal  # resolves `latest` and prefixes the same way

    with open_journal(db, create=False) as journal:
        run_id = journal.resolve_run_id(run_text)
        if not isinstance(db, Path):  # PostgreSQL: the rows as stored, unparsed
            return run_id, [_row_event(r) for r in journal.rows(run_id)]  # type: ignore[attr-defined]
    conn, close = _connect_ro(db)
    try:
        rows = conn.execute(
            "SELECT run_id, seq, ts, type, step, host, data, prev_hash, hash "
            "FROM events WHERE run_id=? ORDER BY seq",
            (run_id,),
        ).fetchall()
    except sqlite3.Error as err:
        raise JournalError(f"cannot read the journal {db}: {err}") from err
    finally:
        close()
    return run_id, [_row_event(r) for r in rows]


def verify_run(db: StateRef, run_text: str, head: str | None = None) -> Verdict:
    """Check one run's chain in the database."""
    run_id, events = read_run(db, run_text)
    source = f"run {run_id} in {state_label(db)}"
    if not events:
        problem = ChainBreak(1, 0, "deleted", f"run {run_id} has no events")
        return Verdict(source, run_id, 0, "", problem)
    return Verdict(source, run_id, len(events), events[-1].hash, find_break(events, _head(head)))


def read_export(path: Path) -> tuple[list[Event], list[int], tuple[int, str] | None]:
    """(events, their line numbers, first unreadable line and why) of a jsonl export."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError) as err:
        raise InputError(f"{path}: cannot read it as UTF-8 text: {err}") from None
    events: list[Event] = []
    lines: list[int] = []
    for n, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            events.append(parse_event(json.loads(line)))
        except ValueError as err:
            return events, lines, (n, str(err))
        lines.append(n)
    return events, lines, None


def verify_export(path: Path, head: str | None = None) -> Verdict:
    """Check the chain in a `export --format jsonl` file."""
    events, lines, bad = read_export(path)
    run_id = events[0].run_id if events else ""
    last = events[-1].hash if events else ""
    problem = find_break(events, None if bad else _head(head))
    if problem is None and bad is not None:
        n, why = bad
        seq = events[-1].seq + 1 if events else 1
        problem = ChainBreak(seq, len(events), "edited", f"not an event: {why}")
        return Verdict(str(path), run_id, len(events), last, problem, n)
    if problem is None and not events:
        problem = ChainBreak(1, 0, "deleted", "the file holds no events")
    line = lines[problem.position] if problem and problem.position < len(lines) else None
    return Verdict(str(path), run_id, len(events), last, problem, line)


def _head(head: str | None) -> str | None:
    if head is None:
        return None
    value = head.strip().lower()
    if len(value) != 64 or any(c not in "0123456789abcdef" for c in value):
        raise InputError(f"--head {head!r} is not a chain hash (64 hex digits)")
    return value

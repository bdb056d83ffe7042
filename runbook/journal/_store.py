"""The append-only, hash-chained SQLite event log: the single source of truth (SPEC §5).

Every `append` is one `BEGIN IMMEDIATE` transaction (read the run's last seq and hash,
insert, commit) with `synchronous=FULL`, so an event the caller holds has survived a power
loss, and two processes appending to one run keep a gapless seq and an unbroken chain.
`append_many` commits several events, each chained to the one before, in one such
transaction: one fsync for a batch (the engine's group commit).
WAL mode lets `status` and `runs` read while an engine writes. A new file is built 0600
beside its name and linked into place whole (journal_schema.create_file): a journal holds
host names, commands and operator notes, and no one may open it half made.

A damaged or newer file is never rewritten: every SQLite error is turned into a
`JournalError` that says what happened and leaves the file as it was. A file this process
cannot write (read-only media, an evidence folder, another user's file) is read without
creating anything beside it (_readonly.py), and every write is refused before it starts.

Here: the connection and its transactions. How an event is chained into a row is
journal_rows.py's, the cached run states _folded.py's, the runs table read for people
journal_runs.py's, the tables themselves journal_schema.py's.
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

from runbook.clock import iso
from runbook.errors import JournalError, NoJournal, StateError
from runbook.events import Event, RunState, fold
from runbook.journal import _lock as runlock
from runbook.journal._folded import FoldedStates
from runbook.journal._protocol import RunRecord
from runbook.journal._readonly import cannot_write, connect_read_only, read_only_error
from runbook.journal._rows import (
    Check,
    Draft,
    EventData,
    event_from_row,
    insert_event,
    insert_events,
    insert_rows,
    known_types,
)
from runbook.journal._runs import (
    RunSummary as RunSummary,  # part of the Journal contract
    find_run_id,
    new_run_id,
    summaries,
)
from runbook.journal._schema import (
    BUSY_TIMEOUT_MS,
    SCHEMA_VERSION,
    check_version,
    create_file,
    describe,
    enable_wal,
    file_identity,
    init_schema,
    journal_error,
    save_gone,
)
from runbook.model import RunMode


class Journal:
    """The state database: runs and their hash-chained events."""

    def __init__(self, path: Path, *, create: bool = True) -> None:
        self.path = Path(path)
        if not self.path.exists():
            if not create:
                raise NoJournal(self.path)
            create_file(self.path)
        self._lock = threading.RLock()
        self._states = FoldedStates()
        self._identity = file_identity(self.path)
        self._gone: JournalError | None = None
        # Set when this process cannot write the file: reads work, every write is refused.
        self.read_only = cannot_write(self.path)
        if self.read_only:
            self._open_read_only()
            return
        # One connection shared by the engine's threads, serialised by self._lock;
        # autocommit mode so that transactions are only the ones we open.
        try:
            self._db = sqlite3.connect(
                str(self.path), isolation_level=None, check_same_thread=False, timeout=15.0
            )
        except sqlite3.Error as err:
            raise JournalError(f"cannot open the journal {self.path}: {describe(err)}") from err
        self._close = self._db.close
        try:
            with self._errors("open"):
                self._db.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
                current = check_version(self._db, self.path) == SCHEMA_VERSION
                enable_wal(self._db)
                self._db.execute("PRAGMA synchronous=FULL")
                if not current:  # readers skip the write lock once the schema is there
                    init_schema(self._db, self.path)
        except BaseException:
            self._db.close()
            raise

    def _open_read_only(self) -> None:
        """Read without writing anything beside the file (runbook/journal/_readonly.py)."""
        with self._errors("read"):
            self._db, self._close = connect_read_only(self.path)
            try:
                if check_version(self._db, self.path) != SCHEMA_VERSION:
                    raise JournalError(f"{self.path} holds no runbook journal")
            except BaseException:
                self._close()
                raise

    def _writable(self) -> None:
        """Refuse a write, before anything is done, to a journal this process cannot write."""
        if self.read_only:
            raise read_only_error(self.path, self.read_only)

    # -- errors ---------------------------------------------------------------------------

    @contextlib.contextmanager
    def _errors(self, doing: str) -> Iterator[None]:
        """Turn SQLite's exceptions into one clear JournalError (never a traceback)."""
        try:
            yield
        except sqlite3.Error as err:
            raise journal_error(err, self.path, doing) from err

    @property
    def label(self) -> str:
        """The file's path, as messages name it."""
        return str(self.path)

    # -- runs -----------------------------------------------------------------------------

    def new_run(self, playbook: str, mode: RunMode, ts: float) -> str:
        """Register a run and return its id (events follow with `append`)."""
        self._writable()
        with self._lock, self._errors("write"):
            for _ in range(50):
                run_id = new_run_id(ts)
                try:
                    self._db.execute(
                        "INSERT INTO runs (run_id, playbook, mode, created, created_ts) "
                        "VALUES (?, ?, ?, ?, ?)",
                        (run_id, playbook, mode, iso(ts), ts),
                    )
                    return run_id
                except sqlite3.IntegrityError:
                    continue  # 1 in 65536 per minute: draw again
        raise JournalError(f"cannot find a free run id in {self.path}")

    def run_ids(self) -> list[str]:
        """Every run id, oldest first."""
        with self._lock, self._errors("read"):
            rows = self._db.execute("SELECT run_id FROM runs ORDER BY created_ts, run_id")
            return [r[0] for r in rows.fetchall()]

    def resolve_run_id(self, text: str) -> str:
        """`latest`, an exact run id or a unique prefix of one."""
        return find_run_id(self.run_ids(), text, self.path)

    def runs(self) -> list[RunSummary]:
        """Every run with its status and progress, oldest first."""
        with self._lock, self._errors("read"):
            return summaries(self._db, self.is_engine_live)

    def run_record(self, run_id: str) -> RunRecord:
        """The run's row (StateError when there is none)."""
        with self._lock, self._errors("read"):
            row = self._db.execute(
                "SELECT run_id, playbook, mode, created, created_ts FROM runs WHERE run_id=?",
                (run_id,),
            ).fetchone()
        if not row:
            raise StateError(f"no run '{run_id}' in {self.path} (see: runbook runs)")
        return RunRecord(row[0], row[1], row[2], row[3], float(row[4]))

    def import_run(self, record: RunRecord, events: Sequence[Event]) -> None:
        """Store `events` exactly as given after the run's last one (journal copy)."""
        self._writable()
        with self._lock, self._errors("write"):
            self._db.execute("BEGIN IMMEDIATE")
            try:
                self._db.execute(
                    "INSERT OR IGNORE INTO runs (run_id, playbook, mode, created, created_ts) "
                    "VALUES (?, ?, ?, ?, ?)",
                    (
                        record.run_id,
                        record.playbook,
                        record.mode,
                        record.created,
                        record.created_ts,
                    ),
                )
                insert_rows(self._db, events)
                self._db.execute("COMMIT")
            except BaseException:
                with contextlib.suppress(sqlite3.Error):
                    self._db.execute("ROLLBACK")
                raise
        self._states.forget(record.run_id)

    def wait_for_events(self, run_id: str, after_seq: int, timeout: float) -> None:
        """SQLite cannot tell us: look every half second until `timeout`."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock, self._errors("read"):
                row = self._db.execute(
                    "SELECT 1 FROM events WHERE run_id=? AND seq>? LIMIT 1", (run_id, after_seq)
                ).fetchone()
            if row:
                return
            time.sleep(min(0.5, max(0.0, deadline - time.monotonic())))

    # -- events ---------------------------------------------------------------------------

    def events(self, run_id: str, after_seq: int = 0) -> list[Event]:
        """The run's events with seq > after_seq, in order."""
        with self._lock, self._errors("read"):
            rows = self._db.execute(
                "SELECT run_id, seq, ts, type, step, host, data, prev_hash, hash "
                "FROM events WHERE run_id=? AND seq>? ORDER BY seq",
                (run_id, after_seq),
            ).fetchall()
        return [event_from_row(r) for r in rows]

    def state(self, run_id: str) -> RunState:
        """The run's state folded from its events (a fresh copy; unknown run: StateError)."""
        self._require_run(run_id)
        return fold(self.events(run_id))

    def _require_run(self, run_id: str) -> None:
        with self._lock, self._errors("read"):
            row = self._db.execute("SELECT 1 FROM runs WHERE run_id=?", (run_id,)).fetchone()
        if not row:
            raise StateError(f"no run '{run_id}' in {self.path} (see: runbook runs)")

    def append(
        self,
        run_id: str,
        type: str,
        *,
        ts: float,
        step: str | None = None,
        host: str | None = None,
        data: EventData = None,
    ) -> Event:
        """Commit one event to the run's chain and return it as stored.

        `ts` never goes backwards within a run: an earlier time is raised to the run's last
        event time, so the chain reads in time order whichever clock wrote it.
        """
        return self._append(run_id, type, ts, step, host, data, None)

    def append_checked(
        self,
        run_id: str,
        type: str,
        *,
        check: Check,
        ts: float,
        step: str | None = None,
        host: str | None = None,
        data: EventData = None,
    ) -> Event:
        """Like `append`, but `check(state)` runs inside the write transaction first.

        A text from `check` is raised as StateError and nothing is written: two operators
        answering the same step at once get exactly one winner. `data` may be a function of
        (state, effective ts) for values that depend on what was committed before.
        """
        return self._append(run_id, type, ts, step, host, data, check)

    def append_many(self, run_id: str, drafts: Sequence[Draft]) -> list[Event]:
        """Commit `drafts` in order, in one transaction (one fsync); all or none are stored.

        Each event is chained to the one before it exactly as `append` would chain it, so
        a batch reads, exports and verifies like the same events appended one by one.
        """
        if not drafts:
            return []
        known_types(d.type for d in drafts)
        return self._commit(
            run_id, lambda: insert_events(self._db, run_id, drafts, self._require_run)
        )

    def _append(
        self,
        run_id: str,
        type_: str,
        ts: float,
        step: str | None,
        host: str | None,
        data: EventData,
        check: Check | None,
    ) -> Event:
        known_types([type_])

        def insert() -> list[Event]:
            event = insert_event(
                self._db,
                run_id,
                type_,
                ts,
                step,
                host,
                data,
                check,
                current_state=self._current_state,
                require_run=self._require_run,
            )
            return [event]

        return self._commit(run_id, insert)[0]

    def _commit(self, run_id: str, insert: Callable[[], list[Event]]) -> list[Event]:
        """`insert` in one BEGIN IMMEDIATE transaction; the cached state follows the commit."""
        self._writable()
        with self._lock, self._errors("write"):
            self._check_file()
            self._db.execute("BEGIN IMMEDIATE")
            try:
                events = insert()
                self._db.execute("COMMIT")
            except BaseException:
                with contextlib.suppress(sqlite3.Error):
                    self._db.execute("ROLLBACK")
                self._states.forget(run_id)
                raise
            self._states.committed(run_id, events)
            return events

    def _check_file(self) -> None:
        """Refuse to write into a file no longer at our path (deleted, or replaced by a
        restore or a cleanup): what was written would be lost with it."""
        if self._gone is None:
            now = file_identity(self.path)
            if now == self._identity:
                return
            self._gone = save_gone(self._db, self.path, "deleted" if now is None else "replaced")
        raise self._gone

    def _current_state(self, run_id: str) -> RunState:
        """The run's folded state, kept between calls and brought up to date incrementally."""
        return self._states.current(run_id, lambda seq: self.events(run_id, after_seq=seq))

    # -- the engine lock (runbook/journal/_lock.py) ---------------------------------------------

    def lock_path(self, run_id: str) -> Path:
        """`state.db.<run_id>.lock` beside the database."""
        return runlock.lock_path(self.path, run_id)

    def engine_lock(self, run_id: str) -> contextlib.AbstractContextManager[None]:
        """Hold the run for one engine; RunLocked names the pid and host of a live holder."""
        self._writable()
        return runlock.engine_lock(self.lock_path(run_id), run_id)

    def is_engine_live(self, run_id: str) -> bool:
        """Whether an engine holds the run now (and so will act on an operator's answer)."""
        return runlock.is_held(self.lock_path(run_id))

    def close(self) -> None:
        """Close the database connection."""
        with self._lock:
            self._close()

    def __enter__(self) -> Journal:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

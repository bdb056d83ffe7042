"""The append-only, hash-chained SQLite event log: the single source of truth (SPEC §5).

Every `append` is one `BEGIN IMMEDIATE` transaction (read the run's last seq and hash,
insert, commit) with `synchronous=FULL`, so an event the caller holds has survived a power
loss, and two processes appending to one run keep a gapless seq and an unbroken chain.
`append_many` commits several events, each chained to the one before, in one such
transaction: one fsync for a batch (the engine's group commit).
WAL mode lets `status` and `runs` read while an engine writes. The file is created 0600
before SQLite touches it: a journal holds host names, commands and operator notes.

A damaged or newer file is never rewritten: every SQLite error is turned into a
`JournalError` that says what happened and leaves the file as it was.
"""

from __future__ import annotations

import contextlib
import difflib
import json
import math
import os
import secrets
import sqlite3
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from runbook import runlock
from runbook.clock import iso, parse_iso
from runbook.errors import JournalError, StateError
from runbook.events import EVENT_TYPES, GENESIS_HASH, Event, canonical, chain_hash
from runbook.journal_schema import (
    BUSY_TIMEOUT_MS,
    SCHEMA_VERSION,
    check_version,
    describe,
    init_schema,
    journal_error,
)
from runbook.model import RunMode
from runbook.state import RunState, fold

# Events a run summary needs; host-level events (output above all) are most of a journal.
_SUMMARY_TYPES = (
    "run_started",
    "run_resumed",
    "run_interrupted",
    "run_finished",
    "step_started",
    "step_succeeded",
    "step_failed",
    "step_skipped",
    "step_blocked",
    "manual_waiting",
    "manual_claimed",
    "manual_answered",
    "operator_retry",
    "eta",
)

EventData = Mapping[str, Any] | Callable[[RunState, float], Mapping[str, Any]] | None


@dataclass(frozen=True)
class Draft:
    """An event not yet committed: `append_many` gives it its seq, hash and final ts."""

    type: str
    ts: float
    step: str | None = None
    host: str | None = None
    data: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class RunSummary:
    """One line of `runbook runs`."""

    run_id: str
    playbook: str
    mode: str
    created: str  # ISO time the run was created
    status: str  # RunState.status
    done: int  # steps succeeded or skipped
    total: int
    last_ts: str | None
    live: bool  # an engine holds the run's lock right now


def new_run_id(ts: float) -> str:
    """`20261129-2113-a3f9`: UTC minute (so ids sort by time) and 16 random bits."""
    stamp = datetime.fromtimestamp(ts, UTC).strftime("%Y%m%d-%H%M")
    return f"{stamp}-{secrets.token_hex(2)}"


def _json_safe(value: Any) -> Any:
    """Plain JSON data: tuples become lists, keys strings, NaN/inf null (not valid JSON)."""
    if isinstance(value, Mapping):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)


def _dumps(data: Mapping[str, Any]) -> str:
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


class Journal:
    """The state database: runs and their hash-chained events."""

    def __init__(self, path: Path, *, create: bool = True) -> None:
        self.path = Path(path)
        if not self.path.exists():
            if not create:
                raise StateError(
                    f"no journal at {self.path}; start a run with: runbook run PLAYBOOK"
                )
            self._create_file()
        self._lock = threading.RLock()
        # One connection shared by the engine's threads, serialised by self._lock;
        # autocommit mode so that transactions are only the ones we open.
        try:
            self._db = sqlite3.connect(
                str(self.path), isolation_level=None, check_same_thread=False, timeout=15.0
            )
        except sqlite3.Error as err:
            raise JournalError(f"cannot open the journal {self.path}: {describe(err)}") from err
        self._states: dict[str, RunState] = {}
        try:
            with self._errors("open"):
                self._db.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
                current = check_version(self._db, self.path) == SCHEMA_VERSION
                self._db.execute("PRAGMA journal_mode=WAL")
                self._db.execute("PRAGMA synchronous=FULL")
                if not current:  # readers skip the write lock once the schema is there
                    init_schema(self._db, self.path)
        except BaseException:
            self._db.close()
            raise

    def _create_file(self) -> None:
        parent = self.path.parent
        try:
            parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
            os.close(fd)
        except FileExistsError:
            pass  # another process created it first; that's fine
        except OSError as err:
            raise JournalError(
                f"cannot create the journal {self.path}: {err.strerror or err}"
            ) from err

    # -- errors ---------------------------------------------------------------------------

    @contextlib.contextmanager
    def _errors(self, doing: str) -> Iterator[None]:
        """Turn SQLite's exceptions into one clear JournalError (never a traceback)."""
        try:
            yield
        except sqlite3.Error as err:
            raise journal_error(err, self.path, doing) from err

    # -- runs -----------------------------------------------------------------------------

    def new_run(self, playbook: str, mode: RunMode, ts: float) -> str:
        """Register a run and return its id (events follow with `append`)."""
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
        ids = self.run_ids()
        if not ids:
            raise StateError(f"no runs in {self.path} yet; start one with: runbook run PLAYBOOK")
        text = text.strip()
        if text == "latest":
            return ids[-1]
        if text in ids:
            return text
        matches = [i for i in ids if i.startswith(text)] if text else []
        if len(matches) == 1:
            return matches[0]
        if len(matches) > 1:
            shown = ", ".join(matches[-5:])
            raise StateError(f"run id '{text}' is ambiguous: it starts {shown}; give more of it")
        close = difflib.get_close_matches(text, ids, n=3, cutoff=0.5)
        hint = f"; did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
        raise StateError(f"no run '{text}' in {self.path}{hint} (see: runbook runs)")

    def runs(self) -> list[RunSummary]:
        """Every run with its status and progress, oldest first."""
        marks = ",".join("?" for _ in _SUMMARY_TYPES)
        out: list[RunSummary] = []
        with self._lock, self._errors("read"):
            rows = self._db.execute(
                "SELECT run_id, playbook, mode, created FROM runs ORDER BY created_ts, run_id"
            ).fetchall()
            for run_id, playbook, mode, created in rows:
                evs = [
                    self._event(r)
                    for r in self._db.execute(
                        "SELECT run_id, seq, ts, type, step, host, data, prev_hash, hash "
                        f"FROM events WHERE run_id=? AND type IN ({marks}) ORDER BY seq",
                        (run_id, *_SUMMARY_TYPES),
                    )
                ]
                last = self._db.execute(
                    "SELECT ts FROM events WHERE run_id=? ORDER BY seq DESC LIMIT 1", (run_id,)
                ).fetchone()
                state = fold(evs)
                counts = state.counts()
                out.append(
                    RunSummary(
                        run_id=run_id,
                        playbook=playbook,
                        mode=mode,
                        created=created,
                        status=state.status,
                        done=counts.get("succeeded", 0) + counts.get("skipped", 0),
                        total=len(state.steps),
                        last_ts=last[0] if last else None,
                        live=self.is_engine_live(run_id),
                    )
                )
        return out

    # -- events ---------------------------------------------------------------------------

    @staticmethod
    def _event(row: tuple[Any, ...]) -> Event:
        run_id, seq, ts, type_, step, host, data, prev_hash, hash_ = row
        return Event(run_id, seq, ts, type_, step, host, json.loads(data), prev_hash, hash_)

    def events(self, run_id: str, after_seq: int = 0) -> list[Event]:
        """The run's events with seq > after_seq, in order."""
        with self._lock, self._errors("read"):
            rows = self._db.execute(
                "SELECT run_id, seq, ts, type, step, host, data, prev_hash, hash "
                "FROM events WHERE run_id=? AND seq>? ORDER BY seq",
                (run_id, after_seq),
            ).fetchall()
        return [self._event(r) for r in rows]

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
        check: Callable[[RunState], str | None],
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
        for d in drafts:
            if d.type not in EVENT_TYPES:
                raise ValueError(f"unknown journal event type {d.type!r}")
        with self._lock, self._errors("write"):
            self._db.execute("BEGIN IMMEDIATE")
            try:
                events = self._insert_many(run_id, drafts)
                self._db.execute("COMMIT")
            except BaseException:
                with contextlib.suppress(sqlite3.Error):
                    self._db.execute("ROLLBACK")
                self._states.pop(run_id, None)
                raise
            state = self._states.get(run_id)
            if state is not None and state.last_seq == events[0].seq - 1:
                for event in events:
                    state.apply(event)
            return events

    def _insert_many(self, run_id: str, drafts: Sequence[Draft]) -> list[Event]:
        last = self._db.execute(
            "SELECT seq, ts, hash FROM events WHERE run_id=? ORDER BY seq DESC LIMIT 1",
            (run_id,),
        ).fetchone()
        if last is None:
            self._require_run(run_id)
            seq, prev_hash, last_ts = 0, GENESIS_HASH, -math.inf
        else:
            seq, last_ts, prev_hash = last[0], parse_iso(last[1]), last[2]
        events: list[Event] = []
        rows: list[tuple[Any, ...]] = []
        for d in drafts:
            seq += 1
            ts = max(d.ts, last_ts)
            last_ts = ts
            body = _json_safe(dict(d.data))
            ts_text = iso(ts)
            hash_ = chain_hash(
                prev_hash, canonical(run_id, seq, ts_text, d.type, d.step, d.host, body)
            )
            rows.append(
                (run_id, seq, ts_text, d.type, d.step, d.host, _dumps(body), prev_hash, hash_)
            )
            events.append(
                Event(run_id, seq, ts_text, d.type, d.step, d.host, body, prev_hash, hash_)
            )
            prev_hash = hash_
        self._db.executemany(
            "INSERT INTO events (run_id, seq, ts, type, step, host, data, prev_hash, hash) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            rows,
        )
        return events

    def _append(
        self,
        run_id: str,
        type_: str,
        ts: float,
        step: str | None,
        host: str | None,
        data: EventData,
        check: Callable[[RunState], str | None] | None,
    ) -> Event:
        if type_ not in EVENT_TYPES:
            raise ValueError(f"unknown journal event type {type_!r}")
        with self._lock, self._errors("write"):
            self._db.execute("BEGIN IMMEDIATE")
            try:
                event = self._insert(run_id, type_, ts, step, host, data, check)
                self._db.execute("COMMIT")
            except BaseException:
                with contextlib.suppress(sqlite3.Error):
                    self._db.execute("ROLLBACK")
                self._states.pop(run_id, None)
                raise
            state = self._states.get(run_id)
            if state is not None and state.last_seq == event.seq - 1:
                state.apply(event)
            return event

    def _insert(
        self,
        run_id: str,
        type_: str,
        ts: float,
        step: str | None,
        host: str | None,
        data: EventData,
        check: Callable[[RunState], str | None] | None,
    ) -> Event:
        last = self._db.execute(
            "SELECT seq, ts, hash FROM events WHERE run_id=? ORDER BY seq DESC LIMIT 1",
            (run_id,),
        ).fetchone()
        if last is None:
            self._require_run(run_id)
            seq, prev_hash = 1, GENESIS_HASH
        else:
            seq, prev_hash = last[0] + 1, last[2]
            ts = max(ts, parse_iso(last[1]))
        state: RunState | None = None
        if check is not None or callable(data):
            state = self._current_state(run_id)
        if check is not None:
            assert state is not None
            problem = check(state)
            if problem:
                raise StateError(problem)
        if callable(data):
            assert state is not None
            data = data(state, ts)
        body = _json_safe(dict(data or {}))
        ts_text = iso(ts)
        hash_ = chain_hash(prev_hash, canonical(run_id, seq, ts_text, type_, step, host, body))
        self._db.execute(
            "INSERT INTO events (run_id, seq, ts, type, step, host, data, prev_hash, hash) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (run_id, seq, ts_text, type_, step, host, _dumps(body), prev_hash, hash_),
        )
        return Event(run_id, seq, ts_text, type_, step, host, body, prev_hash, hash_)

    def _current_state(self, run_id: str) -> RunState:
        """The run's folded state, kept between calls and brought up to date incrementally."""
        state = self._states.get(run_id)
        if state is None:
            state = self._states[run_id] = fold([])
        for event in self.events(run_id, after_seq=state.last_seq):
            state.apply(event)
        return state

    # -- the engine lock (runbook/runlock.py) ---------------------------------------------

    def lock_path(self, run_id: str) -> Path:
        """`state.db.<run_id>.lock` beside the database."""
        return runlock.lock_path(self.path, run_id)

    def engine_lock(self, run_id: str) -> contextlib.AbstractContextManager[None]:
        """Hold the run for one engine; RunLocked names the pid and host of a live holder."""
        return runlock.engine_lock(self.lock_path(run_id), run_id)

    def is_engine_live(self, run_id: str) -> bool:
        """Whether an engine holds the run now (and so will act on an operator's answer)."""
        return runlock.is_held(self.lock_path(run_id))

    def close(self) -> None:
        """Close the database connection."""
        with self._lock:
            self._db.close()

    def __enter__(self) -> Journal:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

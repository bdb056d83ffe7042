"""The journal in PostgreSQL (team mode): the same runs, events and chain as SQLite.

Every append is one transaction that first locks the run's row (`SELECT … FOR UPDATE`: a
lock, not an update), reads the chain's end, chains the new events to it and inserts them,
so engines and operators on several machines keep one gapless seq and one unbroken chain.
For live runs `ts` is the database's `clock_timestamp()` read under that lock, so events
from machines with drifting clocks still read in order; a rehearsal keeps its virtual time.
Each commit notifies `runbook_events` with "RUN_ID SEQ" for live views (_pg_listen.py).
A dropped connection (restarted server, terminated backend, network) is retried on a fresh
pooled one for up to a minute; a write whose COMMIT may have landed is never written twice:
the run's row at its seq is compared with the hash it would have had.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from typing import Any

from runbook.clock import iso, parse_iso
from runbook.errors import StateError
from runbook.events import Event, RunState, fold
from runbook.journal import _pg_lease as lease
from runbook.journal._folded import FoldedStates
from runbook.journal._open import hide_password
from runbook.journal._pg_chain import Stale, chain_end, landed
from runbook.journal._pg_claims import check_fence
from runbook.journal._pg_listen import CHANNEL, Listener
from runbook.journal._pg_runs import import_rows, summaries
from runbook.journal._pg_schema import ensure_schema, pg_error
from runbook.journal._pg_team import TeamCalls
from runbook.journal._protocol import RunRecord
from runbook.journal._rows import (
    Check,
    Draft,
    EventData,
    _chained,
    chain_drafts,
    checked_data,
    event_from_row,
    known_types,
    row_values,
)
from runbook.journal._runs import RunSummary, find_run_id, new_run_id
from runbook.model import RunMode

RECONNECT_S = 60.0  # how long a dropped database is retried before the command gives up
_COLUMNS = "run_id, seq, ts, type, step, host, data, prev_hash, hash"
_INSERT = f"INSERT INTO runbook.events ({_COLUMNS}) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)"

Build = Callable[[Any, int, float, str, float], list[Event]]


class PostgresJournal(TeamCalls):
    """The state database in PostgreSQL: runs and their hash-chained events."""

    def __init__(self, url: str, *, create: bool = True, lease_s: float | None = None) -> None:
        import psycopg
        from psycopg_pool import ConnectionPool

        # The pool logs each failed reconnection as a warning: with no handler Python would
        # print them on stderr mid-board. Failures reach the user as one JournalError.
        logging.getLogger("psycopg").addHandler(logging.NullHandler())
        logging.getLogger("psycopg").propagate = False

        self._psycopg = psycopg
        self.url = url
        self._label = hide_password(url)
        self._states = FoldedStates()
        self._listener = Listener(url)
        self.held: dict[str, lease.Held] = {}  # runs this process's engine holds
        self.engine = lease.engine_id()
        self.lease_s = lease_s or lease.DEFAULT_LEASE_S
        try:
            with psycopg.connect(url, autocommit=True, connect_timeout=10) as conn:
                ensure_schema(conn, self._label)
        except psycopg.Error as err:
            raise pg_error(err, self._label, "open") from None
        self._pool = ConnectionPool(
            url,
            min_size=1,
            max_size=4,
            kwargs={"autocommit": True, "connect_timeout": 10},
            check=ConnectionPool.check_connection,
            timeout=10.0,
            name="runbook-journal",
            open=True,
        )

    @property
    def label(self) -> str:
        """The URL without its password, as messages name the journal."""
        return self._label

    # -- connections and retries ---------------------------------------------------------

    def _retrying(self, doing: str, work: Callable[[Any], Any]) -> Any:
        """`work(conn)` on a pooled connection; a lost connection is retried on a new one."""
        from psycopg_pool import PoolTimeout

        deadline = time.monotonic() + RECONNECT_S
        delay = 0.1
        while True:
            try:
                with self._pool.connection() as conn:
                    return work(conn)
            except (self._psycopg.OperationalError, PoolTimeout) as err:
                if time.monotonic() + delay > deadline:
                    raise pg_error(err, self._label, doing) from None
            except self._psycopg.Error as err:
                raise pg_error(err, self._label, doing) from None
            time.sleep(delay)
            delay = min(delay * 2, 2.0)

    def _read(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        return list(self._retrying("read", lambda conn: conn.execute(sql, params).fetchall()))

    # -- runs ----------------------------------------------------------------------------

    def new_run(self, playbook: str, mode: RunMode, ts: float) -> str:
        """Register a run and return its id."""
        for _ in range(50):
            run_id = new_run_id(ts)
            params = (run_id, playbook, mode, iso(ts), ts)

            def insert(conn: Any, params: tuple[Any, ...] = params) -> list[Any]:
                return list(
                    conn.execute(
                        "INSERT INTO runbook.runs (run_id, playbook, mode, created, created_ts) "
                        "VALUES (%s, %s, %s, %s, %s) ON CONFLICT (run_id) DO NOTHING "
                        "RETURNING run_id",
                        params,
                    ).fetchall()
                )

            rows = self._retrying("write", insert)
            if rows:
                return run_id
        raise StateError(f"cannot find a free run id in {self._label}")

    def run_ids(self) -> list[str]:
        """Every run id, oldest first."""
        rows = self._read("SELECT run_id FROM runbook.runs ORDER BY created_ts, run_id")
        return [r[0] for r in rows]

    def resolve_run_id(self, text: str) -> str:
        """`latest`, an exact run id or a unique prefix of one."""
        return find_run_id(self.run_ids(), text, self._label)

    def run_record(self, run_id: str) -> RunRecord:
        """The run's row (StateError when there is none)."""
        rows = self._read(
            "SELECT run_id, playbook, mode, created, created_ts FROM runbook.runs WHERE run_id=%s",
            (run_id,),
        )
        if not rows:
            raise StateError(f"no run '{run_id}' in {self._label} (see: runbook runs)")
        r = rows[0]
        return RunRecord(r[0], r[1], r[2], r[3], float(r[4]))

    def runs(self) -> list[RunSummary]:
        """Every run with its status and progress, oldest first."""
        return summaries(self._read, self.is_engine_live)

    # -- events --------------------------------------------------------------------------

    def events(self, run_id: str, after_seq: int = 0) -> list[Event]:
        """The run's events with seq > after_seq, in order."""
        rows = self._read(
            f"SELECT {_COLUMNS} FROM runbook.events WHERE run_id=%s AND seq>%s ORDER BY seq",
            (run_id, after_seq),
        )
        return [event_from_row(r) for r in rows]

    def rows(self, run_id: str) -> list[tuple[Any, ...]]:
        """The run's rows as stored, unparsed: `verify` names a row that is not JSON."""
        return self._read(
            f"SELECT {_COLUMNS} FROM runbook.events WHERE run_id=%s ORDER BY seq", (run_id,)
        )

    def state(self, run_id: str) -> RunState:
        """The run's state folded from its events (unknown run: StateError)."""
        self.run_record(run_id)
        return fold(self.events(run_id))

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
        """Commit one event to the run's chain and return it as stored."""
        return self._append_one(run_id, type, ts, step, host, data, None)

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
        """Like `append`, with `check(state)` run under the run's lock: one answer wins."""
        return self._append_one(run_id, type, ts, step, host, data, check)

    def append_many(self, run_id: str, drafts: Sequence[Draft]) -> list[Event]:
        """Commit `drafts` in order, in one transaction; all or none are stored."""
        if not drafts:
            return []
        known_types(d.type for d in drafts)

        def build(conn: Any, seq: int, last_ts: float, prev: str, now: float) -> list[Event]:
            return chain_drafts(run_id, drafts, (seq, last_ts, prev), now if now >= 0 else None)[0]

        return self._write(run_id, build)

    def _append_one(
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

        def build(conn: Any, seq: int, last_ts: float, prev: str, now: float) -> list[Event]:
            at = max(now if now >= 0 else ts, last_ts)
            body = checked_data(check, data, at, lambda: self._state_on(conn, run_id))
            return [_chained(run_id, seq + 1, at, type_, step, host, body, prev)]

        return self._write(run_id, build)[0]

    def _write(self, run_id: str, build: Build) -> list[Event]:
        """Lock the run's row, chain `build`'s events to its end, insert them, commit.

        While this process holds the run's lease, the write waits for a confirmed lease
        and carries its fence (runbook/journal/_pg_lease.py): a stale one is not written.
        """
        tried: list[Event] = []
        held = self.held.get(run_id)
        if (
            held is not None
            and not held.usable()
            and not held.wait_usable(RECONNECT_S)
            and not held.lost
        ):
            self.held.pop(run_id, None)  # what it journals from now on changes nothing
            raise lease.LeaseLost(
                f"engine {held.engine} could not renew its lease on run {run_id} "
                f"for {RECONNECT_S:.0f}s; it starts nothing more "
                f"(the run is resumable: runbook join {run_id})",
                held,
            )

        def once(conn: Any) -> list[Event]:
            with conn.transaction():
                head = conn.execute(
                    "SELECT mode, extract(epoch FROM clock_timestamp())::float8 "
                    "FROM runbook.runs WHERE run_id=%s FOR UPDATE",
                    (run_id,),
                ).fetchone()
                if head is None:
                    raise StateError(f"no run '{run_id}' in {self._label} (see: runbook runs)")
                if tried and landed(conn, tried[0]):
                    return list(tried)  # the last COMMIT landed before the connection broke
                last = conn.execute(
                    "SELECT seq, ts, hash FROM runbook.events WHERE run_id=%s "
                    "ORDER BY seq DESC LIMIT 1",
                    (run_id,),
                ).fetchone()
                seq, last_ts, prev = chain_end(last)
                now = -1.0 if head[0] == "rehearsal" else float(head[1])
                events = build(conn, seq, last_ts, prev, now)
                tried[:] = events
                if held is not None:
                    check_fence(conn, run_id, held, events)
                    if not held.announced and events[-1].type != "engine_joined":
                        last = events[-1]  # after run_started / run_resumed: see holding()
                        events.append(
                            _chained(run_id, last.seq + 1, parse_iso(last.ts), "engine_joined",
                                     None, None, lease.joined_data(held), last.hash)
                        )  # fmt: skip
                with conn.cursor() as cur:
                    cur.executemany(_INSERT, [row_values(e) for e in events])
                conn.execute("SELECT pg_notify(%s, %s)", (CHANNEL, f"{run_id} {events[-1].seq}"))
            return events

        try:
            events: list[Event] = self._retrying("write", once)
            if held is not None:
                held.announced = True
        except Stale as stale:
            assert held is not None
            lease.journal_late(self, held, tried, stale.holder)
            to, fence = stale.holder
            how = f"(fence {held.fence} → {fence})" if fence else "(its lease had expired)"
            raise lease.LeaseLost(
                f"engine {held.engine} lost run {run_id} to {to} {how}; what it had to "
                f"journal is kept as late_result and changes nothing; it starts nothing more",
                held,
            ) from None
        except BaseException:
            self._states.forget(run_id)
            raise
        self._states.committed(run_id, events)
        return events

    def _state_on(self, conn: Any, run_id: str) -> RunState:
        """The run's folded state on `conn` (inside the write), brought up to date."""

        def newer(after_seq: int) -> list[Event]:
            rows = conn.execute(
                f"SELECT {_COLUMNS} FROM runbook.events WHERE run_id=%s AND seq>%s ORDER BY seq",
                (run_id, after_seq),
            ).fetchall()
            return [event_from_row(row) for row in rows]

        return self._states.current(run_id, newer)

    def import_run(self, record: RunRecord, events: Sequence[Event]) -> None:
        """Store `events` exactly as given after the run's last one (journal copy)."""
        self._retrying("write", lambda conn: import_rows(conn, record, events))
        self._states.forget(record.run_id)

    # -- live views ----------------------------------------------------------------------

    def wait_for_events(self, run_id: str, after_seq: int, timeout: float) -> None:
        """Woken by NOTIFY for this run; returns within 2 s anyway (the polling fallback)."""
        self._listener.wait(lambda: bool(self.events(run_id, after_seq)[:1]), run_id,
                            after_seq, timeout)  # fmt: skip

    def close(self) -> None:
        """Close the pool and the listening connection."""
        self._listener.close()
        self._pool.close()

    def __enter__(self) -> PostgresJournal:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

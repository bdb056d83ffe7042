"""Leases on PostgreSQL (team mode): one engine holds a run's work at a time, fenced.

The lease row (`runbook.leases`, the one mutable table) names the engine holding the run,
its fence and `lease_until` on the database's clock. An engine claims a free or expired
lease with `SELECT … FOR UPDATE SKIP LOCKED` (two claimants never wait on each other: one
gets it, the other looks again later); every claim, and so every takeover, raises the
fence. The holder renews at a third of the lease from a thread of its own.

Fencing, so that an engine that was paused, cut off or slow can never change the run:
- every event the holder appends is checked in the append's own transaction against the
  lease row (read FOR SHARE: a takeover's UPDATE waits for the append, and the append
  after it sees the new fence): a stale fence stores what it would have appended as one
  `late_result` event that changes no state, then `lease_lost`;
- the holder starts nothing (its commits wait) once its monotonic clock passes its last
  confirmed renewal plus the lease minus a margin (5 s, or a quarter of a short lease),
  until a renewal succeeds again (the database was only away) or says the lease is gone.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import socket
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from runbook.errors import EXIT_FAILED, JournalError

if TYPE_CHECKING:
    from runbook.events import Event
    from runbook.journal._pg_store import PostgresJournal

DEFAULT_LEASE_S = 30.0


class LeaseLost(JournalError):
    """Another engine took the run over: this one starts nothing more (exit 1)."""

    exit_code = EXIT_FAILED
    lease_lost = True  # the engine re-raises it as is: the run is not this engine's to resume

    def __init__(self, message: str, held: Held) -> None:
        super().__init__(message)
        self.engine = held.engine
        self.fence = held.fence


def engine_id() -> str:
    """`HOST:PID:RANDOM`: the engine's name in the journal and the lease row."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"


def margin_s(lease_s: float) -> float:
    """How long before the lease's end the holder stops starting work."""
    return min(5.0, lease_s / 4)


@dataclass
class Held:
    """A lease this process holds: its fence, and what the keeper last confirmed."""

    run_id: str
    engine: str
    fence: int
    lease_s: float
    confirmed: float  # time.monotonic() when the last successful renewal was sent
    lease_until: str
    lost: bool = False
    announced: bool = False  # `work_claimed` journaled
    changed: threading.Condition = field(default_factory=threading.Condition)

    def usable(self) -> bool:
        """Whether the holder may still append and start work now."""
        return not self.lost and time.monotonic() < self.confirmed + self.lease_s - margin_s(
            self.lease_s
        )

    def wait_usable(self, timeout: float) -> bool:
        """Wait for a renewal (True) or the loss of the lease / the timeout (False)."""
        deadline = time.monotonic() + timeout
        with self.changed:
            while not self.usable():
                if self.lost or time.monotonic() >= deadline:
                    return False
                self.changed.wait(min(0.5, max(0.01, deadline - time.monotonic())))
        return True


CREATE = """CREATE TABLE IF NOT EXISTS runbook.leases (
    run_id text PRIMARY KEY REFERENCES runbook.runs(run_id),
    engine text,
    fence bigint NOT NULL DEFAULT 0,
    lease_s double precision NOT NULL DEFAULT 30,
    lease_until timestamptz NOT NULL DEFAULT '-infinity'
)"""


def try_claim(conn: Any, run_id: str, engine: str, lease_s: float) -> Held | str:
    """Claim the run's lease (a new fence), or the name of the live engine holding it."""
    sent = time.monotonic()
    with conn.transaction():
        conn.execute(
            "INSERT INTO runbook.leases (run_id) VALUES (%s) ON CONFLICT (run_id) DO NOTHING",
            (run_id,),
        )
        row = conn.execute(
            "SELECT engine, lease_until > clock_timestamp() FROM runbook.leases "
            "WHERE run_id=%s FOR UPDATE SKIP LOCKED",
            (run_id,),
        ).fetchone()
        if row is None:
            return "another engine claiming it this very moment"
        holder, live = row
        if live and holder and holder != engine:
            return str(holder)
        fence, until = conn.execute(
            "UPDATE runbook.leases SET engine=%s, fence=fence+1, lease_s=%s, "
            "lease_until=clock_timestamp() + make_interval(secs => %s) WHERE run_id=%s "
            "RETURNING fence, to_char(lease_until AT TIME ZONE 'UTC', "
            '\'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"\')',
            (engine, lease_s, lease_s, run_id),
        ).fetchone()
    return Held(run_id, engine, int(fence), lease_s, sent, str(until))


def renew(conn: Any, held: Held) -> bool:
    """Extend the lease; False when another engine has taken it (the fence moved on).

    An expired lease nobody took is renewed: the fence did not move, so nothing anyone else
    did could be overwritten (a takeover always raises the fence).
    """
    sent = time.monotonic()
    row = conn.execute(
        "UPDATE runbook.leases SET lease_until=clock_timestamp() + make_interval(secs => %s) "
        "WHERE run_id=%s AND engine=%s AND fence=%s RETURNING fence",
        (held.lease_s, held.run_id, held.engine, held.fence),
    ).fetchone()
    with held.changed:
        if row is None:
            held.lost = True
        else:
            held.confirmed = sent
        held.changed.notify_all()
    return row is not None


def release(conn: Any, held: Held) -> None:
    """Give the lease up (Ctrl-C, the run's end): another engine may claim it at once."""
    conn.execute(
        "UPDATE runbook.leases SET engine=NULL, lease_until='-infinity' "
        "WHERE run_id=%s AND engine=%s AND fence=%s",
        (held.run_id, held.engine, held.fence),
    )


def live_holder(conn: Any, run_id: str) -> str | None:
    """The engine holding a live lease on the run, or None."""
    row = conn.execute(
        "SELECT engine FROM runbook.leases WHERE run_id=%s AND engine IS NOT NULL "
        "AND lease_until > clock_timestamp()",
        (run_id,),
    ).fetchone()
    return str(row[0]) if row else None


def current_fence(conn: Any, run_id: str) -> tuple[str | None, int]:
    """The lease row's engine and fence, read FOR SHARE inside an append's transaction."""
    row = conn.execute(
        "SELECT engine, fence FROM runbook.leases WHERE run_id=%s FOR SHARE", (run_id,)
    ).fetchone()
    return (None, 0) if row is None else (row[0], int(row[1]))


class Keeper:
    """Renews a held lease every third of its length, on a connection of its own."""

    def __init__(self, url: str, held: Held) -> None:
        self.url = url
        self.held = held
        self._stop = threading.Event()
        self._conn: Any = None
        self._thread = threading.Thread(target=self._loop, name="runbook-lease", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def _loop(self) -> None:
        import psycopg

        every = self.held.lease_s / 3
        while not self._stop.wait(every) and not self.held.lost:
            try:
                if self._conn is None or self._conn.closed:
                    self._conn = psycopg.connect(
                        self.url, autocommit=True, connect_timeout=max(2, int(every))
                    )
                renew(self._conn, self.held)
            except psycopg.Error:
                # The database is away: the holder stops starting work when its monotonic
                # clock says so; a later renewal (same fence) lets it go on.
                with contextlib.suppress(psycopg.Error):
                    if self._conn is not None:
                        self._conn.close()
                self._conn = None

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)
        if self._conn is not None:
            import psycopg

            with contextlib.suppress(psycopg.Error):
                self._conn.close()


@contextlib.contextmanager
def holding(journal: PostgresJournal, url: str, held: Held) -> Iterator[None]:
    """Renew `held` in the background and fence the journal's appends with it."""
    keeper = Keeper(url, held)
    journal.held[held.run_id] = held
    keeper.start()
    try:
        # `work_claimed` goes right after the holder's first batch (its run_started or
        # run_resumed), so that a run's chain still opens with run_started.
        yield
    finally:
        keeper.stop()
        journal.held.pop(held.run_id, None)
        if not held.lost:
            journal._retrying("release a run in", lambda conn: release(conn, held))


def claim_data(held: Held) -> dict[str, Any]:
    """`work_claimed`'s data: who holds the run now, under which fence, until when."""
    return {
        "engine": held.engine,
        "fence": held.fence,
        "lease_until": held.lease_until,
        "lease_s": held.lease_s,
        "work": "run",
    }


def journal_late(
    journal: PostgresJournal, held: Held, events: Sequence[Event], holder: tuple[Any, int]
) -> None:
    """What a fenced-out engine had to journal, kept as `late_result` (changing no state),
    then `lease_lost`; the engine's later appends are unfenced no more: it is done."""
    with held.changed:
        held.lost = True
        held.changed.notify_all()
    journal.held.pop(held.run_id, None)
    tried = [{"type": e.type, "step": e.step, "host": e.host, "data": e.data} for e in events]
    journal.append(
        held.run_id,
        "late_result",
        ts=time.time(),
        data={
            "engine": held.engine,
            "fence": held.fence,
            "steps": sorted({e.step for e in events if e.step}),
            "events": tried,
        },
    )
    journal.append(
        held.run_id,
        "lease_lost",
        ts=time.time(),
        data={"engine": held.engine, "fence": held.fence, "to": holder[0], "new_fence": holder[1]},
    )

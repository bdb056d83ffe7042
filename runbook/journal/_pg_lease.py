"""Engine leases on PostgreSQL (team mode): which engines work on a run, each fenced.

Every engine on a run (`run`, `resume`, `join`) has a row in `runbook.engines` with its
lease on the database's clock, renewed at a third of the lease from a thread of its own.
The work itself is claimed step by step, and host by host where a step's hosts are split
over the engines' reaches (runbook/journal/_pg_claims.py). An engine whose
lease expired is ended by another one (state `dead`), which then takes its unfinished
steps over; an engine that leaves (Ctrl-C, the run's end) ends its own row (`left`) and
gives its claims back.

Fencing, so that an engine that was paused, cut off or slow can never change the run:
- every event an engine appends is checked in the append's own transaction against its
  row (read FOR SHARE: a takeover's UPDATE waits for the append, and the append after it
  sees the row ended) and against the claim of each step it names: a stale one stores
  what it would have appended as one `late_result` event that changes no state, then
  `lease_lost`;
- an engine starts nothing (its commits wait) once its monotonic clock passes its last
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
        self.claims = dict(held.claims)  # each step's fence, for the late results
        self.hosts = dict(held.hosts)  # each host's claimed apart (another engine's step)


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
    fence: int  # the fence of the claim found stale, once one is
    lease_s: float
    confirmed: float  # time.monotonic() when the last successful renewal was sent
    lease_until: str
    lost: bool = False
    announced: bool = False  # `engine_joined` journaled
    claims: dict[str, int] = field(default_factory=dict)  # step -> the fence it holds it by
    hosts: dict[tuple[str, str], int] = field(default_factory=dict)  # (step, host) -> fence
    left: bool = False  # `engine_left` journaled
    per_step: bool = False  # its engine claims each step (a live run, not a rehearsal)
    reach: list[str] | None = None  # join --limit: the hosts it claims work on
    no_local: bool = False  # join --no-local
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


CREATE = """CREATE TABLE IF NOT EXISTS runbook.engines (
    run_id text NOT NULL REFERENCES runbook.runs(run_id),
    engine text NOT NULL,
    state text NOT NULL DEFAULT 'live',
    lease_s double precision NOT NULL DEFAULT 30,
    lease_until timestamptz NOT NULL DEFAULT '-infinity',
    ended_by text,
    PRIMARY KEY (run_id, engine)
)"""

ISO_UNTIL = "to_char(lease_until AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')"


# An engine counts as live while its row says so and its lease stands (database clock).
LIVE = "state = 'live' AND lease_until > clock_timestamp()"


def register(conn: Any, run_id: str, engine: str, lease_s: float, alone: bool) -> Held | str:
    """Put the engine on the run (a live row with its lease), or the name of a live engine
    that already works on it when `alone` (run, resume: one engine takes a whole run).

    Under the run's row lock, as appends take it: a registration and a takeover never
    cross. `alone` also ends the rows of engines whose lease expired (they died): were
    they only frozen, their next append finds itself fenced out.
    """
    sent = time.monotonic()
    with conn.transaction():
        conn.execute("SELECT 1 FROM runbook.runs WHERE run_id=%s FOR UPDATE", (run_id,))
        if alone:
            row = conn.execute(
                f"SELECT engine FROM runbook.engines WHERE run_id=%s AND {LIVE} "
                "AND engine <> %s ORDER BY engine LIMIT 1",
                (run_id, engine),
            ).fetchone()
            if row is not None:
                return str(row[0])
            conn.execute(
                "UPDATE runbook.engines SET state='dead', ended_by=%s "
                "WHERE run_id=%s AND state='live'",
                (engine, run_id),
            )
        (until,) = conn.execute(
            "INSERT INTO runbook.engines (run_id, engine, lease_s, lease_until) "
            "VALUES (%s, %s, %s, clock_timestamp() + make_interval(secs => %s)) "
            "ON CONFLICT (run_id, engine) DO UPDATE SET state='live', "
            "lease_until=EXCLUDED.lease_until RETURNING " + ISO_UNTIL,
            (run_id, engine, lease_s, lease_s),
        ).fetchone()
    return Held(run_id, engine, 0, lease_s, sent, str(until))


def renew(conn: Any, held: Held) -> bool:
    """Extend the lease; False when another engine ended it (it took this one's work over).

    An expired lease nobody ended is renewed: nobody took its work, so nothing anyone
    else did could be overwritten (a takeover always ends the row first).
    """
    sent = time.monotonic()
    row = conn.execute(
        "UPDATE runbook.engines SET lease_until=clock_timestamp() + make_interval(secs => %s) "
        "WHERE run_id=%s AND engine=%s AND state='live' RETURNING " + ISO_UNTIL,
        (held.lease_s, held.run_id, held.engine),
    ).fetchone()
    with held.changed:
        if row is None:
            held.lost = True
        else:
            held.confirmed = sent
            held.lease_until = str(row[0])
        held.changed.notify_all()
    return row is not None


def release(conn: Any, held: Held) -> None:
    """Leave the run (Ctrl-C, the run's end): the row ends and the claims are given back,
    so another engine takes the unfinished ones over at once."""
    with conn.transaction():
        conn.execute(
            "UPDATE runbook.engines SET state='left', lease_until=clock_timestamp() "
            "WHERE run_id=%s AND engine=%s AND state='live'",
            (held.run_id, held.engine),
        )
        conn.execute(
            "UPDATE runbook.claims SET engine=NULL WHERE run_id=%s AND engine=%s",
            (held.run_id, held.engine),
        )


def live_engines(conn: Any, run_id: str) -> list[str]:
    """The engines working on the run now, by id."""
    rows = conn.execute(
        f"SELECT engine FROM runbook.engines WHERE run_id=%s AND {LIVE} ORDER BY engine",
        (run_id,),
    ).fetchall()
    return [str(r[0]) for r in rows]


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
        # `engine_joined` goes right after the engine's first batch (its run_started or
        # run_resumed), so that a run's chain still opens with run_started.
        yield
    finally:
        keeper.stop()
        journal.held.pop(held.run_id, None)
        if not held.lost:
            if not held.left:
                with contextlib.suppress(JournalError):
                    journal.append(held.run_id, "engine_left", ts=time.time(),
                                   data={"engine": held.engine})  # fmt: skip
                held.left = True
            journal._retrying("release a run in", lambda conn: release(conn, held))


def joined_data(held: Held) -> dict[str, Any]:
    """`engine_joined`'s data: the engine, its lease and where it runs."""
    return {
        "engine": held.engine,
        "lease_until": held.lease_until,
        "lease_s": held.lease_s,
        "host": socket.gethostname(),
        **({"reach": sorted(held.reach)} if held.reach is not None else {}),
        **({"no_local": True} if held.no_local else {}),
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

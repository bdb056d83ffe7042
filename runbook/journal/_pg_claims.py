"""Work claimed step by step on PostgreSQL (team mode), and the fence on every append.

`runbook.claims` has one row per (run, step): the engine that claimed the step last and
the step's fence, raised by every claim. A claim is one transaction, under the run's row
lock as an append takes it: the claim row is locked `FOR UPDATE SKIP LOCKED` (an engine
never waits on another's claim: it looks again later), the step must have no event the
claimant has not folded yet (its view of the step is the journal's), and the claim is
journaled as `work_claimed` (`engine`, `fence`, `lease_until`) in the same transaction.
A step in flight is taken over only from an engine that is no longer live (it left or
its lease expired and another engine ended it): the same transaction, `from` named.

Every event an engine appends about a step it works on carries that step's fence: the
append's transaction reads the claim row FOR SHARE and refuses (runbook/journal/
_pg_chain.py `Stale`) a claim that moved on, and the engine's own row once it is ended.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from runbook.journal._pg_chain import Stale
from runbook.journal._pg_lease import LIVE

if TYPE_CHECKING:
    from runbook.events import Event
    from runbook.journal._pg_lease import Held

CREATE = """CREATE TABLE IF NOT EXISTS runbook.claims (
    run_id text NOT NULL REFERENCES runbook.runs(run_id),
    step text NOT NULL,
    host text NOT NULL DEFAULT '',
    engine text,
    fence bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (run_id, step, host)
)"""
# Schema 3: a step's hosts are claimed one by one too (host '' is the step's own row).
MIGRATE = (
    "ALTER TABLE runbook.claims ADD COLUMN IF NOT EXISTS host text NOT NULL DEFAULT ''",
    "ALTER TABLE runbook.claims DROP CONSTRAINT IF EXISTS claims_pkey",
    "ALTER TABLE runbook.claims ADD PRIMARY KEY (run_id, step, host)",
)

# What an engine journals about a step it claimed: its results. Skips and blocks are
# journaled by whoever decides them (an operator, the engine whose step failed).
CLAIMED_TYPES = frozenset(
    {
        "step_started",
        "host_started",
        "host_output",
        "host_succeeded",
        "host_failed",
        "host_not_started",
        "host_cancelled",
        "step_retrying",
        "step_succeeded",
        "step_failed",
        "manual_waiting",
        "host_offered",
    }
)


class Refused(Exception):
    """Raised inside a claim's transaction (it rolls back): why the step is not ours."""

    def __init__(self, why: str) -> None:
        super().__init__(why)
        self.why = why


def claim_row(
    conn: Any, run_id: str, step: str, engine: str, seen: int, takeover: bool, host: str = ""
) -> int:
    """Claim `step` (or, with `host`, that host of it) for `engine` under the run's lock:
    its new fence, or Refused.

    `seen`: the last seq the engine folded. `takeover`: the work is in flight; only an
    engine that is no longer live may lose it. A host is claimed only while the step's
    claimant, who offered it, is live, and only with no news about the host or the step
    itself (a step-level event: the attempt ended, the step was taken over) after `seen`.
    """
    conn.execute(
        "INSERT INTO runbook.claims (run_id, step, host) VALUES (%s, %s, %s) "
        "ON CONFLICT DO NOTHING",
        (run_id, step, host),
    )
    row = conn.execute(
        "SELECT c.engine, e.state, e.lease_until > clock_timestamp() FROM runbook.claims c "
        "LEFT JOIN runbook.engines e ON e.run_id = c.run_id AND e.engine = c.engine "
        "WHERE c.run_id=%s AND c.step=%s AND c.host=%s FOR UPDATE OF c SKIP LOCKED",
        (run_id, step, host),
    ).fetchone()
    if row is None:
        raise Refused("busy")  # another engine claims it this very moment
    if host:
        newer = conn.execute(
            "SELECT 1 FROM runbook.events WHERE run_id=%s AND seq>%s AND step=%s "
            "AND (host=%s OR host IS NULL) LIMIT 1",
            (run_id, seen, step, host),
        ).fetchone()
        owner = conn.execute(
            "SELECT 1 FROM runbook.claims c JOIN runbook.engines e ON e.run_id = c.run_id "
            f"AND e.engine = c.engine WHERE c.run_id=%s AND c.step=%s AND c.host='' AND {LIVE}",
            (run_id, step),
        ).fetchone()
        if owner is None:
            raise Refused("stale")  # its claimant is gone: the step is taken over first
    else:
        newer = conn.execute(
            "SELECT 1 FROM runbook.events WHERE run_id=%s AND seq>%s AND step=%s LIMIT 1",
            (run_id, seen, step),
        ).fetchone()
    if newer is not None:
        raise Refused("stale")  # the engine folds what it has not seen, then looks again
    holder, state, unexpired = row
    if takeover and holder not in (None, engine) and state == "live" and unexpired:
        raise Refused(str(holder))
    (fence,) = conn.execute(
        "UPDATE runbook.claims SET engine=%s, fence=fence+1 WHERE run_id=%s AND step=%s "
        "AND host=%s RETURNING fence",
        (engine, run_id, step, host),
    ).fetchone()
    return int(fence)


def end_expired(conn: Any, run_id: str, engine: str) -> list[str]:
    """End the rows of engines whose lease expired (they are dead, or frozen: fenced
    out from now on); the engines ended, for `engine_left`."""
    rows = conn.execute(
        "UPDATE runbook.engines SET state='dead', ended_by=%s WHERE run_id=%s "
        "AND state='live' AND lease_until <= clock_timestamp() AND engine <> %s "
        "RETURNING engine",
        (engine, run_id, engine),
    ).fetchall()
    return sorted(str(r[0]) for r in rows)


def check_fence(conn: Any, run_id: str, held: Held, events: Sequence[Event]) -> None:
    """Raise Stale unless the engine is live and holds the work its events report on: the
    host's claim for a host it claimed (another engine's step), else the step's."""
    row = conn.execute(
        "SELECT state, ended_by FROM runbook.engines WHERE run_id=%s AND engine=%s FOR SHARE",
        (run_id, held.engine),
    ).fetchone()
    keys = sorted(
        {
            (e.step, e.host if (e.step, e.host or "") in held.hosts else "")
            for e in events
            if e.step and e.type in CLAIMED_TYPES
        },
        key=lambda k: (k[0], k[1] or ""),
    )
    if keys and held.per_step:
        rows = conn.execute(
            "SELECT step, host, engine, fence FROM runbook.claims WHERE run_id=%s "
            "AND step = ANY(%s) FOR SHARE",
            (run_id, sorted({k[0] for k in keys})),
        ).fetchall()
        found = {(str(r[0]), str(r[1])): (r[2], int(r[3])) for r in rows}
        for step, host in keys:
            key = (step, host or "")
            mine = held.hosts.get(key) if host else held.claims.get(step)
            now = found.get(key, (None, 0))
            held.fence = mine or 0  # the fence its late results name
            if mine is None or now != (held.engine, mine):
                raise Stale(now)
    if row is None or row[0] != "live":  # ended by another engine: its work is theirs
        raise Stale((row[1] if row else None, 0))


def claim_data(
    held: Held, step: str, fence: int, source: str | None, host: str = ""
) -> dict[str, Any]:
    """`work_claimed`'s data: who works on the step (or host) now, under which fence, until
    when."""
    data: dict[str, Any] = {
        "engine": held.engine,
        "fence": fence,
        "lease_until": held.lease_until,
        "lease_s": held.lease_s,
        "work": "host" if host else "step",
    }
    if source is not None:
        data["from"] = source
    return data

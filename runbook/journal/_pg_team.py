"""The PostgreSQL journal's team-mode calls: engines on a run, their leases, step claims.

A mixin of `PostgresJournal` (runbook/journal/_pg_store.py), which keeps the appends;
the SQL lives in _pg_lease.py (engines) and _pg_claims.py (steps and hosts).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from typing import Any

from runbook.errors import RunLocked
from runbook.events import Event
from runbook.journal import _pg_claims as claims, _pg_lease as lease
from runbook.journal._rows import _chained

Build = Callable[[Any, int, float, str, float], list[Event]]


class TeamCalls:
    """Engines, leases and claims; `self` is a PostgresJournal."""

    url: str
    engine: str
    lease_s: float
    held: dict[str, lease.Held]

    _retrying: Callable[[str, Callable[[Any], Any]], Any]
    _write: Callable[[str, Build], list[Event]]
    append: Callable[..., Event]

    def try_claim(self, run_id: str, alone: bool = True) -> lease.Held | str:
        """Put this engine on the run now, or (alone) the name of a live engine on it."""
        got: lease.Held | str = self._retrying(
            "claim a run in",
            lambda conn: lease.register(conn, run_id, self.engine, self.lease_s, alone),
        )
        return got

    def holding(self, held: lease.Held) -> contextlib.AbstractContextManager[None]:
        """Work under a lease: renewed in the background, fenced on every append."""
        return lease.holding(self, self.url, held)  # type: ignore[arg-type]

    def announce(self, held: lease.Held) -> None:
        """Journal `engine_joined` for an engine that joins a run others work on."""
        append: Any = self.append
        append(held.run_id, "engine_joined", ts=time.time(), data=lease.joined_data(held))

    def release(self, held: lease.Held) -> None:
        """Leave the run: the engine's row ends and its claims are given back."""
        self._retrying("release a run in", lambda conn: lease.release(conn, held))

    @contextlib.contextmanager
    def engine_lock(self, run_id: str) -> Iterator[None]:
        """Work alone on the run for the whole block; RunLocked names a live engine."""
        got = self.try_claim(run_id)
        if isinstance(got, str):
            raise RunLocked(
                f"run {run_id} is held by engine {got}; to work on it from here too: "
                f"runbook join {run_id}"
            )
        with self.holding(got):
            yield

    def is_engine_live(self, run_id: str) -> bool:
        """Whether an engine works on the run now (its last renewal stands)."""
        return bool(self.live_engines(run_id))

    def live_engines(self, run_id: str) -> list[str]:
        """The engines working on the run now, by id."""
        got: list[str] = self._retrying("read", lambda conn: lease.live_engines(conn, run_id))
        return got

    def claim_step(
        self,
        run_id: str,
        step: str,
        seen: int,
        source: str | None = None,
        extra: dict[str, Any] | None = None,
        host: str = "",
    ) -> int | str:
        """Claim `step` (with `host`: that host of another engine's step; taking it over
        from `source`, an engine gone): its fence, or why not ("stale": fold the journal
        and look again; "busy"; a live claimant's id)."""
        held = self.held[run_id]

        def build(conn: Any, seq: int, last_ts: float, prev: str, now: float) -> list[Event]:
            fence = claims.claim_row(
                conn, run_id, step, held.engine, seen, source is not None, host
            )
            if host:
                held.hosts[(step, host)] = fence
            else:
                held.claims[step] = fence
            at = max(now if now >= 0 else time.time(), last_ts)
            data = {**claims.claim_data(held, step, fence, source, host), **(extra or {})}
            where = host or None
            return [_chained(run_id, seq + 1, at, "work_claimed", step, where, data, prev)]

        try:
            self._write(run_id, build)
        except claims.Refused as refused:
            return refused.why
        return held.hosts[(step, host)] if host else held.claims[step]

    def leave(self, run_id: str, left: dict[str, Any], interrupted: dict[str, Any]) -> list[Event]:
        """Ctrl-C: end this engine's row and give its claims back, and journal, in the
        same transaction under the run's lock, `engine_left` (`left`) while another
        engine is live, else `run_interrupted` (`interrupted`) then `engine_left`: of
        engines interrupted at the same instant, exactly the last one writes it."""
        held = self.held.pop(run_id, None)  # no fence: the engine's row is checked below
        if held is None:
            return []  # its lease was lost: it is no longer on the run
        me = held.engine

        def build(conn: Any, seq: int, last_ts: float, prev: str, now: float) -> list[Event]:
            row = conn.execute(
                "SELECT state FROM runbook.engines WHERE run_id=%s AND engine=%s FOR UPDATE",
                (run_id, me),
            ).fetchone()
            if row is None or row[0] != "live":
                raise claims.Refused("ended")  # another engine ended it: nothing to leave
            other = conn.execute(
                f"SELECT 1 FROM runbook.engines WHERE run_id=%s AND {lease.LIVE} "
                "AND engine <> %s LIMIT 1",
                (run_id, me),
            ).fetchone()
            lease.release(conn, held)
            at = max(now if now >= 0 else time.time(), last_ts)
            if other is not None:
                return [_chained(run_id, seq + 1, at, "engine_left", None, None, left, prev)]
            end = _chained(run_id, seq + 1, at, "run_interrupted", None, None, interrupted, prev)
            data = {"engine": me}
            return [end, _chained(run_id, seq + 2, at, "engine_left", None, None, data, end.hash)]

        try:
            return self._write(run_id, build)
        except claims.Refused:
            return []
        finally:
            held.left = True  # journaled here: the lease's end adds no second one
            self.held[run_id] = held

    def end_expired(self, run_id: str) -> list[str]:
        """End the engines whose lease expired, each journaled `engine_left` (in the same
        transaction): their unfinished steps may then be taken over."""
        me = self.engine

        def build(conn: Any, seq: int, last_ts: float, prev: str, now: float) -> list[Event]:
            ended = claims.end_expired(conn, run_id, me)
            if not ended:
                raise claims.Refused("none")
            at = max(now if now >= 0 else time.time(), last_ts)
            out = []
            for engine in ended:
                data = {"engine": engine, "reason": "lease expired", "ended_by": me}
                out.append(_chained(run_id, seq + 1, at, "engine_left", None, None, data, prev))
                seq, prev = seq + 1, out[-1].hash
            return out

        rows = self._retrying(
            "read",
            lambda conn: conn.execute(
                f"SELECT 1 FROM runbook.engines WHERE run_id=%s AND state='live' "
                f"AND NOT ({lease.LIVE}) AND engine <> %s LIMIT 1",
                (run_id, me),
            ).fetchall(),
        )
        if not rows:
            return []
        try:
            return [str(e.data["engine"]) for e in self._write(run_id, build)]
        except claims.Refused:
            return []

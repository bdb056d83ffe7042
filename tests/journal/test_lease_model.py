"""The claim / renew / complete / takeover protocol, checked in every interleaving of two
engines on the real PostgreSQL journal (an exhaustive-interleaving test, as PrefectHQ does
for its leases).

Each operation is one of the real transactions (`try_claim`, `renew`, a fenced append),
so interleaving them whole is exactly what concurrency can do to them; time passing is a
lease pushed into the past on the database clock. In every order: a non-idempotent step's
command is started at most once, it succeeds at most once, a fenced-out engine's result
is a `late_result`, and the chain verifies.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
from journal_helpers import T0, plan, plan_step, start_run

from runbook.events import fold
from runbook.journal._chain import verify_chain
from runbook.journal._pg_lease import Held, LeaseLost, renew
from runbook.journal._pg_store import PostgresJournal

ENGINE_OPS = ("claim", "start", "renew", "complete")


@dataclass
class Engine:
    """One engine's view: the lease it believes it holds, a command it believes runs."""

    journal: PostgresJournal
    held: Held | None = None
    running: bool = False
    lost: bool = False
    log: list[str] = field(default_factory=list)


def _schedules() -> Iterator[tuple[str, ...]]:
    """Every interleaving of A's and B's operations, with the lease expiring at any point."""
    a = [f"A.{op}" for op in ENGINE_OPS]
    b = [f"B.{op}" for op in ENGINE_OPS]
    n = len(a) + len(b)
    for a_slots in itertools.combinations(range(n), len(a)):
        merged, ai, bi = [], iter(a), iter(b)
        for i in range(n):
            merged.append(next(ai) if i in a_slots else next(bi))
        for expire_at in range(n + 1):
            yield (*merged[:expire_at], "expire", *merged[expire_at:])


def _fenced(engine: Engine, run_id: str, type_: str) -> bool:
    try:
        engine.journal.append(run_id, type_, ts=T0, step="write")
    except LeaseLost:
        engine.lost = True
        engine.held = None
        return False
    return True


def _do(op: str, engines: dict[str, Engine], run_id: str, runs: list[str]) -> None:
    if op == "expire":
        engines["A"].journal._retrying(
            "write",
            lambda conn: conn.execute(
                "UPDATE runbook.leases SET lease_until = clock_timestamp() - interval '1 second' "
                "WHERE run_id=%s",
                (run_id,),
            ),
        )
        return
    name, action = op.split(".")
    e = engines[name]
    j = e.journal
    if e.lost:
        return  # it exited
    if action == "claim" and e.held is None:
        got = j.try_claim(run_id)
        if isinstance(got, str):
            return
        got.announced = True
        e.held = got
        j.held[run_id] = got
        step = fold(j.events(run_id)).steps["write"]
        if step.status == "running":  # in flight under the old fence: not idempotent
            _fenced(e, run_id, "step_failed")  # "needs an operator decision"
    elif action == "start" and e.held is not None and not e.running:
        if fold(j.events(run_id)).steps["write"].status == "pending" and _fenced(
            e, run_id, "step_started"
        ):
            e.running = True
            runs.append(name)  # the command really starts only after its event is stored
    elif action == "renew" and e.held is not None:
        j._retrying("write", lambda conn: renew(conn, e.held))
        if e.held.lost:
            e.held.lost = False  # the next append finds the stale fence itself
    elif action == "complete" and e.running:
        e.running = False
        _fenced(e, run_id, "step_succeeded")


@pytest.fixture
def engines(pg_url: str) -> Iterator[dict[str, Engine]]:
    pair = {name: Engine(PostgresJournal(pg_url)) for name in "AB"}
    yield pair
    for e in pair.values():
        e.journal.close()


def test_every_interleaving_of_two_engines_keeps_one_outcome(
    engines: dict[str, Engine],
) -> None:
    a, b = engines["A"].journal, engines["B"].journal
    checked = 0
    for schedule in _schedules():
        for e in engines.values():
            e.held, e.running, e.lost = None, False, False
            e.journal.held.clear()
        run_id = start_run(a, plan(plan_step("write", kind="local")))
        runs: list[str] = []
        for op in schedule:
            _do(op, engines, run_id, runs)
            for e in engines.values():
                if e.held is not None:
                    e.held.confirmed = time.monotonic()  # time is `expire`'s, not the host's
        events = b.events(run_id)
        types = [ev.type for ev in events]
        where = f"schedule {' '.join(schedule)}: {types}"
        assert len(runs) <= 1, where  # the command started at most once, ever
        assert types.count("step_succeeded") <= 1, where
        if "step_succeeded" in types:  # by the engine that started it, under its fence
            assert types.index("step_started") < types.index("step_succeeded"), where
            assert "step_failed" not in types[types.index("step_started") :], where
        for late in (ev for ev in events if ev.type == "late_result"):
            assert late.data["fence"] < max(
                (ev.data["new_fence"] for ev in events if ev.type == "lease_lost"), default=99
            ), where
        assert verify_chain(events).ok, where
        checked += 1
    assert checked == 70 * 9  # C(8,4) interleavings × 9 places for the lease to expire

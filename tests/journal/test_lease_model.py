"""The engine lease / step claim / fence protocol, checked in every interleaving of two
live engines on the real PostgreSQL journal (an exhaustive-interleaving test, as PrefectHQ
does for its leases).

Each operation is one of the real transactions (`claim_step`, `renew`, `end_expired`, a
fenced append), so interleaving them whole is exactly what concurrency can do to them;
time passing is a lease pushed into the past on the database clock. Each engine acts on
its own view of the journal, read after its previous operation (so it may be behind,
as a real engine's fold is). In every order: a non-idempotent step's command is started
at most once, it succeeds at most once, a taken-over step in flight is handed to an
operator (never re-run), a fenced-out engine's result is a `late_result`, and the chain
verifies.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
from journal_helpers import T0, plan, plan_step, start_run

from runbook.events import Event, fold
from runbook.journal._chain import verify_chain
from runbook.journal._pg_lease import Held, LeaseLost, renew
from runbook.journal._pg_store import PostgresJournal

# `renew` is the engine's periodic look at the others too: it ends an expired engine.
ENGINE_OPS = ("renew", "claim", "start", "complete")


@dataclass
class Engine:
    """One engine: its lease, the journal as it last read it, a command it believes runs."""

    journal: PostgresJournal
    held: Held | None = None
    view: list[Event] = field(default_factory=list)
    running: bool = False
    lost: bool = False


def _schedules() -> Iterator[tuple[str, ...]]:
    """Every interleaving of A's and B's operations, with A's lease expiring anywhere."""
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
        return False
    return True


def _claim(e: Engine, run_id: str) -> None:
    """Claim the step as the engine's view shows it: ready, or in flight on an engine
    that is gone (a takeover)."""
    j = e.journal
    view = fold(e.view)
    seen = e.view[-1].seq if e.view else 0
    step = view.steps["write"]
    claims = [ev for ev in e.view if ev.type == "work_claimed"]
    gone = {ev.data["engine"] for ev in e.view if ev.type == "engine_left"}
    holder = claims[-1].data["engine"] if claims else None
    try:
        if step.status == "pending":
            j.claim_step(run_id, "write", seen)
        elif step.status == "running" and holder in gone:
            got = j.claim_step(run_id, "write", seen, source=holder)
            if isinstance(got, int):  # in flight under the old claim, not idempotent:
                _fenced(e, run_id, "step_failed")  # an operator decides
    except LeaseLost:  # this engine was ended: it claims nothing more
        e.lost = True


def _do(op: str, engines: dict[str, Engine], run_id: str, runs: list[str]) -> None:
    if op == "expire":
        engines["A"].journal._retrying(
            "write",
            lambda conn: conn.execute(
                "UPDATE runbook.engines SET lease_until = clock_timestamp() - interval '1 s' "
                "WHERE run_id=%s AND engine=%s",
                (run_id, engines["A"].journal.engine),
            ),
        )
        return
    name, action = op.split(".")
    e = engines[name]
    j = e.journal
    if e.lost or e.held is None:
        return  # it exited
    if action == "claim":
        _claim(e, run_id)
    elif action == "start" and "write" in e.held.claims and not e.running:
        if fold(e.view).steps["write"].status == "pending" and _fenced(e, run_id, "step_started"):
            e.running = True
            runs.append(name)  # the command really starts only after its event is stored
    elif action == "renew":
        j._retrying("write", lambda conn: renew(conn, e.held))
        j.end_expired(run_id)
        e.held.lost = False  # the next append finds the ended row itself
    elif action == "complete" and e.running:
        e.running = False
        _fenced(e, run_id, "step_succeeded")
    e.view = j.events(run_id)


def _engines(pg_url: str, names: str) -> Iterator[dict[str, Engine]]:
    """One model engine, with its own journal connection, per letter of `names`."""
    by_name = {name: Engine(PostgresJournal(pg_url)) for name in names}
    yield by_name
    for e in by_name.values():
        e.journal.close()


@pytest.fixture
def engines(pg_url: str) -> Iterator[dict[str, Engine]]:
    yield from _engines(pg_url, "AB")


def test_every_interleaving_of_two_engines_keeps_one_outcome(
    engines: dict[str, Engine],
) -> None:
    a = engines["A"].journal
    checked = took_over = 0
    for schedule in _schedules():
        run_id = start_run(a, plan(plan_step("write", kind="local")))
        for e in engines.values():
            e.journal.held.clear()
            got = e.journal.try_claim(run_id, alone=False)
            assert not isinstance(got, str)
            got.announced = got.per_step = True
            e.held, e.running, e.lost = got, False, False
            e.journal.held[run_id] = got
            e.view = e.journal.events(run_id)
        runs: list[str] = []
        for op in schedule:
            _do(op, engines, run_id, runs)
            for e in engines.values():
                if e.held is not None:
                    e.held.confirmed = time.monotonic()  # time is `expire`'s, not the host's
        events = a.events(run_id)
        types = [ev.type for ev in events]
        where = f"schedule {' '.join(schedule)}: {types}"
        assert len(runs) <= 1, where  # the command started at most once, ever
        assert types.count("step_succeeded") <= 1, where
        if "step_succeeded" in types:  # by the engine that started it, under its fence
            assert types.index("step_started") < types.index("step_succeeded"), where
            assert "step_failed" not in types[types.index("step_started") :], where
        for i, late in enumerate(events):
            if late.type != "late_result":
                continue
            # fenced out: its claim moved on, or its engine was ended before it wrote
            lost = events[i + 1].data
            ended = any(
                ev.type == "engine_left" and ev.data["engine"] == late.data["engine"]
                for ev in events[:i]
            )
            assert lost["fence"] < lost["new_fence"] or ended, where
        assert verify_chain(events).ok, where
        checked += 1
        took_over += any(ev.data.get("from") for ev in events if ev.type == "work_claimed")
    assert took_over > 0  # the schedules reach takeovers, not only clean runs
    assert checked == 70 * 9  # C(8,4) interleavings × 9 places for the lease to expire


# -- hosts: a host of another engine's step, claimed on its own (docs/team-mode.md) -------

HOST_OPS = {"B": ("claim", "start", "complete"), "C": ("renew", "claim", "run")}


def _host_schedules() -> Iterator[tuple[str, ...]]:
    """Every interleaving of B's and C's host operations, with B's lease expiring
    anywhere: C(6,3) × 7 = 140."""
    b = [f"B.{op}" for op in HOST_OPS["B"]]
    c = [f"C.{op}" for op in HOST_OPS["C"]]
    n = len(b) + len(c)
    for b_slots in itertools.combinations(range(n), len(b)):
        merged, bi, ci = [], iter(b), iter(c)
        for i in range(n):
            merged.append(next(bi) if i in b_slots else next(ci))
        for expire_at in range(n + 1):
            yield (*merged[:expire_at], "expire", *merged[expire_at:])


def _host_view(e: Engine) -> tuple[str, str | None, set[str]]:
    """The host as the engine last read it: its status, who claimed it last, who is gone."""
    hs = fold(e.view).steps["both"].host_states.get("h")
    claims = [ev for ev in e.view if ev.type == "work_claimed" and ev.host == "h"]
    gone = {ev.data["engine"] for ev in e.view if ev.type == "engine_left"}
    return (hs.status if hs else "pending"), (claims[-1].data["engine"] if claims else None), gone


def _host_event(e: Engine, run_id: str, type_: str, **data: object) -> bool:
    try:
        e.journal.append(run_id, type_, ts=T0, step="both", host="h", data={"attempt": 1, **data})
    except LeaseLost:
        e.lost = True
        return False
    return True


def _host_op(op: str, engines: dict[str, Engine], run_id: str, runs: list[str]) -> None:
    if op == "expire":
        engines["B"].journal._retrying(
            "write",
            lambda conn: conn.execute(
                "UPDATE runbook.engines SET lease_until = clock_timestamp() - interval '1 s' "
                "WHERE run_id=%s AND engine=%s",
                (run_id, engines["B"].journal.engine),
            ),
        )
        return
    name, action = op.split(".")
    e = engines[name]
    j = e.journal
    if e.lost or e.held is None:
        return
    status, holder, gone = _host_view(e)
    seen = e.view[-1].seq
    holds = ("both", "h") in e.held.hosts
    try:
        if action == "claim" and holder is None:
            j.claim_step(run_id, "both", seen, extra={"attempt": 1}, host="h")
        elif action == "claim" and holder in gone and holder != j.engine and status != "succeeded":
            got = j.claim_step(run_id, "both", seen, source=holder, host="h")
            if isinstance(got, int) and status == "running":  # `run` in flight, not
                _host_event(e, run_id, "host_failed", reason="uncertain")  # idempotent
        elif action == "start" and holds and status == "pending" and not e.running:
            if _host_event(e, run_id, "host_started", action="run"):
                e.running = True
                runs.append(name)
        elif action == "complete" and e.running:
            e.running = False
            _host_event(e, run_id, "host_succeeded")
        elif action == "run" and holds and status == "pending":
            if _host_event(e, run_id, "host_started", action="run"):
                runs.append(name)
                _host_event(e, run_id, "host_succeeded")
        elif action == "renew":
            j._retrying("write", lambda conn: renew(conn, e.held))
            j.end_expired(run_id)
            e.held.lost = False
    except LeaseLost:
        e.lost = True
    e.view = j.events(run_id)


@pytest.fixture
def three(pg_url: str) -> Iterator[dict[str, Engine]]:
    yield from _engines(pg_url, "KBC")


def test_every_interleaving_of_two_engines_on_an_offered_host_keeps_one_outcome(
    three: dict[str, Engine],
) -> None:
    k = three["K"].journal
    checked = took_over = 0
    for schedule in _host_schedules():
        run_id = start_run(k, plan(plan_step("both", hosts=("h",))))
        for e in three.values():
            e.journal.held.clear()
            got = e.journal.try_claim(run_id, alone=False)
            assert not isinstance(got, str)
            got.announced = got.per_step = True
            e.held, e.running, e.lost = got, False, False
            e.journal.held[run_id] = got
        # K claims the step and cannot reach h: it offers it (B and C both reach it).
        assert isinstance(k.claim_step(run_id, "both", k.events(run_id)[-1].seq), int)
        k.append(run_id, "step_started", ts=T0, step="both", data={"attempt": 1})
        k.append(run_id, "host_offered", ts=T0, step="both", host="h", data={"attempt": 1})
        for e in three.values():
            e.view = e.journal.events(run_id)
        runs: list[str] = []
        for op in schedule:
            _host_op(op, three, run_id, runs)
            for e in three.values():
                if e.held is not None:
                    e.held.confirmed = time.monotonic()
        events = k.events(run_id)
        ends = [
            ev for ev in events if ev.host == "h" and ev.type in ("host_succeeded", "host_failed")
        ]
        where = f"schedule {' '.join(schedule)}: {[ev.type for ev in events]}"
        assert len(runs) <= 1, where  # the host's command started at most once, ever
        assert len(ends) <= 1, where  # one outcome for the host
        if ends and ends[0].type == "host_failed":  # taken over in flight: an operator
            assert runs == ["B"], where
        for i, late in enumerate(events):
            if late.type == "late_result":
                lost = events[i + 1].data
                ended = any(
                    ev.type == "engine_left" and ev.data["engine"] == late.data["engine"]
                    for ev in events[:i]
                )
                assert lost["fence"] < lost["new_fence"] or ended, where
        assert verify_chain(events).ok, where
        checked += 1
        took_over += any(ev.data.get("from") for ev in events if ev.type == "work_claimed")
    assert took_over > 0
    assert checked == 20 * 7


def test_engines_interrupted_at_the_same_instant_end_the_run_once(
    engines: dict[str, Engine],
) -> None:
    """Ctrl-C on both at once: the leave and its "am I the last?" are one transaction
    under the run's lock, so exactly one writes `run_interrupted`."""
    a = engines["A"].journal
    for _ in range(10):
        run_id = start_run(a, plan(plan_step("write", kind="local")))
        for e in engines.values():
            e.journal.held.clear()
            got = e.journal.try_claim(run_id, alone=False)
            assert not isinstance(got, str)
            got.announced = got.per_step = True
            e.journal.held[run_id] = got
        barrier = threading.Barrier(2)

        def leave(e: Engine, rid: str = run_id, b: threading.Barrier = barrier) -> None:
            b.wait()
            e.journal.leave(rid, {"engine": e.journal.engine, "reason": "SIGINT"}, {})

        threads = [threading.Thread(target=leave, args=(e,)) for e in engines.values()]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        events = a.events(run_id)
        types = [ev.type for ev in events]
        assert types.count("run_interrupted") == 1, types
        assert types[-3:-1] == ["engine_left", "run_interrupted"], types  # the last one
        assert sorted(ev.data["engine"] for ev in events if ev.type == "engine_left") == sorted(
            e.journal.engine for e in engines.values()
        )
        assert not a.live_engines(run_id)
        assert verify_chain(events).ok

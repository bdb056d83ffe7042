"""The connection pool: one connection per key, opened once, warmed ahead of use."""

from __future__ import annotations

import threading

import pytest

from runbook.executors.ssh._pool import ConnectionPool


class Conn:
    def __init__(self, key: str) -> None:
        self.key = key
        self.open = True


def make_pool(
    opened: list[str],
    gate: threading.Event | None = None,
    fail: set[str] | None = None,
    closed: threading.Event | None = None,
) -> ConnectionPool[str, Conn]:
    def opener(key: str) -> Conn:
        if gate is not None:
            gate.wait(10)
        opened.append(key)
        if fail and key in fail:
            raise ConnectionRefusedError(f"{key} refused")
        return Conn(key)

    def closer(conn: Conn) -> None:
        conn.open = False
        if closed is not None:
            closed.set()

    return ConnectionPool(opener, lambda c: c.open, closer)


def test_get_reuses_the_live_connection_and_reopens_a_dead_one() -> None:
    opened: list[str] = []
    pool = make_pool(opened)
    first = pool.get("a")
    assert pool.get("a") is first
    first.open = False
    assert pool.get("a") is not first
    assert opened == ["a", "a"]


def test_a_get_during_a_warm_up_waits_for_it_and_takes_its_connection() -> None:
    opened: list[str] = []
    gate = threading.Event()
    pool = make_pool(opened, gate)
    pool.warm("a")
    pool.warm("a")  # already being opened: no second connection
    got: list[Conn] = []
    getter = threading.Thread(target=lambda: got.append(pool.get("a")))
    getter.start()
    gate.set()
    getter.join(10)
    assert [c.key for c in got] == ["a"] and got[0].open
    assert opened == ["a"]
    assert pool.get("a") is got[0]


def test_a_failed_warm_up_is_raised_by_the_next_get_only() -> None:
    opened: list[str] = []
    pool = make_pool(opened, fail={"a"})
    pool.warm("a")
    with pytest.raises(ConnectionRefusedError, match="a refused"):
        pool.get("a")  # the warm-up's own error: the host is not dialled twice
    assert opened == ["a"]
    with pytest.raises(ConnectionRefusedError):
        pool.get("a")  # a fresh attempt
    assert opened == ["a", "a"]


def test_a_warm_up_finishing_after_close_is_closed_and_forgotten() -> None:
    opened: list[str] = []
    gate, closed = threading.Event(), threading.Event()
    pool = make_pool(opened, gate, closed=closed)
    pool.warm("a")
    pool.close()
    gate.set()
    assert closed.wait(10)  # the connection the warm-up opened, closed by the warm-up
    assert opened == ["a"]
    assert pool.peek("a") is None
    pool.warm("b")  # closed: nothing starts
    with pytest.raises(RuntimeError, match="closed"):
        pool.get("a")

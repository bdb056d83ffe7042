"""One lazily opened, shared connection per key, safe to use from many threads."""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
C = TypeVar("C")


class ConnectionPool(Generic[K, C]):
    """Opens a key's connection on first use, reuses it while alive, reopens a dead one.

    `closer` must not raise: it is called on connections that may already be dead.

    Each key has its own lock, so fifty hosts connect at once while two steps that need
    the same host share a single connection instead of racing to open two.
    """

    def __init__(
        self,
        opener: Callable[[K], C],
        alive: Callable[[C], bool],
        closer: Callable[[C], None],
    ) -> None:
        self._opener = opener
        self._alive = alive
        self._closer = closer
        self._lock = threading.Lock()
        self._locks: dict[K, threading.Lock] = {}
        self._conns: dict[K, C] = {}
        self._closed = False

    def get(self, key: K) -> C:
        """The live connection for `key`, opened now if needed (the opener's errors pass)."""
        with self._lock:
            if self._closed:
                raise RuntimeError("connection pool is closed")
            key_lock = self._locks.setdefault(key, threading.Lock())
        with key_lock:
            conn = self._conns.get(key)
            if conn is not None and self._alive(conn):
                return conn
            if conn is not None:
                self._drop(key, conn)
            conn = self._opener(key)
            with self._lock:
                if self._closed:  # close() ran while we were connecting
                    self._closer(conn)
                    raise RuntimeError("connection pool is closed")
                self._conns[key] = conn
            return conn

    def peek(self, key: K) -> C | None:
        """The connection held for `key`, if any, without opening one."""
        with self._lock:
            return self._conns.get(key)

    def discard(self, key: K, conn: C) -> None:
        """Forget and close `conn` (found dead); the next `get` reopens."""
        self._drop(key, conn)

    def _drop(self, key: K, conn: C) -> None:
        with self._lock:
            if self._conns.get(key) is conn:
                del self._conns[key]
        self._closer(conn)

    def close(self) -> None:
        """Close every connection; later `get`s fail."""
        with self._lock:
            self._closed = True
            conns, self._conns = list(self._conns.values()), {}
        for conn in reversed(conns):  # targets before the jumps they run through
            self._closer(conn)

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

    `warm` opens a key's connection ahead of its first `get`, on a thread of its own, so
    that connecting overlaps whatever the caller does meanwhile; the `get` that follows
    waits for it and takes the connection, or the error opening it raised.
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
        self._failed: dict[K, BaseException] = {}  # warm-ups that failed, for the next get
        self._closed = False

    def get(self, key: K) -> C:
        """The live connection for `key`, opened now if needed (the opener's errors pass)."""
        with self._lock:
            if self._closed:
                raise RuntimeError("connection pool is closed")
            key_lock = self._locks.setdefault(key, threading.Lock())
        with key_lock:
            with self._lock:
                failed = self._failed.pop(key, None)
            if failed is not None:
                raise failed
            return self._get_locked(key)

    def warm(self, key: K) -> None:
        """Start opening `key`'s connection in the background (no-op if open or opening)."""
        with self._lock:
            if self._closed or key in self._conns:
                return
            key_lock = self._locks.setdefault(key, threading.Lock())
        if not key_lock.acquire(blocking=False):
            return  # a get or another warm-up is connecting it now
        threading.Thread(target=self._warm, args=(key, key_lock), daemon=True).start()

    def _warm(self, key: K, key_lock: threading.Lock) -> None:
        try:
            self._get_locked(key)
        except BaseException as e:  # handed to the next get of `key`, which raises it
            with self._lock:
                if not self._closed:
                    self._failed[key] = e
        finally:
            key_lock.release()

    def _get_locked(self, key: K) -> C:
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
            self._failed.clear()
        for conn in reversed(conns):  # targets before the jumps they run through
            self._closer(conn)

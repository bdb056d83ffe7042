"""One live engine per run on PostgreSQL: a session advisory lock on the run's id.

Like the SQLite journal's flock, the server drops the lock when its holder's connection
ends (the engine died, or its connection was cut), so a crashed engine never leaves a run
stuck. The holder's connection is named `runbook engine PID HOST` so that a refused second
engine can say who has it.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import socket
from collections.abc import Iterator
from typing import Any

from runbook.errors import RunLocked

_APP_PREFIX = "runbook engine "


def lock_key(run_id: str) -> int:
    """The run's advisory lock key: 63 bits of sha256, so it is a positive bigint."""
    return int.from_bytes(hashlib.sha256(f"runbook:{run_id}".encode()).digest()[:8]) >> 1


_HOLDER = (
    "SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
    "WHERE l.locktype = 'advisory' AND l.granted AND l.classid = %s AND l.objid = %s "
    "AND l.objsubid = 1"
)


def _key_parts(key: int) -> tuple[int, int]:
    return key >> 32, key & 0xFFFFFFFF


def holder(conn: Any, run_id: str) -> str | None:
    """`PID HOST` of the engine holding the run, or None."""
    row = conn.execute(_HOLDER, _key_parts(lock_key(run_id))).fetchone()
    if row is None:
        return None
    name = str(row[0] or "")
    return name[len(_APP_PREFIX) :] if name.startswith(_APP_PREFIX) else "? ?"


@contextlib.contextmanager
def engine_lock(url: str, run_id: str, label: str) -> Iterator[None]:
    """Hold the run's advisory lock on a connection of its own for the whole block."""
    import psycopg

    from runbook.journal._pg_schema import pg_error

    name = f"{_APP_PREFIX}{os.getpid()} {socket.gethostname()}"[:63]
    try:
        conn = psycopg.connect(url, autocommit=True, application_name=name, connect_timeout=10)
    except psycopg.Error as err:
        raise pg_error(err, label, "lock a run in") from err
    try:
        got = conn.execute("SELECT pg_try_advisory_lock(%s)", (lock_key(run_id),)).fetchone()
        if not got or not got[0]:
            pid, host = [*(holder(conn, run_id) or "? ?").split(), "?", "?"][:2]
            raise RunLocked(
                f"run {run_id} is already being run by pid {pid} on {host}; stop that one "
                f"first, or watch it with: runbook status {run_id} --watch"
            )
        yield
        # Unlock before closing: the server ends a closed session's backend a moment later,
        # and until then the lock would still show as held.
        with contextlib.suppress(psycopg.Error):
            conn.execute("SELECT pg_advisory_unlock(%s)", (lock_key(run_id),))
    finally:
        with contextlib.suppress(psycopg.Error):  # closing the session releases the lock
            conn.close()

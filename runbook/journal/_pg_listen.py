"""Live views on PostgreSQL: LISTEN runbook_events, woken by each append's NOTIFY.

Each commit notifies "RUN_ID SEQ" (the batch's last seq). A view waits for its run's next
seq, but never more than 2 s between two looks at the journal: a listener lost with its
connection (a restarted server, a cut network) falls back to polling until it is back.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from typing import Any

CHANNEL = "runbook_events"
FALLBACK_S = 2.0


class Listener:
    """One LISTEN connection, opened on first use and reopened after a failure."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._conn: Any = None

    def wait(
        self, has_new: Callable[[], bool], run_id: str, after_seq: int, timeout: float
    ) -> None:
        """Return when `run_id` may have events after `after_seq`, within FALLBACK_S."""
        import psycopg

        wait = max(0.0, min(timeout, FALLBACK_S))
        try:
            if self._conn is None:
                self._conn = psycopg.connect(self.url, autocommit=True, connect_timeout=5)
                self._conn.execute(f"LISTEN {CHANNEL}")
            if has_new():
                return  # committed before we listened, or between two waits
            deadline = time.monotonic() + wait
            while (left := deadline - time.monotonic()) > 0:
                for note in self._conn.notifies(timeout=left, stop_after=1):
                    run, _, seq = str(note.payload).partition(" ")
                    if run == run_id and seq.isdigit() and int(seq) > after_seq:
                        return
        except psycopg.Error:
            self.close()
            time.sleep(wait)  # the database is away: poll at the fallback pace

    def close(self) -> None:
        """Close the listening connection (a later wait opens a new one)."""
        if self._conn is not None:
            import psycopg

            with contextlib.suppress(psycopg.Error):
                self._conn.close()
            self._conn = None

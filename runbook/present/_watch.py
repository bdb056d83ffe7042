"""`runbook watch`: a run followed through its journal.

A thread reads the events another terminal's engine commits (polling: the journal is the
only channel, as for `runbook status`), folds them, and hands them to the console's Feed.
The questions are the manual steps the fold says are waiting. Answers and decisions go
the other way through present/_decisions.py, journaled as `runbook confirm|retry|skip|
expect --operator NAME` are; the engine that holds the run acts on them at its next poll.
"""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING

from runbook.events import RunState
from runbook.present._feed import Feed, asks_of

if TYPE_CHECKING:
    from runbook.journal import EventStore, StateRef

POLL_S = 0.25


class JournalFollower:
    """Follows one run's journal on its own thread, into the console's Feed."""

    def __init__(self, state_path: StateRef, run_id: str, feed: Feed) -> None:
        self.state_path = state_path
        self.run_id = run_id
        self.feed = feed
        self.state = RunState()
        self._stop = threading.Event()
        self._next_live_check = 0.0
        self._thread = threading.Thread(target=self._loop, name="runbook-watch", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _loop(self) -> None:
        from runbook.journal import open_journal

        with open_journal(self.state_path, create=False) as journal:
            while not self._stop.is_set():
                for e in journal.events(self.run_id, after_seq=self.state.last_seq):
                    self.state.apply(e)
                    self.feed.event(e, self.state)
                self.feed.put_asks(asks_of(self.state))
                now = max(time.time(), self.state.last_ts or 0.0)
                if self.state.status != "running" or self._engine_gone(journal):
                    self.feed.end(self.state, self.state.finished or self.state.last_ts or now)
                    return
                self.feed.tick(self.state, now)
                self._stop.wait(POLL_S)

    def _engine_gone(self, journal: EventStore) -> bool:
        """The engine that held the run died without journaling an end (every 2 s)."""
        real = time.monotonic()
        if real < self._next_live_check:
            return False
        self._next_live_check = real + 2.0
        return not journal.is_engine_live(self.run_id)

"""`runbook watch`: a run followed through its journal, and answered through it.

A thread reads the events another terminal's engine commits (polling: the journal is the
only channel, as for `runbook status`), folds them, and hands them to the console's Feed.
The questions are the manual steps the fold says are waiting. An answer is the same
journaled decision as `runbook confirm --operator NAME`; the engine that holds the run
sees it on its next poll and acts on it.
"""

from __future__ import annotations

import queue
import threading
import time
from typing import TYPE_CHECKING

from runbook.events import RunState
from runbook.present._feed import Feed, LogLine, asks_of

if TYPE_CHECKING:
    from runbook.journal import EventStore, StateRef

POLL_S = 0.25


class JournalFollower:
    """Follows one run's journal on its own thread and carries the console's answers."""

    def __init__(self, state_path: StateRef, run_id: str, operator: str, feed: Feed) -> None:
        self.state_path = state_path
        self.run_id = run_id
        self.operator = operator
        self.feed = feed
        self.state = RunState()
        self._answers: queue.SimpleQueue[tuple[str, str, str, str | None]] = queue.SimpleQueue()
        self._stop = threading.Event()
        self._next_live_check = 0.0
        self._thread = threading.Thread(target=self._loop, name="runbook-watch", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def answer(self, step: str, choice: str, note: str, value: str | None) -> None:
        """From the screen's thread: journaled on the follower's."""
        self._answers.put((step, choice, note, value))

    def _loop(self) -> None:
        from runbook.journal import open_journal

        with open_journal(self.state_path, create=False) as journal:
            while not self._stop.is_set():
                self._decide(journal)
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

    def _decide(self, journal: EventStore) -> None:
        from runbook.clock import RealClock
        from runbook.errors import RunbookError
        from runbook.journal import confirm

        while not self._answers.empty():
            step, choice, note, value = self._answers.get()
            try:
                recorded = confirm(
                    journal,
                    self.run_id,
                    step,
                    answer=choice,  # type: ignore[arg-type]
                    note=note or None,
                    value=value,
                    operator=self.operator,
                    clock=RealClock(),
                )
                text = recorded.message
            except RunbookError as err:  # answered elsewhere first: that answer stands
                text = f"not recorded: {err}"
            now = time.strftime("%H:%M:%S", time.gmtime())
            self.feed.note(LogLine(now, step, "you", "bold magenta", text))

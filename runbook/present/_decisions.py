"""An operator's decisions typed in the console, journaled as the commands journal them.

`R` retry, `S` skip (a failed, blocked or pending step) and `E` expect (a running or
waiting step) on the step under the cursor, and for `runbook watch` the answers to manual
steps too, are the same journaled decisions as `runbook retry|skip|expect|confirm
--operator NAME`. They are written on a thread of their own (the screen never waits for
the journal's lock), and the engine that holds the run acts on them at its next poll of
the journal, whether it runs in this process (`run` on this terminal) or elsewhere.
"""

from __future__ import annotations

import queue
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, cast

from runbook.present._feed import Feed, LogLine

if TYPE_CHECKING:
    from runbook.journal import Answer, EventStore, Recorded, StateRef

STEP_ACTIONS = ("retry", "skip", "expect")  # what R, S and E do to the step under the cursor


@dataclass(frozen=True)
class Decision:
    """One decision about one step."""

    step: str
    action: str  # retry, skip, expect, or confirm (a manual step's answer)
    note: str = ""
    answer: str | None = None  # confirm: done, skip or fail
    value: str | None = None  # confirm: the manual step's value
    remaining_s: float | None = None  # expect: how much longer


class DecisionWriter:
    """Journals the console's decisions in order, each answered by a line in its log."""

    def __init__(self, state_path: StateRef, run_id: str, operator: str, feed: Feed) -> None:
        self.state_path = state_path
        self.run_id = run_id
        self.operator = operator
        self.feed = feed
        self._queue: queue.SimpleQueue[Decision | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._loop, name="runbook-decisions", daemon=True)
        self._started = False

    def put(self, decision: Decision) -> None:
        """From the screen's thread; the journal is opened at the first decision."""
        if not self._started:
            self._started = True
            self._thread.start()
        self._queue.put(decision)

    def stop(self) -> None:
        """Write what is queued, then stop (again: nothing)."""
        if self._started and self._thread.is_alive():
            self._queue.put(None)
            self._thread.join(timeout=10)

    def _loop(self) -> None:
        from runbook.journal import open_journal

        with open_journal(self.state_path, create=False) as journal:
            while (decision := self._queue.get()) is not None:
                said = self._record(journal, decision)
                now = time.strftime("%H:%M:%S", time.gmtime())
                self.feed.note(LogLine(now, decision.step, "you", "bold magenta", said))

    def _record(self, journal: EventStore, d: Decision) -> str:
        from runbook.clock import RealClock
        from runbook.errors import RunbookError
        from runbook.journal import confirm, expect, retry, skip

        run, op, clock, note = self.run_id, self.operator, RealClock(), d.note.strip() or None
        try:
            recorded: Recorded
            if d.action == "retry":
                recorded = retry(journal, run, d.step, operator=op, note=note, clock=clock)
            elif d.action == "skip":
                recorded = skip(journal, run, d.step, operator=op, note=d.note, clock=clock)
            elif d.action == "expect":
                remaining = d.remaining_s or 0.0
                recorded = expect(
                    journal, run, d.step, remaining, operator=op, note=note, clock=clock
                )
            else:
                answer = cast("Answer", d.answer)
                recorded = confirm(
                    journal,
                    run,
                    d.step,
                    answer=answer,
                    note=note,
                    value=d.value,
                    operator=op,
                    clock=clock,
                )
        except RunbookError as err:  # decided elsewhere first, or no longer possible
            return f"not recorded: {err}"
        return recorded.message

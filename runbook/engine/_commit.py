"""Group commit: the engine's events wait in one batch, its actions wait for the batch.

STYLE rule 7 (commit before you act) stays whole: a process is started, a question put or
an event shown only after the events announcing it are in the journal. What changes is
the cost: every transition of one loop turn — completions drained, hosts finished, steps
succeeded, the next steps and commands started — is stored in one transaction with one
fsync (`Journal.append_many`), then acted on. `synchronous=FULL` stays: what the engine
acted on has survived a power loss.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Callable, Sequence
from typing import Any

from runbook.clock import Clock
from runbook.events import Event
from runbook.journal import Draft, EventStore
from runbook.secrets import Redactor

KILL_AFTER_ENV = "RUNBOOK_TEST_KILL_AFTER_EVENT"  # tests only: SIGKILL self after N events


class Committer:
    """Holds the events and actions of a loop turn until `commit()`."""

    def __init__(
        self,
        journal: EventStore,
        run_id: str,
        clock: Clock,
        redactor: Redactor,
        ingest: Callable[[Sequence[Event]], None],
    ) -> None:
        self.journal = journal
        self.run_id = run_id
        self.clock = clock
        self.redactor = redactor
        self._ingest = ingest
        self._drafts: list[Draft] = []
        self._actions: list[Callable[[], None]] = []
        self._appended = 0
        kill = os.environ.get(KILL_AFTER_ENV, "")
        self._kill_after = int(kill) if kill.isdigit() else 0

    def emit(self, type_: str, step: str | None, host: str | None, data: dict[str, Any]) -> None:
        """Add an event to the batch (secrets masked), timed now."""
        self._drafts.append(Draft(type_, self.clock.now(), step, host, self.redactor.data(data)))

    def act(self, fn: Callable[[], None]) -> None:
        """Do `fn` once every event emitted so far is committed."""
        self._actions.append(fn)

    @property
    def pending(self) -> bool:
        return bool(self._drafts or self._actions)

    def commit(self) -> None:
        """Store the batch in one transaction, fold and show it, then run the actions.

        A JournalError leaves the actions undone (and dropped): nothing that could not be
        recorded is acted on.
        """
        if self._drafts:
            drafts, self._drafts = self._drafts, []
            try:
                events = self.journal.append_many(self.run_id, drafts)
            except BaseException:
                self._actions.clear()
                raise
            self.committed(events)
        while self._actions:
            actions, self._actions = self._actions, []
            for fn in actions:
                fn()

    def committed(self, events: Sequence[Event]) -> None:
        """Events this engine committed (itself, or through `operate` on its behalf)."""
        self._appended += len(events)
        if self._kill_after and self._appended >= self._kill_after:
            # Crash tests: die right after a commit, before anything it announces is done.
            os.kill(os.getpid(), signal.SIGKILL)
        self._ingest(events)

    def drop_actions(self) -> None:
        """Forget the actions not yet run (the run is stopping: start nothing new)."""
        self._actions.clear()

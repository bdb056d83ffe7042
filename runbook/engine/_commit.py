"""Group commit: the engine's events wait in one batch, its actions wait for the batch.

STYLE rule 7 (commit before you act) stays whole: a process is started, a question put or
an event shown only after the events announcing it are in the journal. What changes is
the cost: every transition of one loop turn — completions drained, hosts finished, steps
succeeded, the next steps and commands started — is stored in one transaction with one
fsync (`Journal.append_many`), then acted on. `synchronous=FULL` stays: what the engine
acted on has survived a power loss.

The commands a batch announces are started as soon as it is stored, before its events
are folded and shown (showing fifty `host_started` lines takes milliseconds the next
step's first command need not wait for); a question is put only after, so it appears
below the lines that led to it.

A batch that only tells (hosts finished, output: no command waits for it to start) may
wait up to GROUP_S for the next turns' while other commands are still running: the fifty
hosts of a step finish within a few milliseconds of each other, and each commit is an
fsync that the step's last result would otherwise queue behind. Nothing in a waiting batch
is shown or folded before it is stored.
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
GROUP_S = 0.05  # how long a batch that only tells may wait for more (engine clock)


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
        self._starts: list[Callable[[], None]] = []  # run before the batch is folded
        self._appended = 0
        self._since = 0.0  # when the batch's first event was emitted
        kill = os.environ.get(KILL_AFTER_ENV, "")
        self._kill_after = int(kill) if kill.isdigit() else 0

    def emit(self, type_: str, step: str | None, host: str | None, data: dict[str, Any]) -> None:
        """Add an event to the batch (secrets masked), timed now."""
        now = self.clock.now()
        if not self._drafts:
            self._since = now
        self._drafts.append(Draft(type_, now, step, host, self.redactor.data(data)))

    def act(self, fn: Callable[[], None], before_fold: bool = False) -> None:
        """Do `fn` once every event emitted so far is committed; `before_fold`: as soon as
        they are stored, before they are folded and shown (starting commands)."""
        (self._starts if before_fold else self._actions).append(fn)

    @property
    def pending(self) -> bool:
        return bool(self._drafts or self._actions or self._starts)

    def due_at(self) -> float | None:
        """When a batch left to wait (`commit_or_group`) must be committed."""
        return self._since + GROUP_S if self._drafts else None

    def commit_or_group(self, more_coming: bool) -> None:
        """`commit()`, unless the batch only tells, `more_coming` (other commands still
        run), and its first event is younger than GROUP_S: then the next turn's joins it."""
        acts = self._actions or self._starts
        if more_coming and not acts and self.clock.now() < self._since + GROUP_S:
            return
        self.commit()

    def commit(self) -> None:
        """Store the batch in one transaction, fold and show it, then run the actions.

        A JournalError leaves the actions undone (and dropped): nothing that could not be
        recorded is acted on.
        """
        events: list[Event] = []
        if self._drafts:
            drafts, self._drafts = self._drafts, []
            try:
                events = self.journal.append_many(self.run_id, drafts)
            except BaseException:
                self.drop_actions()
                raise
            self._count(events)
        while self._starts:
            starts, self._starts = self._starts, []
            for fn in starts:
                fn()
        if events:
            self._ingest(events)
        while self._actions:
            actions, self._actions = self._actions, []
            for fn in actions:
                fn()

    def committed(self, events: Sequence[Event]) -> None:
        """Events this engine committed (itself, or through `operate` on its behalf)."""
        self._count(events)
        self._ingest(events)

    def _count(self, events: Sequence[Event]) -> None:
        self._appended += len(events)
        if self._kill_after and self._appended >= self._kill_after:
            # Crash tests: die right after a commit, before anything it announces is done.
            os.kill(os.getpid(), signal.SIGKILL)

    def drop_actions(self) -> None:
        """Forget the actions not yet run (the run is stopping: start nothing new)."""
        self._actions.clear()
        self._starts.clear()

"""The loop around the run's decisions: inputs gathered, events committed, then acted on.

One loop on one thread, on a real or a virtual clock. Each turn gathers every input it
can (other terminals' decisions from the journal, completed commands, due timers, this
terminal's answers), hands them to the core (_core.py, no I/O), commits every event the
turn produced in one transaction, and only then starts the commands they announce, folds
the events into the run's state, shows them and puts the questions (commit before act, by
group commit: _commit.py). The engine never prints; listeners and askers show things.
"""

from __future__ import annotations

import contextlib
import functools
import queue
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from runbook.clock import Clock
from runbook.engine import _reactions
from runbook.engine._claims import Team
from runbook.engine._commit import Committer
from runbook.engine._core import RunCore
from runbook.engine._decide import Decider
from runbook.engine._dispatch import Dispatcher
from runbook.engine._eta import EtaSchedule
from runbook.engine._eta_write import ETA_TRIGGERS, eta_marks, results_coming, write_eta
from runbook.engine._io import Asker, EngineOptions, Listener, NullListener, StepWork
from runbook.engine._jobs import Completion
from runbook.engine._late import late_results
from runbook.engine._outbox import Ask, Confirm, Emit, Start, Withdraw
from runbook.engine._recovery import StepResume
from runbook.engine._start import start_fresh, start_joined, start_resumed
from runbook.errors import JournalError, StateError
from runbook.events import Event, RunState
from runbook.forecast import Forecaster
from runbook.journal import EventStore, confirm
from runbook.model import Step
from runbook.plan import Plan
from runbook.secrets import MASK, Redactor

POLL_S = 0.25  # how often the journal is read for other terminals' decisions (real time)
FLUSH_S = 0.3  # how often running commands' output is journaled


class Engine:
    """Runs one run to its end, or until interrupted; `run()` returns the result word."""

    def __init__(
        self,
        *,
        journal: EventStore,
        run_id: str,
        plan: Plan,
        steps: Mapping[str, Step],
        state: RunState,
        work: StepWork,
        clock: Clock,
        dispatcher: Dispatcher,
        forecaster: Forecaster,
        redactor: Redactor,
        options: EngineOptions,
        listener: Listener | None = None,
        manual_duration: Callable[[str], float] | None = None,
        decider: Decider | None = None,
    ) -> None:
        self.journal = journal
        self.run_id = run_id
        self.plan = plan
        self.state = state
        self.clock = clock
        self.dispatcher = dispatcher
        self.forecaster = forecaster
        self.options = options
        self.listener: Listener = listener or NullListener()
        self.core = RunCore(
            plan=plan,
            steps=steps,
            work=work,
            timers=dispatcher.timers,
            redactor=redactor,
            options=options,
            live_output=dispatcher.simulated is None,
            manual_duration=manual_duration,
        )
        self.core.decider = decider
        if decider is not None:
            decider.redactor = redactor
        self.commits = Committer(journal, run_id, clock, redactor, self._ingest_own)
        self.eta = EtaSchedule(virtual=clock.virtual, steps=len(plan.steps))
        self._asker: Asker | None = None
        self._inbox: deque[Event] = deque()
        self._answers: queue.SimpleQueue[tuple[str, str, str, str | None, str | None]]
        self._answers = queue.SimpleQueue()
        self._early: deque[Completion] = deque()
        self._seen = state.last_seq
        self.team: Team | None = None  # team mode: this engine's claims (_claims.py)
        self._stop: str | None = None
        self._next_poll = 0.0
        self._next_flush = 0.0

    # -- what callers use -----------------------------------------------------------------

    @property
    def asker(self) -> Asker | None:
        return self._asker

    @asker.setter
    def asker(self, asker: Asker | None) -> None:
        """A terminal that can answer questions (set before the run starts)."""
        self._asker = asker
        self.core.can_ask = asker is not None

    def answer(
        self,
        step: str,
        choice: str,
        note: str = "",
        operator: str | None = None,
        value: str | None = None,
    ) -> None:
        """An operator's answer to a Question (any thread); `value` answers its `input`."""
        self._answers.put((step, choice, note, operator, value))

    def request_stop(self, reason: str) -> None:
        """Interrupt the run at the next loop turn (signal handlers, any thread)."""
        self._stop = reason
        self.core.stopping = True  # nothing more starts, even later in this turn

    def start_fresh(self) -> None:
        """A new run: journal the steps skipped by --only/--from/--limit, queue the rest."""
        start_fresh(self.core, self.clock.now())
        self._apply()

    def use_team(self, team: Team) -> None:
        """Team mode: claim each step before starting it, follow the other engines."""
        self.team = self.core.team = team
        # A claim goes by what the core has acted on: events ingested but still waiting in
        # the inbox (another engine's claim of a step ready here) do not count yet.
        team.folded = lambda: self._inbox[0].seq - 1 if self._inbox else self._seen

    def start_joined(self, resume: Mapping[str, StepResume]) -> None:
        """Join a run other engines work on: claim what is ready, follow the rest."""
        start_joined(self.core, resume, self.clock.now())
        self._apply()

    def start_resumed(
        self, resume: Mapping[str, StepResume], noted: Mapping[str, Any] | None = None
    ) -> None:
        """An interrupted run: journal `run_resumed` (with `noted`: the orphans killed, the
        playbook's hash), then pick every step up where it was."""
        if self.team is not None:
            self.team.adopt_all(dict(resume))  # claimed before anything is journaled of them
        started = {sid: st.started for sid, st in self.state.steps.items()}
        now = self.clock.now()
        start_resumed(self.core, resume, started, noted or {}, self.options.operator, now)
        self._apply()

    def run(self) -> str:
        """Drive the run until nothing more can happen: succeeded, failed, aborted, interrupted."""
        try:
            self.commits.commit()  # skips journaled by start_fresh / start_resumed come first
            write_eta(self, force=True)
            while True:
                if self._stop is not None:
                    return self._interrupt(self._stop)
                self._turn()
                if self._finished():
                    return self._finish()
                self._wait()
        except KeyboardInterrupt:
            return self._interrupt("SIGINT")
        except JournalError as err:
            self._abandon(kill=not getattr(err, "lease_lost", False))
            if getattr(err, "lease_lost", False):  # team mode: another engine has the run
                late_results(self.journal, self.run_id, self.dispatcher, self._early, err)
                raise
            raise JournalError(
                f"{err}. No step was started after this; the run is resumable once the "
                f"journal can be written: runbook resume {self.run_id}"
            ) from err
        finally:
            self.dispatcher.shutdown(kill=self._stop is not None)

    # -- one turn -------------------------------------------------------------------------

    def _turn(self) -> None:
        core = self.core
        now_real = time.monotonic()
        if now_real >= self._next_poll:
            self._next_poll = now_real + POLL_S
            self._poll_journal()
        self._drain_completions()
        core.fire_due(self.clock.now())
        self._apply()
        self._drain_completions()
        self._take_answers()
        while self._inbox:
            event = self._inbox.popleft()
            _reactions.react(core, event, self.clock.now())
            if self.team is not None:
                self.team.react(core, event)
            self._apply()
        if self.team is not None:
            self.team.tick(core, self.state)
            self._apply()
        if now_real >= self._next_flush:
            self._next_flush = now_real + FLUSH_S
            core.flush_output()
        if (core.decider is not None or self.team is not None) and self.commits.pending:
            # A step that decides reads the fold, a claim follows what its engine saw:
            # what this turn learnt must be in the journal first.
            self.commits.commit()
        core.start_work(self.clock.now())
        self._apply()
        self.commits.commit_or_group(results_coming(self))  # the turn in one transaction
        self.eta.check(self.clock.now(), core.table.active > 0, core.attempt_running)
        if self.eta.dirty:
            write_eta(self)
        self.listener.tick(self.state, self.clock.now())

    def _apply(self) -> None:
        """Carry out what the core decided, in order (events wait for the commit)."""
        for item in self.core.out.drain():
            if isinstance(item, Emit):
                self.commits.emit(item.type, item.step, item.host, item.data)
            elif isinstance(item, Start):
                start = functools.partial(self.dispatcher.start, item.taken)
                self.commits.act(start, before_fold=True)
            elif isinstance(item, Ask):
                self._ask_later(item)
            elif isinstance(item, Withdraw):
                if self._asker is not None:
                    self._asker.withdraw(item.step, item.why)
            else:
                self._confirm(item)

    def _ask_later(self, item: Ask) -> None:
        asker, q, questions = self._asker, item.question, self.core.questions
        if asker is not None:
            # Put only once the events that led to it are stored, and if still open then.
            self.commits.act(lambda: asker.ask(q) if questions.get(q.step) is q else None)

    def _confirm(self, c: Confirm) -> None:
        """Answer a manual step through the journal, as `runbook confirm` would."""
        self.commits.commit()  # `confirm` checks the step still waits: store ours first
        try:
            event = confirm(
                self.journal,
                self.run_id,
                c.step,
                answer=c.choice,  # type: ignore[arg-type]
                note=c.note or None,
                operator=c.operator,
                clock=self.clock,
                value=c.value,
                at_engine=True,
            ).events[0]
        except StateError:
            self._poll_journal()  # answered elsewhere first: that answer stands
            return
        decider = self.core.decider
        if decider is not None and c.value is not None and event.data.get("value") == MASK:
            decider.secrets[(c.step, "")] = c.value  # a secret lives in memory only
            decider.learn_secret(c.value)
        self.commits.committed([event])

    def _take_answers(self) -> None:
        while not self._answers.empty():
            sid, choice, note, operator, value = self._answers.get()
            who = operator or self.options.operator
            _reactions.answered(self.core, sid, choice, note, who, self.clock.now(), value)
            self._apply()

    def _drain_completions(self) -> None:
        while True:
            if self._early:
                c = self._early.popleft()
            else:
                try:
                    c = self.dispatcher.completions.get_nowait()
                except queue.Empty:
                    return
            self.dispatcher.taken(c)
            self.core.completed(c, self.clock.now())
            self._apply()

    def _finished(self) -> bool:
        if self._inbox or not self._answers.empty() or self._early or self.commits.pending:
            return False
        return not self.core.busy() and not self.core.can_start()

    def _wait(self) -> None:
        """Let time pass until the next thing is due, or a command ends."""
        if self.core.deferred:
            return  # a ready step waited for this turn's commit: start it now
        next_at = self.core.timers.next_at()
        eta_at = self.eta.next_at(self.core.table.active > 0)
        if self.dispatcher.threads_in_flight:  # commands run in real time: wait with them
            self._block(self._real_timeout(next_at, eta_at, self.commits.due_at()))
        else:
            self.clock.wait(next_at, eta_at, self._block, POLL_S)

    def _real_timeout(self, *ats: float | None) -> float:
        now = self.clock.now()
        return min([POLL_S, *(max(0.0, at - now) for at in ats if at is not None)])

    def _block(self, timeout: float) -> None:
        """Wait up to `timeout` real seconds for a command to end."""
        if self.team is not None and not self.dispatcher.threads_in_flight:
            # Only other engines' work goes on: woken by their commits (NOTIFY).
            self.journal.wait_for_events(self.run_id, self._seen, timeout)
            self._next_poll = 0.0
            return
        with contextlib.suppress(queue.Empty):
            self._early.append(self.dispatcher.completions.get(timeout=timeout))

    # -- the journal ----------------------------------------------------------------------

    def _ingest_own(self, events: Sequence[Event]) -> None:
        if events and events[0].seq != self._seen + 1:
            self._poll_journal()  # someone else appended meanwhile: take theirs first, in order
            return
        for event in events:
            self._ingest(event)

    def _poll_journal(self) -> None:
        for event in self.journal.events(self.run_id, after_seq=self._seen):
            self._ingest(event)

    def _ingest(self, event: Event) -> None:
        """A committed event: into the state, on screen, to the core if it is a decision."""
        if event.seq <= self._seen:
            return
        self._seen = event.seq
        self.state.apply(event)
        self.listener.event(event, self.state)
        moves = self.team is not None and self.team.note(event)  # another engine's work
        if moves or event.type in _reactions.INPUT_TYPES:
            self._inbox.append(event)
        if event.type in ETA_TRIGGERS:
            self.eta.transition()
        if event.step is not None and event.step in self.core.table.runs:
            eta_marks(self, event)

    # -- the end --------------------------------------------------------------------------

    def _finish(self) -> str:
        result = self.core.result()
        if self.eta.dirty:
            write_eta(self, force=True)
        data: dict[str, Any] = {"result": result, "counts": self.state.counts()}
        tolerated = sum(1 for run in self.core.table if run.tolerated and run.status == "failed")
        if tolerated:
            data["tolerated"] = tolerated
        if self.team is None:
            self.commits.emit("run_finished", None, None, data)
            self.commits.commit()
            return result
        self.commits.commit()
        # Every engine sees the run end at once: the first to write it does.
        self.commits.committed(self.team.finish(lambda: self._append_end("run_finished", data)))
        return result

    def _append_end(self, type_: str, data: dict[str, Any]) -> list[Event]:
        ended: Any = lambda state: "the run has ended" if state.is_finished else None  # noqa: E731
        at = self.clock.now()
        return [self.journal.append_checked(self.run_id, type_, check=ended, ts=at, data=data)]

    def _interrupt(self, reason: str) -> str:
        """Ctrl-C or SIGTERM: kill what runs, journal it, leave the run resumable."""
        self._stop = reason
        # What this turn learnt is still stored (hosts that finished stay finished), but
        # nothing it was about to start is started.
        self.commits.drop_actions()
        self.core.cancel_all()
        self._apply()
        self.dispatcher.shutdown(kill=True)
        if self.team is not None:  # others go on, or the last engine ends the run
            self.commits.commit()
            self.commits.committed(self.team.leave(self.core, reason))
        else:
            self.commits.emit("run_interrupted", None, None, {"reason": reason})
            self.commits.commit()
        return "interrupted"

    def _abandon(self, kill: bool = True) -> None:
        """The journal cannot be written: stop everything we could not record (a lost
        lease kills nothing: those commands' ends are journaled as late results)."""
        self.commits.drop_actions()
        if not kill:
            self.core.stopping = True
            return
        self._stop = "journal"
        self.core.cancel_all()
        self._apply()

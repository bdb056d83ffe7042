"""The engine's memory: each step's run, the ready queue, blocks, and the journal side.

`EngineCore` is the base of the engine's layers (engine_steps → engine_operators →
engine_resume → engine): it holds what they share, emits events through the group
commit (engine_commit.py) and takes back every committed event — its own and other
terminals' — into the folded `RunState` and the listener.
"""

from __future__ import annotations

import heapq
import queue
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from runbook.clock import Clock, VirtualClock
from runbook.engine._attempt import Finished, Mode
from runbook.engine._commit import Committer
from runbook.engine._dispatch import Completion, Dispatcher, Job
from runbook.engine._eta import EtaSchedule
from runbook.engine._io import (
    EngineOptions,
    Listener,
    NullListener,
    Question,
    QuestionKind,
    StepWork,
)
from runbook.events import Event, RunState
from runbook.forecast import Forecaster
from runbook.journal import Journal
from runbook.model import Step
from runbook.plan import Plan, PlanStep
from runbook.secrets import Redactor

# Events other terminals write that the engine must act on.
INPUT_TYPES = frozenset(
    {"manual_claimed", "manual_answered", "operator_retry", "step_skipped", "operator_expect"}
)
ETA_TRIGGERS = frozenset(
    {
        "run_resumed",
        "step_started",
        "step_retrying",
        "step_succeeded",
        "step_failed",
        "step_skipped",
        "step_blocked",
        "manual_waiting",
        "manual_claimed",
        "manual_answered",
        "operator_retry",
        "operator_expect",
    }
)
ACTIVE = frozenset({"running", "waiting", "retry_wait", "gate", "ask"})
DONE_OK = frozenset({"succeeded", "skipped"})


@dataclass(eq=False)
class StepRun:
    """The engine's view of one step."""

    plan: PlanStep
    step: Step
    active_count: list[int]  # shared by all steps: how many are in an ACTIVE status
    _status: str = "pending"  # pending ready gate ask running retry_wait waiting + finished
    attempt: int = 0
    failures: int = 0  # failed attempts counted against `retries`
    started: float | None = None
    hosts_ok: set[str | None] = field(default_factory=set)
    todo: deque[str | None] = field(default_factory=deque)
    active: dict[str | None, Job] = field(default_factory=dict)
    failed: dict[str | None, Finished] = field(default_factory=dict)
    modes: dict[str | None, Mode] = field(default_factory=dict)  # resume: per-host start
    unmet: int = 0  # needs not yet succeeded or skipped
    blocked_by: set[str] = field(default_factory=set)
    gate_passed: bool = False
    uncertain: list[str | None] = field(default_factory=list)  # resume: hosts to ask about

    @property
    def status(self) -> str:
        return self._status

    @status.setter
    def status(self, value: str) -> None:
        # Counted here so the loop never scans thousands of steps to know if any is busy.
        self.active_count[0] += (value in ACTIVE) - (self._status in ACTIVE)
        self._status = value

    @property
    def hosts(self) -> tuple[str | None, ...]:
        return self.plan.hosts if self.plan.kind == "remote" else (None,)


class EngineCore:
    """What every layer of the engine shares."""

    def __init__(
        self,
        *,
        journal: Journal,
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
    ) -> None:
        self.journal = journal
        self.run_id = run_id
        self.plan = plan
        self.state = state
        self.work = work
        self.clock = clock
        self.dispatcher = dispatcher
        self.timers = dispatcher.timers
        self.forecaster = forecaster
        self.redactor = redactor
        self.options = options
        self.listener: Listener = listener or NullListener()
        self.asker: Any = None  # set by the caller when a terminal can answer questions
        self.manual_duration = manual_duration
        self.commits = Committer(journal, run_id, clock, redactor, self._ingest_own)
        self.eta = EtaSchedule(virtual=isinstance(clock, VirtualClock), steps=len(plan.steps))
        self._active = [0]
        self.runs: dict[str, StepRun] = {
            p.id: StepRun(p, steps[p.id], self._active, unmet=len(p.needs)) for p in plan.steps
        }
        self.dependents = plan.dependents()
        self._order = {p.id: (p.wave, p.id) for p in plan.steps}
        self._ready: list[tuple[int, str]] = []
        self._blocked_index: dict[str, set[str]] = {}
        self._inbox: deque[Event] = deque()
        self._answers: queue.SimpleQueue[tuple[str, str, str, str | None]] = queue.SimpleQueue()
        self._questions: dict[str, Question] = {}
        self._early: deque[Completion] = deque()
        self._threads: set[Job] = set()
        self._seen = state.last_seq
        self._aborting = False
        self._stop: str | None = None
        self._next_job = 0

    # -- the journal ----------------------------------------------------------------------

    def _emit(
        self, type_: str, *, step: str | None = None, host: str | None = None, **data: Any
    ) -> None:
        """Add an event to this turn's batch; it is stored, folded and shown at `_commit`."""
        self.commits.emit(type_, step, host, data)

    def _commit(self) -> None:
        """Store the batch in one transaction, then do what it announced."""
        self.commits.commit()

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
        if event.seq <= self._seen:
            return
        self._seen = event.seq
        self.state.apply(event)
        self.listener.event(event, self.state)
        if event.type in INPUT_TYPES:
            self._inbox.append(event)
        if event.type in ETA_TRIGGERS:
            self.eta.transition()
        if event.step is not None and event.step in self.runs:
            self._schedule_eta_marks(event)

    def _schedule_eta_marks(self, event: Event) -> None:
        st = self.state.steps.get(event.step or "")
        if st is None:
            return
        if event.type == "step_started":
            e = self.runs[st.id].plan.estimate
            at = st.attempt_started or self.clock.now()
            self.eta.step_started(st.id, st.attempts, at, (e.likely_s, e.max_s))
        elif event.type == "operator_expect" and st.expect is not None:
            self.eta.expected(st.id, st.attempts, st.expect.at + st.expect.remaining_s)

    # -- ready, blocked, released ---------------------------------------------------------

    def _key(self, item: tuple[str, Any]) -> tuple[int, str]:
        return self._order[item[0]]

    def _make_ready(self, run: StepRun) -> None:
        run.status = "ready"
        heapq.heappush(self._ready, self._order[run.plan.id])

    def _has_ready(self) -> bool:
        while self._ready and self.runs[self._ready[0][1]].status != "ready":
            heapq.heappop(self._ready)
        return bool(self._ready)

    def _block_from(self, root: str) -> None:
        """Mark every not-yet-started step downstream of `root` blocked by it."""
        todo = list(self.dependents.get(root, ()))
        seen: set[str] = set()
        while todo:
            sid = todo.pop(0)
            if sid in seen:
                continue
            seen.add(sid)
            run = self.runs[sid]
            if run.status in ("pending", "ready", "blocked"):
                newly = run.status != "blocked"
                run.blocked_by.add(root)
                self._blocked_index.setdefault(root, set()).add(sid)
                if newly:
                    self._emit("step_blocked", step=sid, by=sorted(run.blocked_by))
                    run.status = "blocked"
                todo.extend(self.dependents.get(sid, ()))

    def _release(self, sid: str) -> None:
        """`sid` succeeded or was skipped: its dependents may start, its blocks lift."""
        self._unblock(sid)
        for d in self.dependents.get(sid, ()):
            run = self.runs[d]
            run.unmet -= 1
            if run.unmet == 0 and run.status == "pending":
                self._make_ready(run)

    def _unblock(self, root: str) -> None:
        for sid in sorted(self._blocked_index.pop(root, set())):
            run = self.runs[sid]
            run.blocked_by.discard(root)
            if run.status == "blocked" and not run.blocked_by:
                run.status = "pending"
                if run.unmet == 0:
                    self._make_ready(run)

    # -- questions ------------------------------------------------------------------------

    def _ask(self, run: StepRun, kind: QuestionKind, text: str) -> None:
        p = run.plan
        q = Question(p.id, kind, p.title, text, p.hosts, p.owner)
        self._questions[p.id] = q
        if self.asker is not None:
            # Put only once the events that led to it (step_started, manual_waiting) are stored.
            asker = self.asker
            self.commits.act(lambda: asker.ask(q) if self._questions.get(q.step) is q else None)

    def _withdraw(self, sid: str, why: str) -> None:
        if self._questions.pop(sid, None) is not None and self.asker is not None:
            self.asker.withdraw(sid, why)

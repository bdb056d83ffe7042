"""The scheduler: ready steps → dispatcher → journal events. It never prints.

One loop on one thread, on a real or a virtual clock: a timer heap (retry delays, `until`
polls, rehearsed completions, auto-answers) plus one completion queue fed by worker
threads. Every transition is committed to the journal before it is acted on (STYLE rule
7); everything the engine learns from outside — `confirm`, `claim`, `retry`, `skip`,
`expect` from any terminal — arrives as journal events, polled a few times a second.
"""

from __future__ import annotations

import contextlib
import heapq
import os
import queue
import signal
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from runbook.attempt import Finished, HostAttempt, Mode, Next, PollLater, RunCommand
from runbook.clock import Clock, VirtualClock, iso
from runbook.dispatch import Completion, Dispatcher, Job
from runbook.engine_io import EngineOptions, Listener, NullListener, Question, StepWork
from runbook.errors import JournalError, StateError
from runbook.estimate_simple import Forecaster, eta_data
from runbook.events import Event
from runbook.journal import Journal
from runbook.model import Step
from runbook.operate import confirm
from runbook.plan import Plan, PlanStep
from runbook.recovery import StepResume
from runbook.secrets import Redactor
from runbook.state import RunState

POLL_S = 0.25  # how often the journal is read for other terminals' decisions (real time)
FLUSH_S = 0.3  # how often running commands' output is journaled
ETA_SHARE = 0.2  # at most this share of the engine's time goes to forecasting
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
_KILL_AFTER = "RUNBOOK_TEST_KILL_AFTER_EVENT"  # tests only: SIGKILL self after N appends


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


class Engine:
    """Runs one run to its end, or until interrupted; `run()` returns the result word."""

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
        self._active = [0]
        self.runs: dict[str, StepRun] = {
            p.id: StepRun(p, steps[p.id], self._active, unmet=len(p.needs)) for p in plan.steps
        }
        self.dependents = plan.dependents()
        self._order = {sid: (p.wave, sid) for p in plan.steps for sid in [p.id]}
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
        self._eta_dirty = True
        self._eta_spent = 0.0
        self._t0 = time.monotonic()
        self._next_poll = 0.0
        self._next_flush = 0.0
        self._appended = 0
        kill = os.environ.get(_KILL_AFTER, "")
        self._kill_after = int(kill) if kill.isdigit() else 0
        self._next_job = 0

    # -- public ---------------------------------------------------------------------------

    def answer(self, step: str, choice: str, note: str = "", operator: str | None = None) -> None:
        """An operator's answer to a Question (any thread)."""
        self._answers.put((step, choice, note, operator))

    def request_stop(self, reason: str) -> None:
        """Interrupt the run at the next loop turn (signal handlers, any thread)."""
        self._stop = reason

    def start_fresh(self) -> None:
        """A new run: journal the steps skipped by --only/--from/--limit, queue the rest."""
        for sid, reason in sorted(self.options.initial_skips.items(), key=self._key):
            run = self.runs[sid]
            self._emit("step_skipped", step=sid, reason=reason, operator=None, note=None)
            run.status = "skipped"
        for run in self.runs.values():
            if run.status == "skipped":
                self._release(run.plan.id)
        for run in self.runs.values():
            if run.status == "pending" and run.unmet == 0:
                self._make_ready(run)

    def start_resumed(self, resume: Mapping[str, StepResume]) -> None:
        """An interrupted run: journal `run_resumed`, then pick every step up where it was."""
        in_flight = sorted(s for s, r in resume.items() if r.status in ("running", "retry"))
        decisions = {s: r.decision for s, r in sorted(resume.items()) if r.decision}
        operator = self.options.operator
        self._emit("run_resumed", operator=operator, in_flight=in_flight, decisions=decisions)
        for sid, r in resume.items():
            run = self.runs.get(sid)
            if run is None:
                continue
            run.attempt, run.failures, run.hosts_ok = r.attempt, r.failures, set(r.hosts_ok)
            run.started = self.state.steps[sid].started if sid in self.state.steps else None
            run.status = r.status if r.status in (*DONE_OK, "failed", "waiting") else "pending"
            if r.status == "blocked":
                run.status, run.blocked_by = "blocked", set(r.blocked_by)
                for root in r.blocked_by:
                    self._blocked_index.setdefault(root, set()).add(sid)
            elif r.status in ("running", "retry"):
                run.status = "resuming"
        for run in self.runs.values():
            run.unmet = sum(1 for n in run.plan.needs if self.runs[n].status not in DONE_OK)
        order = sorted(self.runs, key=lambda sid: self._order[sid])
        for sid in order:
            if self.runs[sid].status == "failed":
                self._block_from(sid)
        for sid in order:
            run = self.runs[sid]
            if run.status == "pending" and run.unmet == 0:
                self._make_ready(run)
            elif run.status == "waiting":
                self._await_manual(run)
            elif run.status == "resuming" and sid in resume:
                self._resume_in_flight(run, resume[sid])

    def _resume_in_flight(self, run: StepRun, r: StepResume) -> None:
        if r.status == "retry":
            self._begin_attempt(run)
            return
        run.status = "running"
        run.failed = {h: Finished(False, reason=a, message=b) for h, (a, b) in r.failed.items()}
        run.todo = deque(r.todo)
        run.modes = dict(r.modes)
        if r.decision == "ask" and r.uncertain:
            run.uncertain = list(r.uncertain)
            if self.asker is None:
                reason = "interrupted: needs an operator decision"
                self._fail(run, reason, self._uncertain(run))
                return
            run.status = "ask"
            where = ", ".join(h or "the control machine" for h in run.uncertain)
            self._ask(run, "resume", f"`run` was in progress on {where} when the engine stopped")
            return
        self._pump_hosts(run)

    def run(self) -> str:
        """Drive the run until nothing more can happen: succeeded, failed, aborted, interrupted."""
        try:
            self._emit_eta(force=True)
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
            self._abandon()
            raise JournalError(
                f"{err}. No step was started after this; the run is resumable once the "
                f"journal can be written: runbook resume {self.run_id}"
            ) from err
        finally:
            self.dispatcher.shutdown(kill=self._stop is not None)

    # -- the loop -------------------------------------------------------------------------

    def _turn(self) -> None:
        now_real = time.monotonic()
        if now_real >= self._next_poll:
            self._next_poll = now_real + POLL_S
            self._poll_journal()
        self._drain_completions()
        for fn in self.timers.pop_due(self.clock.now()):
            fn()
        self._drain_completions()
        self._take_answers()
        while self._inbox:
            self._react(self._inbox.popleft())
        if now_real >= self._next_flush:
            self._next_flush = now_real + FLUSH_S
            self._flush_output()
        self.dispatcher.pump(self._before_start)
        self._start_ready()
        self.dispatcher.pump(self._before_start)
        if self._eta_dirty:
            self._emit_eta()
        self.listener.tick(self.state, self.clock.now())

    def _finished(self) -> bool:
        if self._inbox or not self._answers.empty() or self._early:
            return False
        if self._active[0]:
            return False
        if not self.dispatcher.idle():
            return False
        return self._aborting or not self._has_ready()

    def _wait(self) -> None:
        clock = self.clock
        next_at = self.timers.next_at()
        if isinstance(clock, VirtualClock) and not self.dispatcher.threads_in_flight:
            if next_at is None:  # only people can move things now: let time pass with them
                time.sleep(POLL_S)
                clock.advance_to(clock.now() + POLL_S * (clock.speed or 1.0))
            elif clock.speed is None:
                clock.advance_to(next_at)
            else:
                clock.advance_to(min(next_at, clock.now() + POLL_S * clock.speed))
            return
        timeout = POLL_S
        if next_at is not None:
            timeout = min(timeout, max(0.0, next_at - clock.now()))
        if self._threads:
            timeout = min(timeout, FLUSH_S)
        with contextlib.suppress(queue.Empty):
            self._early.append(self.dispatcher.completions.get(timeout=timeout))

    def _drain_completions(self) -> None:
        while True:
            if self._early:
                c = self._early.popleft()
            else:
                try:
                    c = self.dispatcher.completions.get_nowait()
                except queue.Empty:
                    return
            self._complete(c)

    # -- journal --------------------------------------------------------------------------

    def _emit(
        self, type_: str, *, step: str | None = None, host: str | None = None, **data: Any
    ) -> Event:
        """Commit one event (secrets masked), then fold and show it."""
        event = self.journal.append(
            self.run_id,
            type_,
            ts=self.clock.now(),
            step=step,
            host=host,
            data=self.redactor.data(data),
        )
        self._appended_one(event)
        return event

    def _appended_one(self, event: Event) -> None:
        self._appended += 1
        if self._kill_after and self._appended >= self._kill_after:
            os.kill(os.getpid(), signal.SIGKILL)  # crash tests: die right after a commit
        if event.seq == self._seen + 1:
            self._ingest(event)
        else:  # someone else appended meanwhile: take theirs first, in order
            self._poll_journal()

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
            self._eta_dirty = True

    def _emit_eta(self, force: bool = False) -> None:
        spent_ok = self._eta_spent <= ETA_SHARE * (time.monotonic() - self._t0) + 0.05
        if not (force or spent_ok):
            return  # keep it dirty: the next turn with budget writes it
        t = time.monotonic()
        forecast = self.forecaster.forecast(self.state, self.clock.now())
        self._eta_spent += time.monotonic() - t
        self._eta_dirty = False
        self._emit("eta", **eta_data(forecast, iso))

    # -- starting steps -------------------------------------------------------------------

    def _key(self, item: tuple[str, Any]) -> tuple[int, str]:
        return self._order[item[0]]

    def _make_ready(self, run: StepRun) -> None:
        run.status = "ready"
        heapq.heappush(self._ready, self._order[run.plan.id])

    def _has_ready(self) -> bool:
        while self._ready and self.runs[self._ready[0][1]].status != "ready":
            heapq.heappop(self._ready)
        return bool(self._ready)

    def _active_steps(self) -> int:
        return self._active[0]

    def _start_ready(self) -> None:
        if self._aborting or self._stop is not None:
            return
        limit = self.options.concurrency
        active = self._active_steps() if limit else 0
        while self._has_ready() and (not limit or active < limit):
            _, sid = heapq.heappop(self._ready)
            self._start(self.runs[sid])
            active += 1

    def _start(self, run: StepRun) -> None:
        p = run.plan
        if p.kind == "manual":
            self._start_manual(run)
        elif self.options.step_gate and not run.gate_passed:
            run.status = "gate"
            self._ask(run, "gate", self._gate_text(run))
        else:
            self._begin_attempt(run)

    def _gate_text(self, run: StepRun) -> str:
        first = run.hosts[0]
        c = self.work.commands(run.plan.id, first)
        lines = [f"{a}: {t}" for a in ("skip_if", "run", "until", "verify") if (t := c.get(a))]
        where = "on the control machine" if first is None else f"on {len(run.hosts)} host(s)"
        return self.redactor.text("\n".join([f"runs {where}", *lines]))

    def _start_manual(self, run: StepRun) -> None:
        p = run.plan
        run.attempt += 1
        self._emit("step_started", step=p.id, attempt=run.attempt, kind=p.kind, hosts=list(p.hosts))
        text = self.work.instructions(p.id)
        self._emit(
            "manual_waiting", step=p.id, instructions=text, hosts=list(p.hosts), owner=p.owner
        )
        run.status = "waiting"
        run.started = run.started or self.clock.now()
        self._await_manual(run)

    def _await_manual(self, run: StepRun) -> None:
        sid = run.plan.id
        if self.options.auto_answer and self.manual_duration is not None:
            at = self.clock.now() + self.manual_duration(sid)
            self.timers.add(at, lambda: self._auto_answer(sid))
        elif self.asker is not None:
            self._ask(run, "manual", self.redactor.text(self.work.instructions(sid)))

    def _auto_answer(self, sid: str) -> None:
        if self.runs[sid].status != "waiting":
            return
        self._answer_manual(sid, "done", "", "rehearsal")

    def _ask(self, run: StepRun, kind: Any, text: str) -> None:
        p = run.plan
        q = Question(p.id, kind, p.title, text, p.hosts, p.owner)
        self._questions[p.id] = q
        if self.asker is not None:
            self.asker.ask(q)

    def _withdraw(self, sid: str, why: str) -> None:
        if self._questions.pop(sid, None) is not None and self.asker is not None:
            self.asker.withdraw(sid, why)

    def _begin_attempt(self, run: StepRun) -> None:
        p = run.plan
        run.attempt += 1
        run.failed.clear()
        hosts = [h for h in run.hosts if h not in run.hosts_ok]
        self._emit(
            "step_started",
            step=p.id,
            attempt=run.attempt,
            kind=p.kind,
            hosts=[h for h in hosts if h is not None],
        )
        run.status = "running"
        run.started = run.started or self.clock.now()
        run.todo = deque(hosts)
        self._pump_hosts(run)

    def _pump_hosts(self, run: StepRun) -> None:
        width = run.plan.parallel or len(run.hosts) or 1
        while run.todo and len(run.active) < width and run.status == "running":
            host = run.todo.popleft()
            s = run.step
            self._next_job += 1
            now = self.clock.now()
            seq = HostAttempt(
                self.work.commands(run.plan.id, host),
                started=now,
                timeout_s=s.timeout_s,
                every_s=s.every_s,
                mode=run.modes.pop(host, "normal"),
            )
            job = Job(
                self._next_job,
                run.plan.id,
                host,
                run.attempt,
                seq,
                seq.commands,
                remote=host is not None,
                started=now,
            )
            run.active[host] = job
            self._advance(job, seq.begin(now))
        if not run.todo and not run.active and run.status == "running":
            self._attempt_done(run)

    def _advance(self, job: Job, nxt: Next) -> None:
        if isinstance(nxt, RunCommand):
            self.dispatcher.submit(job, nxt)
        elif isinstance(nxt, PollLater):
            self.timers.add(nxt.at, lambda: self._poll(job))
        else:
            self._host_done(job, nxt)

    def _poll(self, job: Job) -> None:
        if not job.done:
            self._advance(job, job.seq.poll(self.clock.now()))

    def _before_start(self, job: Job, cmd: RunCommand) -> RunCommand | None:
        """Journal a command about to start (commit before act), with a fresh timeout."""
        now = self.clock.now()
        if not job.began:
            job.began = True
            job.started = now
            job.seq.restart(now)
        timeout = max(job.seq.remaining(now), 0.001)
        if cmd.action != "until" or job.polls == 0:
            self._emit(
                "host_started",
                step=job.step_id,
                host=job.host,
                attempt=job.attempt,
                action=cmd.action,
                command=cmd.command,
            )
        if cmd.action == "until":
            job.polls += 1
        job.command_started = now
        if self.dispatcher.simulated is None:
            self._threads.add(job)
        return RunCommand(cmd.action, cmd.command, timeout)

    # -- results --------------------------------------------------------------------------

    def _complete(self, c: Completion) -> None:
        self.dispatcher.release(c)
        self._threads.discard(c.job)
        if c.crash is not None:
            raise c.crash
        job = c.job
        if job.done:
            return  # cancelled (operator skip, interrupt): its end means nothing now
        nxt = job.seq.after(c.action, c.result, self.clock.now())
        if c.action == "until" and isinstance(nxt, PollLater):
            job.output.finish()  # a failed poll's output is dropped; the last one is kept
        else:
            self._journal_output(job, job.output.finish())
        job.output = type(job.output)()
        self._advance(job, nxt)

    def _flush_output(self) -> None:
        for job in list(self._threads):
            if job.action != "until":
                self._journal_output(job, job.output.drain())

    def _journal_output(self, job: Job, chunks: list[Any]) -> None:
        for chunk in chunks:
            data: dict[str, Any] = {
                "stream": chunk.stream,
                "text": chunk.text,
                "truncated": chunk.truncated,
                "action": job.action,
            }
            if chunk.omitted_bytes:
                data["omitted_chars"] = chunk.omitted_bytes
            self._emit("host_output", step=job.step_id, host=job.host, **data)

    def _host_done(self, job: Job, fin: Finished) -> None:
        job.done = True
        run = self.runs[job.step_id]
        run.active.pop(job.host, None)
        duration = round(self.clock.now() - job.started, 3)
        if fin.ok:
            self._emit(
                "host_succeeded",
                step=job.step_id,
                host=job.host,
                attempt=job.attempt,
                duration_s=duration,
                skipped=fin.skipped,
            )
            run.hosts_ok.add(job.host)
        else:
            self._emit(
                "host_failed",
                step=job.step_id,
                host=job.host,
                attempt=job.attempt,
                duration_s=duration,
                reason=fin.reason,
                exit_code=fin.exit_code,
                message=fin.message,
            )
            run.failed[job.host] = fin
        self._pump_hosts(run)

    def _attempt_done(self, run: StepRun) -> None:
        p = run.plan
        now = self.clock.now()
        if not run.failed:
            self._emit(
                "step_succeeded",
                step=p.id,
                duration_s=round(now - (run.started or now), 3),
                attempts=run.attempt,
            )
            run.status = "succeeded"
            self._release(p.id)
            return
        failed_hosts = sorted(h for h in run.failed if h is not None)
        if run.failures < run.step.retries:
            run.failures += 1
            delay = run.step.retry_delay_s
            self._emit(
                "step_retrying",
                step=p.id,
                attempt=run.attempt,
                delay_s=delay,
                failed_hosts=failed_hosts,
            )
            run.status = "retry_wait"
            self.timers.add(now + delay, lambda: self._retry(run))
            return
        self._fail(run, self._failure_reason(run), failed_hosts)

    def _retry(self, run: StepRun) -> None:
        if run.status == "retry_wait" and self._stop is None:
            self._begin_attempt(run)

    def _failure_reason(self, run: StepRun) -> str:
        items = sorted(run.failed.items(), key=lambda kv: kv[0] or "")
        if run.plan.kind != "remote":
            return items[0][1].message
        shown = "; ".join(f"{h}: {f.message}" for h, f in items[:3])
        more = f"; +{len(items) - 3} more" if len(items) > 3 else ""
        return f"{len(items)} of {len(run.hosts)} hosts failed: {shown}{more}"

    def _fail(self, run: StepRun, reason: str, failed_hosts: list[str]) -> None:
        p = run.plan
        now = self.clock.now()
        self._emit(
            "step_failed",
            step=p.id,
            duration_s=round(now - (run.started or now), 3),
            attempts=run.attempt,
            failed_hosts=failed_hosts,
            reason=reason,
        )
        run.status = "failed"
        if p.on_failure == "abort":
            self._aborting = True
        self._block_from(p.id)

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

    # -- operators ------------------------------------------------------------------------

    def _take_answers(self) -> None:
        while not self._answers.empty():
            sid, choice, note, operator = self._answers.get()
            q = self._questions.get(sid)
            run = self.runs.get(sid)
            if q is None or run is None:
                continue
            who = operator or self.options.operator
            if q.kind == "manual":
                self._answer_manual(sid, choice, note, who)
            elif q.kind == "gate":
                self._questions.pop(sid, None)
                self._gate_answer(run, choice, note, who)
            else:
                self._questions.pop(sid, None)
                self._resume_answer(run, choice, note, who)

    def _answer_manual(self, sid: str, choice: str, note: str, operator: str) -> None:
        try:
            event = confirm(
                self.journal,
                self.run_id,
                sid,
                answer=choice,  # type: ignore[arg-type]
                note=note or None,
                operator=operator,
                clock=self.clock,
            ).events[0]
        except StateError:
            self._poll_journal()  # answered elsewhere first: that answer stands
            return
        self._appended_one(event)

    def _gate_answer(self, run: StepRun, choice: str, note: str, operator: str) -> None:
        if run.status != "gate":
            return
        if choice == "run":
            run.gate_passed = True
            self._begin_attempt(run)
        elif choice == "skip":
            self._skip(run, operator, note)
        else:
            run.status = "pending"
            self._aborting = True

    def _skip(self, run: StepRun, operator: str, note: str) -> None:
        self._emit(
            "step_skipped", step=run.plan.id, reason="operator", operator=operator, note=note
        )
        run.status = "skipped"
        self._release(run.plan.id)

    def _resume_answer(self, run: StepRun, choice: str, note: str, operator: str) -> None:
        if run.status != "ask":
            return
        if choice == "rerun":
            for host in run.todo:
                run.modes[host] = "normal"
            run.status = "running"
            self._pump_hosts(run)
        elif choice == "skip":
            self._skip(run, operator, note)
        else:
            self._fail(run, "interrupted: the operator marked it failed", self._uncertain(run))

    def _uncertain(self, run: StepRun) -> list[str]:
        return sorted(h or "localhost" for h in run.uncertain)

    def _react(self, e: Event) -> None:
        """An event that may come from another terminal: claim, answer, retry, skip, expect."""
        sid = e.step or ""
        run = self.runs.get(sid)
        if run is None:
            return
        if e.type == "manual_claimed":
            self._withdraw(sid, f"claimed by {e.data.get('operator') or 'someone'}")
        elif e.type == "manual_answered":
            self._manual_answered(run, e)
        elif e.type == "operator_retry":
            self._operator_retry(run)
        elif e.type == "step_skipped" and run.status not in DONE_OK:
            self._operator_skip(run)

    def _manual_answered(self, run: StepRun, e: Event) -> None:
        if run.status != "waiting":
            return
        sid = run.plan.id
        d = e.data
        answer = str(d.get("answer") or "done")
        who = d.get("operator")
        self._withdraw(sid, f"answered {answer} by {who or 'someone'}")
        duration = float(d.get("wait_s") or 0.0) + float(d.get("work_s") or 0.0)
        if answer == "done":
            self._emit("step_succeeded", step=sid, duration_s=duration, attempts=run.attempt)
            run.status = "succeeded"
            self._release(sid)
        elif answer == "skip":
            self._emit(
                "step_skipped", step=sid, reason="operator", operator=who, note=d.get("note")
            )
            run.status = "skipped"
            self._release(sid)
        else:
            note = d.get("note")
            self._fail(run, f"operator: {note}" if note else "operator: failed", [])

    def _operator_retry(self, run: StepRun) -> None:
        if run.status not in ("failed", "blocked"):
            return
        sid = run.plan.id
        for root in run.blocked_by:
            self._blocked_index.get(root, set()).discard(sid)
        run.blocked_by.clear()
        run.status = "pending"
        run.failures = 0
        run.failed.clear()
        self._unblock(sid)
        if run.unmet == 0:
            self._make_ready(run)

    def _operator_skip(self, run: StepRun) -> None:
        """Another terminal skipped the step: stop whatever it was doing, count it done."""
        sid = run.plan.id
        self._withdraw(sid, "skipped by an operator")
        for job in run.active.values():
            job.done = True
            job.cancel.set()
        run.active.clear()
        run.todo.clear()
        for root in run.blocked_by:
            self._blocked_index.get(root, set()).discard(sid)
        run.blocked_by.clear()
        run.status = "skipped"
        self._release(sid)

    # -- the end --------------------------------------------------------------------------

    def _finish(self) -> str:
        statuses = [r.status for r in self.runs.values()]
        if all(s in DONE_OK for s in statuses):
            result = "succeeded"
        elif self._aborting:
            result = "aborted"
        else:
            result = "failed"
        if self._eta_dirty:
            self._emit_eta(force=True)
        self._emit("run_finished", result=result, counts=self.state.counts())
        return result

    def _cancel_all(self) -> None:
        for run in self.runs.values():
            for job in run.active.values():
                job.cancel.set()
        for sid in list(self._questions):
            self._withdraw(sid, "the run stopped")

    def _interrupt(self, reason: str) -> str:
        """Ctrl-C or SIGTERM: kill what runs, journal it, leave the run resumable."""
        self._stop = reason
        self._cancel_all()
        self.dispatcher.shutdown(kill=True)
        self._emit("run_interrupted", reason=reason)
        return "interrupted"

    def _abandon(self) -> None:
        """The journal cannot be written: stop everything we could not record."""
        self._stop = "journal"
        self._cancel_all()

"""The run's decisions, with no I/O: inputs in, events and actions out.

Inputs (a start, command completions, timers, answers, other terminals' and engines'
events) come with the clock's time; outputs go to `self.out` (_outbox.py): events to
journal, commands to start, questions to put. The loop (_engine.py) commits, then acts.
Steps move through StepTable statuses; hosts run the pure `HostAttempt` sequence;
commands wait for a CommandQueue slot. Operators: _reactions.py; the start: _start.py;
serial, max_fail, min_ok: _batches.py; several engines on one run: _claims.py.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Mapping
from typing import Any

from runbook.engine import _away as away, _batches as batches
from runbook.engine._attempt import Finished, Next, PollLater, RunCommand
from runbook.engine._decide import Decider
from runbook.engine._deciding import decide_start
from runbook.engine._dispatch import TimerHeap
from runbook.engine._host_result import captured_result, keep_stdout
from runbook.engine._io import EngineOptions, Question, QuestionKind, StepWork
from runbook.engine._jobs import CommandQueue, Completion, Job
from runbook.engine._manual import await_manual, start_manual
from runbook.engine._outbox import Ask, Emit, Outbox, Start, Withdraw
from runbook.engine._table import StepRun, StepTable
from runbook.engine._texts import failure_reason, gate_text
from runbook.model import Step
from runbook.plan import Plan
from runbook.secrets import Redactor

RUNNING = frozenset({"running", "waiting", "retry_wait"})


class RunCore:
    """Decides what happens next in a run; owns the steps, the command slots and timers."""

    def __init__(
        self,
        *,
        plan: Plan,
        steps: Mapping[str, Step],
        work: StepWork,
        timers: TimerHeap,
        redactor: Redactor,
        options: EngineOptions,
        live_output: bool = True,
        manual_duration: Callable[[str], float] | None = None,
    ) -> None:
        self.table = StepTable(plan, steps)
        self.queue = CommandQueue(options.forks)
        self.timers = timers
        self.work = work
        self.redactor = redactor
        self.options = options
        self.live_output = live_output  # commands run on threads whose output is flushed
        self.manual_duration = manual_duration
        self.out = Outbox()
        self.can_ask = False  # a terminal can answer questions
        self.questions: dict[str, Question] = {}
        self.threads: set[Job] = set()  # jobs whose command runs on a worker thread now
        self.aborting = False
        self.stopping = False  # the run is being interrupted: start nothing new
        self.deferred = False  # a ready step waits for this turn's events to be folded
        self.now = 0.0
        self.next_job = 0
        # Run-time decisions and captured results (engine/_decide.py), for playbooks with
        # steps that decide or are read; None keeps every other run on its old path.
        self.decider: Decider | None = None
        self.team: Any = None  # team mode: engine/_claims.py's Team claims each step

    # -- inputs ---------------------------------------------------------------------------

    def fire_due(self, now: float) -> None:
        """Timers that came due: retries, `until` polls, auto-answers, rehearsed results."""
        self.now = now
        for fn in self.timers.pop_due(now):
            fn()

    def completed(self, c: Completion, now: float) -> None:
        """A command ended."""
        self.now = now
        self.queue.release(c.job)
        self.threads.discard(c.job)
        if c.crash is not None:
            raise c.crash
        job = c.job
        if job.done:
            return  # cancelled (operator skip, interrupt): its end means nothing now
        if c.action == "run":
            job.ran, job.rc = True, c.result.exit_code
        job.files.update(c.result.data or {})
        nxt = batches.after_command(self.table[job.step_id], job.seq.after(c.action, c.result, now))
        chunks = job.output.finish()  # a failed poll's output is dropped; the last one kept
        if c.action != "until" or not isinstance(nxt, PollLater):
            self._journal_output(job, chunks)
        job.output = type(job.output)()
        self.advance(job, nxt)

    def start_work(self, now: float) -> None:
        """Start what may start: queued commands, ready steps, and their first commands."""
        self.now = now
        self._take_slots()
        self._start_ready()
        self._take_slots()

    def flush_output(self) -> None:
        """Journal what running commands printed so far."""
        for job in list(self.threads):
            if job.action != "until":
                self._journal_output(job, job.output.drain())

    def busy(self) -> bool:
        """Something will still happen without new input (a step active, a command queued)."""
        others = self.team is not None and self.team.holds_open(self)  # their ends ready ours
        return others or self.table.active > 0 or not self.queue.idle()

    def can_start(self) -> bool:
        return not self.aborting and self.table.has_ready()

    def attempt_running(self, sid: str, attempt: int) -> bool:
        run = self.table.get(sid)
        return run is not None and run.status in RUNNING and run.attempt == attempt

    def result(self) -> str:
        """How the run ended: succeeded, aborted or failed."""
        if all(run.met for run in self.table):
            return "succeeded"
        return "aborted" if self.aborting else "failed"

    def cancel_all(self) -> None:
        """The run stops: every running command is told to end, every question withdrawn."""
        self.stopping = True
        for run in self.table:
            for job in run.active.values():
                job.cancel.set()
        for sid in list(self.questions):
            self.withdraw(sid, "the run stopped")

    # -- steps ----------------------------------------------------------------------------

    def _start_ready(self) -> None:
        if self.aborting or self.stopping:
            return
        limit = self.options.concurrency
        active = self.table.active if limit else 0
        self.deferred = False
        while self.table.has_ready() and (not limit or active < limit):
            if self.decider is not None and self._must_wait_for_fold(self.table.peek_ready()):
                self.deferred = True  # the loop commits this turn's events, then comes back
                return
            run = self.table.pop_ready()
            if self.team is None or self.team.take(self, run):
                self._start(run)
                active += 1

    def _must_wait_for_fold(self, run: StepRun) -> bool:
        """A step that reads others starts only once the fold has every event before it."""
        return bool(run.step.reads) and not run.decided and self.out.has_events()

    def _start(self, run: StepRun) -> None:
        decider = self.decider
        decides = decider is not None and not run.decided and run.step.decides
        if decides and not decide_start(self, decider, run):  # type: ignore[arg-type]
            return
        if run.plan.kind == "manual":
            start_manual(self, run)
        elif self.options.step_gate and not run.gate_passed:
            self.table.set(run, "gate")
            self.ask(run, "gate", self.redactor.text(gate_text(self.work, run)))
        else:
            self.begin_attempt(run)

    def await_manual(self, run: StepRun) -> None:
        """A manual step waits: answered by the rehearsal's clock, or asked at the terminal."""
        await_manual(self, run)

    def begin_attempt(self, run: StepRun) -> None:
        """The step's next attempt, on the hosts that have not succeeded yet."""
        p = run.plan
        run.attempt += 1
        run.failed.clear()
        hosts = [h for h in run.hosts if h not in run.hosts_ok]
        extra = {"pattern": run.pattern} if run.pattern is not None else {}
        if batches.applies(run.step):
            hosts = batches.begin(self, run, hosts)
        self.out.emit(
            "step_started",
            step=p.id,
            attempt=run.attempt,
            kind=p.kind,
            hosts=[h for h in hosts if h is not None],
            **extra,
        )
        self.table.set(run, "running")
        run.started = run.started or self.now
        run.todo = deque(hosts)
        self.pump_hosts(run)

    # -- hosts and commands ---------------------------------------------------------------

    def pump_hosts(self, run: StepRun) -> None:
        """Start hosts while the step's `parallel` allows; the attempt ends with the last.
        Team mode: a host this engine does not reach is offered to others (_away.py)."""
        width = run.plan.parallel or len(run.hosts) or 1
        while run.todo and len(run.active) + len(run.away) < width and run.status == "running":
            host = run.todo.popleft()
            if self.team is not None and not self.team.reaches(host):
                away.offer(self, run, host)
                continue
            job = away.new_job(self, run, host, run.attempt, run.modes.pop(host, "normal"))
            self.advance(job, job.seq.begin(self.now))
        if not run.todo and not run.active and not run.away and run.status == "running":
            self._attempt_done(run)

    def advance(self, job: Job, nxt: Next) -> None:
        """The host's next command, poll, or end."""
        if isinstance(nxt, RunCommand):
            self.queue.submit(job, nxt)
        elif isinstance(nxt, PollLater):
            self.timers.add(nxt.at, lambda: self._poll(job))
        else:
            self._host_done(job, nxt)

    def _poll(self, job: Job) -> None:
        if not job.done:
            self.advance(job, job.seq.poll(self.now))

    def _take_slots(self) -> None:
        taken = self.queue.take(self._before_start)
        if taken:
            self.out.add(Start(taken))

    def _before_start(self, job: Job, cmd: RunCommand) -> RunCommand | None:
        """Journal a command about to start (commit before act), with a fresh timeout."""
        now = self.now
        if not job.began:
            job.began = True
            job.started = now
            job.seq.restart(now)
        timeout = max(job.seq.remaining(now), 0.001)
        if cmd.action != "until" or job.polls == 0:
            self.out.emit(
                "host_started",
                step=job.step_id,
                host=job.host,
                attempt=job.attempt,
                action=cmd.action,
                command=job.commands.display(cmd.action),
            )
        if cmd.action == "until":
            job.polls += 1
        job.command_started = now
        if self.live_output:
            self.threads.add(job)
        return RunCommand(cmd.action, cmd.command, timeout)

    def _journal_output(self, job: Job, chunks: list[Any]) -> None:
        if job.action == "run" and self.decider is not None:
            chunks = keep_stdout(job, chunks, self.table[job.step_id].step)
        for chunk in chunks:
            self.out.emit("host_output", step=job.step_id, host=job.host, **job.output_data(chunk))

    def _host_done(self, job: Job, fin: Finished) -> None:
        job.done = True
        run = self.table[job.step_id]
        run.active.pop(job.host, None)
        duration = round(self.now - job.started, 3)
        captured: dict[str, Any] = {}
        decider = self.decider
        if decider is not None and not fin.skipped and decider.captures(run.step):
            captured, fin = captured_result(decider, run.step, job, fin)
        if fin.ok:
            self.out.emit(
                "host_succeeded",
                step=job.step_id,
                host=job.host,
                attempt=job.attempt,
                duration_s=duration,
                skipped=fin.skipped,
                **({"message": fin.message} if fin.message and not fin.skipped else {}),
                **captured,
                **job.files,
            )
            run.hosts_ok.add(job.host)
        else:
            self.out.emit(
                "host_failed",
                step=job.step_id,
                host=job.host,
                attempt=job.attempt,
                duration_s=duration,
                reason=fin.reason,
                exit_code=fin.exit_code,
                message=fin.message,
                **captured,
                **job.files,
            )
            run.failed[job.host] = fin
        if run.quota is not None and batches.after_host(self, run):
            return
        self.pump_hosts(run)

    # -- the end of an attempt ------------------------------------------------------------

    def _attempt_done(self, run: StepRun) -> None:
        p = run.plan
        now = self.now
        if run.quota is not None and batches.attempt_done(self, run):
            return
        if not run.failed:
            batches.step_succeeded(self, run)
            return
        failed_hosts = sorted(h for h in run.failed if h is not None)
        reasons = [f.reason for f in run.failed.values()]  # same text again, or uncertain:
        final = "uncertain" in reasons or all(r == "output" for r in reasons)  # no retry
        if run.failures < run.step.retries and not final:
            run.failures += 1
            delay = run.step.retry_delay_s
            self.out.emit(
                "step_retrying",
                step=p.id,
                attempt=run.attempt,
                delay_s=delay,
                failed_hosts=failed_hosts,
            )
            self.table.set(run, "retry_wait")
            self.timers.add(now + delay, lambda: self._retry(run))
            return
        self.fail(run, failure_reason(run), failed_hosts)

    def _retry(self, run: StepRun) -> None:
        if run.status == "retry_wait" and not self.stopping:
            self.begin_attempt(run)

    def succeed(self, run: StepRun) -> None:
        """The step succeeded (its event is emitted): its dependents may go on."""
        self.table.set(run, "succeeded")
        self.table.release(run.id)

    def fail(self, run: StepRun, reason: str, failed_hosts: list[str]) -> None:
        """The step failed: journal it, block what depends on it (or abort the run)."""
        now = self.now
        tolerated = run.step.on_failure == "continue"
        data: dict[str, Any] = {
            "duration_s": round(now - (run.started or now), 3),
            "attempts": run.attempt,
            "failed_hosts": failed_hosts,
            "reason": reason,
        }
        if tolerated:
            data["tolerated"] = True
        self.out.add(Emit("step_failed", run.id, None, data))
        self.table.set(run, "failed")
        if tolerated:
            run.tolerated = True  # its dependents go on (they can test steps['x'].failed)
            self.table.release(run.id)
            return
        if run.plan.on_failure == "abort":
            self.aborting = True
        self.block_from(run)

    def block_from(self, run: StepRun) -> None:
        for blocked in self.table.block_from(run.id):
            self.out.emit("step_blocked", step=blocked.id, by=sorted(blocked.blocked_by))

    def skip(self, run: StepRun, operator: str | None, note: str | None) -> None:
        """An operator skipped the step (its event not yet journaled): count it done."""
        self.out.emit("step_skipped", step=run.id, reason="operator", operator=operator, note=note)
        self.skipped(run)

    def skipped(self, run: StepRun) -> None:
        self.table.set(run, "skipped")
        self.table.release(run.id)

    def ask(
        self, run: StepRun, kind: QuestionKind, text: str, value: Mapping[str, Any] | None = None
    ) -> None:
        p = run.plan
        q = Question(p.id, kind, p.title, text, p.hosts, p.owner, value, p.doc)
        self.questions[p.id] = q
        if self.can_ask:
            self.out.add(Ask(q))

    def withdraw(self, sid: str, why: str) -> None:
        if self.questions.pop(sid, None) is not None and self.can_ask:
            self.out.add(Withdraw(sid, why))

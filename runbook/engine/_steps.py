"""Starting steps and carrying them to their end: attempts, hosts, commands, retries, failure.

A step's attempt fans out over its hosts (at most `parallel` at once); each host runs the
pure `HostAttempt` sequence; commands go through the dispatcher, which starts them only
once their `host_started` is committed (the start is an action of the group commit).
"""

from __future__ import annotations

import heapq
from collections import deque
from typing import Any

from runbook.engine._attempt import Finished, HostAttempt, Next, PollLater, RunCommand
from runbook.engine._core import EngineCore, StepRun
from runbook.engine._dispatch import Completion, Job
from runbook.errors import StateError
from runbook.executors import ACTIONS
from runbook.journal import confirm


class StepRunner(EngineCore):
    """Ready steps → attempts → host sequences → results."""

    # -- starting steps -------------------------------------------------------------------

    def _start_ready(self) -> None:
        if self._aborting or self._stop is not None:
            return
        limit = self.options.concurrency
        active = self._active[0] if limit else 0
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
        lines = [f"{a}: {t}" for a in ACTIONS if (t := c.display(a))]
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

    def _answer_manual(self, sid: str, choice: str, note: str, operator: str) -> None:
        # `confirm` checks the step still waits, in its own transaction: store ours first.
        self._commit()
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
        self.commits.committed([event])

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

    # -- hosts and commands ---------------------------------------------------------------

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

    def _start_commands(self) -> None:
        """Take free slots for queued commands; they start once their events are stored."""
        starts = self.dispatcher.pump(self._before_start)
        if starts:
            dispatcher = self.dispatcher
            self.commits.act(lambda: dispatcher.start(starts))

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
                command=job.commands.display(cmd.action),
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

    def _skip(self, run: StepRun, operator: str, note: str) -> None:
        self._emit(
            "step_skipped", step=run.plan.id, reason="operator", operator=operator, note=note
        )
        run.status = "skipped"
        self._release(run.plan.id)

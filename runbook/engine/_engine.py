"""The scheduler: ready steps → dispatcher → journal events. It never prints.

One loop on one thread, on a real or a virtual clock: a timer heap (retry delays, `until`
polls, rehearsed completions, auto-answers) plus one completion queue fed by worker
threads. Each loop turn gathers every transition it can — all completions waiting, due
timers, answers, the next steps and commands — commits them in one transaction, and only
then acts on them (STYLE rule 7, by group commit: runbook/engine/_commit.py). Everything
the engine learns from outside — `confirm`, `claim`, `retry`, `skip`, `expect` from any
terminal — arrives as journal events, polled a few times a second.

The engine is built in layers, each a module with one job: engine_core (shared memory,
ready queue, blocks, the journal side), engine_steps (attempts, hosts, commands,
results), engine_operators (operator reactions), engine_resume (resume), engine_eta
(when to forecast); this module is the loop and the end of a run.
"""

from __future__ import annotations

import contextlib
import queue
import time

from runbook.clock import VirtualClock, iso
from runbook.engine._core import DONE_OK
from runbook.engine._resume import ResumingEngine
from runbook.errors import JournalError
from runbook.forecast import eta_data

POLL_S = 0.25  # how often the journal is read for other terminals' decisions (real time)
FLUSH_S = 0.3  # how often running commands' output is journaled
RUNNING = frozenset({"running", "waiting", "retry_wait"})


class Engine(ResumingEngine):
    """Runs one run to its end, or until interrupted; `run()` returns the result word."""

    _next_poll = 0.0
    _next_flush = 0.0

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

    def run(self) -> str:
        """Drive the run until nothing more can happen: succeeded, failed, aborted, interrupted."""
        try:
            self._commit()  # skips journaled by start_fresh / start_resumed come first
            self._write_eta(force=True)
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
        self._start_commands()
        self._start_ready()
        self._start_commands()
        self._commit()  # the whole turn in one transaction, then its actions
        self.eta.check(self.clock.now(), self._active[0] > 0, self._attempt_running)
        if self.eta.dirty:
            self._write_eta()
        self.listener.tick(self.state, self.clock.now())

    def _attempt_running(self, sid: str, attempt: int) -> bool:
        run = self.runs.get(sid)
        return run is not None and run.status in RUNNING and run.attempt == attempt

    def _finished(self) -> bool:
        if self._inbox or not self._answers.empty() or self._early or self.commits.pending:
            return False
        if self._active[0]:
            return False
        if not self.dispatcher.idle():
            return False
        return self._aborting or not self._has_ready()

    def _wait(self) -> None:
        clock = self.clock
        next_at = self.timers.next_at()
        eta_at = self.eta.next_at(self._active[0] > 0)
        if isinstance(clock, VirtualClock) and not self.dispatcher.threads_in_flight:
            if next_at is None:  # only people can move things now: let time pass with them
                time.sleep(POLL_S)
                clock.advance_to(clock.now() + POLL_S * (clock.speed or 1.0))
                return
            # A due ETA is a stop for the clock, but never a reason for time to move.
            if eta_at is not None:
                next_at = min(next_at, eta_at)
            if clock.speed is None:
                clock.advance_to(next_at)
            else:
                clock.advance_to(min(next_at, clock.now() + POLL_S * clock.speed))
            return
        timeout = POLL_S
        for at in (next_at, eta_at):
            if at is not None:
                timeout = min(timeout, max(0.0, at - clock.now()))
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

    def _write_eta(self, force: bool = False) -> None:
        """Forecast from the committed state and journal it, within the forecasting budget."""
        if not (force or self.eta.affordable()):
            return  # stays due: the next turn with budget writes it
        t = time.monotonic()
        now = self.clock.now()
        forecast = self.forecaster.forecast(self.state, now)
        self._emit("eta", **eta_data(forecast, iso))
        self._commit()
        self.eta.written(now, time.monotonic() - t)

    # -- the end --------------------------------------------------------------------------

    def _finish(self) -> str:
        statuses = [r.status for r in self.runs.values()]
        if all(s in DONE_OK for s in statuses):
            result = "succeeded"
        elif self._aborting:
            result = "aborted"
        else:
            result = "failed"
        if self.eta.dirty:
            self._write_eta(force=True)
        self._emit("run_finished", result=result, counts=self.state.counts())
        self._commit()
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
        # What this turn learnt is still stored (hosts that finished stay finished), but
        # nothing it was about to start is started.
        self.commits.drop_actions()
        self._cancel_all()
        self.dispatcher.shutdown(kill=True)
        self._emit("run_interrupted", reason=reason)
        self._commit()
        return "interrupted"

    def _abandon(self) -> None:
        """The journal cannot be written: stop everything we could not record."""
        self._stop = "journal"
        self.commits.drop_actions()
        self._cancel_all()

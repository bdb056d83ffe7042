"""Running a run under the console: the engine on its own thread, Textual on the main one.

The command's call (`session.execute`, `resume`) runs on a worker thread with a
Ui whose listener and asker are the console's Feed. The console starts only once the run
has an id (bad input fails before it, on the normal screen, as without a console). When
the engine stops, the console closes and the final board and the summary are printed on
the normal screen. Ctrl-C (a key to Textual, not a signal), SIGTERM and SIGHUP (the
terminal hung up) interrupt the run the same way a signal does without the console:
journaled, resumable, exit 130.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from rich.console import Console, RenderableType

from runbook.errors import EXIT_INTERRUPTED
from runbook.events import RunState
from runbook.present._board import board_of
from runbook.present._decisions import Decision, DecisionWriter
from runbook.present._draw import render_final
from runbook.present._feed import Feed
from runbook.present._summary import render_summary

if TYPE_CHECKING:
    from runbook.app import Ui
    from runbook.journal import StateRef
    from runbook.present._console import RunConsole


def step_output(state_path: StateRef, run_id: str, step: str) -> str:
    """What a step printed, every host and attempt, from the journal."""
    from runbook.journal import open_journal

    lines: list[str] = []
    with open_journal(state_path, create=False) as journal:
        for e in journal.events(run_id):
            if e.step != step:
                continue
            if e.type == "step_started":
                lines.append(f"── attempt {e.data.get('attempt')} ──")
            elif e.type == "host_output":
                where = f"{e.host} | " if e.host else ""
                lines.extend(f"{where}{ln}" for ln in str(e.data.get("text") or "").splitlines())
            elif e.type == "host_failed":
                lines.append(f"{e.host}: {e.data.get('reason')}: {e.data.get('message')}")
    return "\n".join(lines)


def summary_of(state: RunState, *, engine_stopped: bool) -> RenderableType:
    """The run's summary (runbook/report/_run_summary.py decides what it says)."""
    from runbook.report import run_summary

    now = state.finished or state.last_ts or time.time()
    return render_summary(run_summary(state, now, engine_stopped=engine_stopped))


def print_end(state: RunState, color: bool, *, engine_stopped: bool = True) -> None:
    """The final board and the summary, on the normal screen."""
    console = Console(no_color=not color, highlight=False, emoji=False, soft_wrap=True)
    now = state.finished or state.last_ts or time.time()
    console.print(render_final(board_of(state, now)))
    console.print(summary_of(state, engine_stopped=engine_stopped))


class ConsoleRun:
    """One run on a worker thread, feeding a console; the pieces `run_console` joins."""

    def __init__(self, call: Callable[[Ui], int], state_path: StateRef) -> None:
        self.call = call
        self.state_path = state_path
        self._stop_reason: str | None = None
        self.feed = Feed()
        self.decisions: DecisionWriter | None = None  # R/S/E, journaled as the commands do
        self.engine: Any = None
        self.code: int | None = None
        self.error: BaseException | None = None
        self._announced = threading.Event()
        self._worker = threading.Thread(target=self._work, name="runbook-engine", daemon=True)

    def start(self) -> bool:
        """Start the run; True once it has an id, False if it failed before (self.error)."""
        self._worker.start()
        # Textual loads while the run checks its input and plans (on the worker).
        import runbook.present._console  # noqa: F401

        self._announced.wait()
        return bool(self.feed.run_id) and self.error is None

    def _announce(self, run_id: str) -> None:
        self.feed.run_id = run_id
        self._announced.set()

    def _bind(self, engine: Any) -> Feed:
        from runbook.journal import operator_name

        self.engine = engine
        operator = operator_name(getattr(engine.options, "operator", None))
        self.decisions = DecisionWriter(self.state_path, self.feed.run_id, operator, self.feed)
        self.feed.decide = self.decisions.put
        if self._stop_reason is not None:
            engine.request_stop(self._stop_reason)
        self.feed.answer = lambda step, choice, note, value: engine.answer(
            step, choice, note, None, value
        )
        return self.feed

    def _work(self) -> None:
        from runbook.app import Ui

        ui = Ui(
            announce=self._announce,
            listener=self.feed,
            asker=self._bind,  # also how the console holds the engine, to stop it
            done=self.feed.done,
        )
        try:
            self.code = self.call(ui)
        except BaseException as err:  # handed to the main thread, which reports it
            self.error = err
        finally:
            self.feed.done()
            self._announced.set()

    def stop(self, reason: str = "SIGINT") -> None:
        """Interrupt the run (journaled, resumable): Ctrl-C, q twice, SIGINT, SIGTERM, SIGHUP."""
        self._stop_reason = reason
        if self.engine is not None:
            self.engine.request_stop(reason)

    def summary(self) -> RenderableType | None:
        state = self.feed.final_state
        if state is None or not state.run_id:
            return None
        return summary_of(state, engine_stopped=True)

    def console(self, **options: Any) -> RunConsole:
        from runbook.present._console import RunConsole

        return RunConsole(
            self.feed,
            stop=self.stop,
            output_of=lambda step: step_output(self.state_path, self.feed.run_id, step),
            summary_of=self.summary,
            **options,
        )

    def join(self, timeout: float | None = None) -> None:
        """Wait for the run to end; then its last console decisions are journaled and
        their writer's thread ends with it."""
        self._worker.join(timeout)
        if not self._worker.is_alive() and self.decisions is not None:
            self.decisions.stop()

    @property
    def announced(self) -> bool:
        """The run has an id (or failed before it had one)."""
        return self._announced.is_set()

    @property
    def alive(self) -> bool:
        return self._worker.is_alive()


def run_console(
    call: Callable[[Ui], int], state_path: StateRef, *, color: bool, verbosity: int = 0
) -> int:
    """Run `call` (the engine) under the console; returns its exit code."""
    from runbook.app._signals import on_stop_signals, restore

    run = ConsoleRun(call, state_path)
    run.feed.verbose = verbosity > 0
    hangup = HangupExit(run.join)

    def stop(reason: str) -> None:
        if not run.announced:
            # Still reading its input (a FIFO nobody writes, a hanging inventory script):
            # nothing is journaled yet and nothing wakes the worker; the command ends here
            # (exit 130), the worker (a daemon thread) with it.
            raise KeyboardInterrupt
        run.stop(reason)
        if reason == "SIGHUP":
            hangup.hung_up.set()

    # Textual reads Ctrl-C as a key; a SIGINT, SIGTERM or SIGHUP from elsewhere stops the
    # run the same way (journaled, resumable), even before the engine exists.
    previous = on_stop_signals(stop)
    try:
        if run.start():
            run.console().run()
        run.join()  # after q or Ctrl-C the engine is still stopping
    finally:
        if run.decisions is not None:
            run.decisions.stop()
        restore(previous)
    if run.error is not None:
        raise run.error
    if run.feed.final_state is not None and run.feed.final_state.run_id:
        print_end(run.feed.final_state, color)
    return run.code if run.code is not None else 130


HANGUP_EXIT_S = 5.0  # after a hang-up, how long a console has to end the process by itself


class HangupExit:
    """After a hang-up (`hung_up` set), once `stopped()` returns (the run journaled its
    interruption and killed its commands), the process has HANGUP_EXIT_S to end by
    itself; else it ends then, exit 130. Nobody is left to see the screen.

    With the terminal let go of (runbook/app/_signals.py) a console closes as after a
    SIGTERM, but not surely: a write that hit the terminal after it hung up and before it
    was let go of ends Textual's writer thread, and Textual then waits on its queue for
    ever when it closes. The thread that waits for the hang-up starts here, not in the
    signal handler (which may have interrupted the main thread while it held threading's
    own locks).
    """

    def __init__(self, stopped: Callable[[], None]) -> None:
        self.stopped = stopped
        self.hung_up = threading.Event()
        threading.Thread(target=self._end, name="runbook-hangup", daemon=True).start()

    def _end(self) -> None:
        self.hung_up.wait()
        self.stopped()
        time.sleep(HANGUP_EXIT_S)
        os._exit(EXIT_INTERRUPTED)


def watch(state_path: StateRef, run_id: str, operator: str, *, color: bool) -> int:
    """`runbook watch`: the console on a run held by another terminal (or finished)."""
    from runbook.errors import EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK
    from runbook.journal import open_journal

    with open_journal(state_path, create=False) as journal:
        state = journal.state(run_id)
    if state.is_finished or not sys.stdout.isatty():
        if not state.is_finished:
            state = _follow_plain(state_path, run_id, state)
    else:
        state = _watch_console(state_path, run_id, operator)
    # Left on q, the run goes on elsewhere: its summary says "running", not how it ended.
    print_end(state, color, engine_stopped=False)
    codes = {"succeeded": EXIT_OK, "failed": EXIT_FAILED, "aborted": EXIT_FAILED}
    if state.result is None:
        return EXIT_OK if state.status == "running" else EXIT_INTERRUPTED
    return codes.get(state.result, EXIT_INTERRUPTED)


def _follow_plain(state_path: StateRef, run_id: str, state: RunState) -> RunState:
    """Piped: one line per event until the run ends or is interrupted."""
    from runbook.journal import open_journal
    from runbook.present._plain import PlainListener

    lines = PlainListener()
    with open_journal(state_path, create=False) as journal:
        while state.status == "running":
            for e in journal.events(run_id, after_seq=state.last_seq):
                state.apply(e)
                lines.event(e, state)
            if state.status == "running" and not journal.is_engine_live(run_id):
                break  # its engine died: nothing more will come (the summary says so)
            time.sleep(0.25)
    return state


def _watch_console(state_path: StateRef, run_id: str, operator: str) -> RunState:
    from runbook.app._signals import on_stop_signals, restore
    from runbook.present._console import RunConsole
    from runbook.present._watch import JournalFollower

    feed = Feed(run_id=run_id)
    follower = JournalFollower(state_path, run_id, feed)
    decisions = DecisionWriter(state_path, run_id, operator, feed)
    feed.answer = lambda step, choice, note, value: decisions.put(
        Decision(step, "confirm", note, answer=choice, value=value)
    )
    feed.decide = decisions.put
    hangup = HangupExit(lambda: None)
    stopped = threading.Event()

    def stop(reason: str) -> None:
        # Not an exception: raised into Textual while it starts or draws, it printed a
        # traceback and could leave Textual's input thread holding the exit. The console
        # closes at its next look; after a hang-up the process ends surely (HangupExit).
        stopped.set()
        if reason == "SIGHUP":
            hangup.hung_up.set()

    previous = on_stop_signals(stop)
    follower.start()
    try:
        RunConsole(
            feed,
            output_of=lambda step: step_output(state_path, run_id, step),
            summary_of=lambda: summary_of(follower.state, engine_stopped=False),
            leave=stopped.is_set,
        ).run()
    finally:
        restore(previous)
        decisions.stop()
        follower.stop()
    if stopped.is_set():
        raise KeyboardInterrupt  # watch ends as runbook.cli ends a command on a signal: 130
    return follower.state

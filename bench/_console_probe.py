"""`python bench/_console_probe.py RUNBOOK-ARGS…`: runbook's CLI, with the console's own CPU
counted apart (bench/console_cost.py runs it on a pseudo-terminal).

The A/B comparison of bench/console_cost.py (a run with the console against the same run
with --plain) is what a user pays, but on a 500-host run its noise (the sshd processes on
the same two cores) is larger than the console itself. This probe counts, in one process,
the CPU time of every thread's share that exists only because of the console:
  import    loading Textual (the main thread, while the engine checks and plans)
  screen    the main thread while the console runs (Textual's loop: pulls, layout, render)
  textual   Textual's own threads (the terminal writer, the key reader)
  feed      the console's Feed on the engine's thread (log lines, boards, questions)
and the whole process's CPU (getrusage), and writes them as JSON to $RUNBOOK_PROBE_OUT.
Each figure is the thread's own CPU clock (CLOCK_THREAD_CPUTIME_ID), so the other
processes on the machine do not count in it.
"""

from __future__ import annotations

import atexit
import functools
import json
import os
import resource
import threading
import time
from collections.abc import Callable
from typing import Any

spent = {"import": 0.0, "screen": 0.0, "textual": 0.0, "feed": 0.0}
lock = threading.Lock()


def counted(name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
    """fn, its thread's CPU time added to spent[name]."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        start = time.thread_time()
        try:
            return fn(*args, **kwargs)
        finally:
            used = time.thread_time() - start
            with lock:
                spent[name] += used

    return wrapper


def install() -> None:
    from runbook.present import _console_run, _feed

    for method in ("event", "tick", "ask", "put_asks", "withdraw", "done", "end"):
        setattr(_feed.Feed, method, counted("feed", getattr(_feed.Feed, method)))
    _console_run.ConsoleRun.start = counted("import", _console_run.ConsoleRun.start)
    original_console = _console_run.ConsoleRun.console

    def console(self: Any, **options: Any) -> Any:
        app = counted("screen", original_console)(self, **options)  # the App built, too
        app.run = counted("screen", app.run)
        _count_textual_threads()
        return app

    _console_run.ConsoleRun.console = console


def _count_textual_threads() -> None:
    from textual.drivers import _writer_thread, linux_driver

    writer = _writer_thread.WriterThread
    writer.run = counted("textual", writer.run)
    driver = linux_driver.LinuxDriver
    driver._run_input_thread = counted("textual", driver._run_input_thread)


def report() -> None:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    out = dict(spent, process=usage.ru_utime + usage.ru_stime)
    path = os.environ.get("RUNBOOK_PROBE_OUT")
    if path:
        with open(path, "w") as f:
            json.dump(out, f)


if __name__ == "__main__":
    import sys

    sys.argv = ["runbook", *sys.argv[1:]]
    install()
    atexit.register(report)
    from runbook.cli import entry

    entry()

"""The signals that stop a run: SIGINT (Ctrl-C), SIGTERM and SIGHUP (the terminal hung up).

Each stops a run the same way: journaled (`run_interrupted` with the signal's name), its
commands killed, resumable, exit 130. A hang-up also means the terminal is gone: from then
on every write to it fails (EIO) and every read ends, so what the command still writes
(the last lines, the summary, the console leaving its screen) would fail half-way. Before
anything else, the descriptors among stdin, stdout and stderr that were that terminal are
pointed at /dev/null (and a SIGCONT no longer makes the console take the terminal back).
Pipes and files stay as they are: whoever reads them may still be there. A SIGHUP that
the process was started ignoring (`nohup runbook run ...`) stays ignored: the run goes on.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Callable, Iterable, Mapping
from typing import Any

STDIO = (0, 1, 2)
Handler = Any  # what signal.signal returns: a callable, SIG_DFL, SIG_IGN or None


def stop_signals() -> tuple[signal.Signals, ...]:
    """SIGINT, SIGTERM and, unless this process ignores it (nohup), SIGHUP."""
    sigs = (signal.SIGINT, signal.SIGTERM)
    if signal.getsignal(signal.SIGHUP) == signal.SIG_IGN:
        return sigs
    return (*sigs, signal.SIGHUP)


def terminal_fds() -> tuple[int, ...]:
    """Which of stdin, stdout and stderr are a terminal (ask before a hang-up: after one, a
    terminal no longer says it is one)."""
    found = []
    for fd in STDIO:
        try:
            if os.isatty(fd):
                found.append(fd)
        except OSError:  # pragma: no cover - a closed descriptor
            pass
    return tuple(found)


def let_go(fds: Iterable[int]) -> None:
    """Point `fds` (a terminal that hung up) at /dev/null: writes vanish, reads end."""
    null = os.open(os.devnull, os.O_RDWR)
    try:
        for fd in fds:
            os.dup2(null, fd)
    finally:
        os.close(null)


def _nothing(_num: int, _frame: object) -> None:
    pass


def on_stop_signals(
    stop: Callable[[str], None], sigs: Iterable[signal.Signals] | None = None
) -> dict[signal.Signals, Handler]:
    """Call `stop(name)` on each of `sigs` (default: `stop_signals()`), after letting go of
    the terminal on a SIGHUP; returns the handlers they replace (for `restore`).

    Main thread only (Python's rule for signal handlers)."""
    terminal = terminal_fds()

    def handler(num: int, _frame: object) -> None:
        if num == signal.SIGHUP:
            let_go(terminal)
            # A session leader gets SIGCONT with the SIGHUP: there is no terminal for the
            # console (Textual) to take back as after a Ctrl-Z, so a SIGCONT now does
            # nothing, even one already pending (its handler is looked up after this one).
            signal.signal(signal.SIGCONT, _nothing)
        stop(signal.Signals(num).name)

    chosen = stop_signals() if sigs is None else tuple(sigs)
    return {sig: signal.signal(sig, handler) for sig in chosen}


def restore(previous: Mapping[signal.Signals, Handler]) -> None:
    """Put back the handlers `on_stop_signals` replaced."""
    for sig, handler in previous.items():
        signal.signal(sig, handler)

"""`runbook join RUN_ID`: another engine on a run, from another machine (team mode).

The engine journals `engine_joined`, then stands by: it claims the run's lease as soon as
it is free or expired (runbook/journal/_pg_lease.py) and, holding it, takes the run over
exactly as `resume` does after a crash: the commands a dead engine left on reachable hosts
are ended, and what was in flight is re-run only if idempotent, else settled by `skip_if`
/ `verify`, else left to an operator. It leaves (`engine_left`) when the run ends, on
Ctrl-C, or when it loses the lease.
"""

from __future__ import annotations

import contextlib
import signal
import socket
from collections.abc import Iterator, Mapping
from types import FrameType
from typing import Any

from runbook.app._join_check import Joined
from runbook.app._session_engine import Ui
from runbook.errors import EXIT_FAILED, EXIT_OK, InputError, JournalError
from runbook.journal import StateRef, is_postgres, open_journal

# How a finished run ends a standby engine: as `runbook run` would have ended.
_RESULT_EXIT = {"succeeded": EXIT_OK}


def join(
    state: StateRef,
    run_text: str,
    ui: Ui,
    *,
    where: Joined,
    lease_s: float | None = None,
    operator: str | None = None,
    environ: Mapping[str, str] | None = None,
) -> int:
    """Stand by on the run until its lease is free, then run it; the exit code."""
    from runbook.app._session_resume import resume

    if not is_postgres(state):
        raise InputError(
            "join needs a shared journal: --state postgresql://… (or RUNBOOK_STATE); on an "
            "SQLite file one engine runs a run: runbook resume RUN_ID"
        )
    journal: Any = open_journal(state, create=False, lease_s=lease_s)
    try:
        run_id = journal.resolve_run_id(run_text)
        events = journal.events(run_id)
        if events and events[0].data.get("mode") == "rehearsal":
            raise InputError(f"run {run_id} is a rehearsal: it runs on one virtual clock")
        me = {"engine": journal.engine, "lease_s": journal.lease_s, "host": socket.gethostname()}
        journal.append(run_id, "engine_joined", ts=0.0, data=me)
        try:
            with _interruptible() as stopped:
                held = _stand_by(journal, run_id, stopped)
            if held is None:
                state_now = journal.state(run_id)
                if stopped:
                    return 130
                return _RESULT_EXIT.get(state_now.status, EXIT_FAILED)
            ui.announce(run_id)
            try:
                return resume(
                    state,
                    run_id,
                    ui,
                    operator=operator,
                    environ=environ,
                    journal=journal,
                    hold=lambda: journal.holding(held),
                    where=where,
                )
            except BaseException:
                # Refused before it held the run (another playbook, a missing secret):
                # give the lease back now rather than make the others wait for its end.
                with contextlib.suppress(JournalError):
                    journal.release(held)
                raise
        finally:
            with contextlib.suppress(JournalError):
                journal.append(run_id, "engine_left", ts=0.0, data={"engine": journal.engine})
    finally:
        journal.close()


def _stand_by(journal: Any, run_id: str, stopped: list[bool]) -> Any:
    """Wait for the run's lease; None when the run ended (or Ctrl-C) before it came free."""
    while not stopped:
        state = journal.state(run_id)
        if state.is_finished and not journal.is_engine_live(run_id):
            return None
        got = journal.try_claim(run_id)
        if not isinstance(got, str):
            if journal.state(run_id).is_finished:  # it ended as its holder let go
                journal.release(got)
                return None
            return got
        # Woken by the holder's commits; a third of the lease at most between two looks.
        journal.wait_for_events(run_id, state.last_seq, min(journal.lease_s / 3, 2.0))
    return None


@contextlib.contextmanager
def _interruptible() -> Iterator[list[bool]]:
    """Ctrl-C or SIGTERM while standing by: leave quietly (the flag list turns true)."""
    stopped: list[bool] = []

    def stop(signum: int, frame: FrameType | None) -> None:
        stopped.append(True)

    previous = {s: signal.signal(s, stop) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield stopped
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)

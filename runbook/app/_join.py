"""`runbook join RUN_ID`: another engine on a run, from another machine (team mode).

While other engines work on the run, the new one joins them: it journals
`engine_joined`, folds the run as it stands, and claims ready steps one by one (its
`--limit` hosts, its own `--concurrency` and `--forks`; none of the local ones with
`--no-local`), following the other engines' steps through the journal and taking over
those of an engine that leaves or dies (runbook/engine/_claims.py). When no engine is
live, it takes the run over exactly as `resume` does after a crash: the commands a dead
engine left on reachable hosts are ended, and what was in flight is re-run only if
idempotent, else settled by `skip_if` / `verify`, else left to an operator. It leaves
(`engine_left`) when the run ends, on Ctrl-C, or when it loses its lease.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from typing import Any

from runbook.app._join_check import Joined
from runbook.app._session_engine import Ui
from runbook.errors import EXIT_FAILED, EXIT_OK, InputError
from runbook.journal import StateRef, is_postgres, open_journal

# How a finished run ends a joining engine: as `runbook run` would have ended.
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
    """Work on the run with the engines on it (or alone, taking it over); the exit code."""
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
        run_state = journal.state(run_id)
        if run_state.is_finished and not journal.is_engine_live(run_id):
            return _RESULT_EXIT.get(run_state.status, EXIT_FAILED)
        held = journal.try_claim(run_id, alone=True)
        joining = isinstance(held, str)  # a live engine works on it: work beside it
        if joining:
            held = journal.try_claim(run_id, alone=False)
        # Renewed from now, not from when the engine starts: reading the playbook and the
        # inventory and dialling the hosts may outlast a short lease on a loaded machine.
        # Refused before it worked (another playbook, a missing secret), it leaves at once
        # (holding's engine_left) rather than make the others wait for its lease to run out.
        with journal.holding(held):
            return resume(
                state,
                run_id,
                ui,
                operator=operator,
                environ=environ,
                journal=journal,
                hold=contextlib.nullcontext,  # engine_joined: runbook/app/_team.py
                where=where,
                joining=joining,
            )
    finally:
        journal.close()

"""After a lost lease (team mode): kill nothing, and journal each running command's end as
`late_result`, with the fence the engine held. These events change no state: the run is
the new holder's, who ends the run's processes on the hosts it reaches and settles what
was in flight as after a crash."""

from __future__ import annotations

from collections import deque
from typing import Any

from runbook.engine._dispatch import Dispatcher
from runbook.engine._jobs import Completion
from runbook.journal import EventStore


def late_results(
    journal: EventStore,
    run_id: str,
    dispatcher: Dispatcher,
    early: deque[Completion],
    lost: Any,
) -> None:
    """Wait for the commands still running; journal how each ended, as a late result."""
    while early or dispatcher.threads_in_flight:
        c = early.popleft() if early else dispatcher.completions.get()
        dispatcher.taken(c)
        result = c.result
        journal.append(
            run_id,
            "late_result",
            ts=0.0,
            step=c.job.step_id,
            host=c.job.host,
            data={
                "engine": getattr(lost, "engine", None),
                "fence": getattr(lost, "hosts", {}).get(
                    (c.job.step_id, c.job.host or ""),
                    getattr(lost, "claims", {}).get(c.job.step_id, getattr(lost, "fence", None)),
                ),
                "action": c.action,
                "attempt": c.job.attempt,
                "exit_code": result.exit_code,
                "timed_out": result.timed_out,
                "duration_s": round(result.duration_s, 3),
            },
        )

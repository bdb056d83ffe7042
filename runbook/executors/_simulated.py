"""The rehearsal transport: nothing runs; each command "takes" its drawn or given duration.

Rehearsals run on a virtual clock, so this is not a blocking Transport: the engine asks
for the outcome and the delay, and delivers the result from its timer heap.
"""

from __future__ import annotations

from runbook.executors._base import Action, CommandResult, Commands
from runbook.executors._rehearsal_times import RehearsalTimes


class SimulatedWork:
    """Outcomes of rehearsed commands: the step's work is done by its first real action."""

    def __init__(self, times: RehearsalTimes) -> None:
        self.times = times

    def outcome(
        self, step_id: str, host: str | None, commands: Commands, action: Action, timeout_s: float
    ) -> tuple[float, CommandResult]:
        """(virtual seconds it takes, how it ends) for one command of a rehearsal."""
        if action == "skip_if":
            return 0.0, CommandResult(1, 0.0)  # nothing is ever "already done" in a rehearsal
        order: tuple[Action, ...] = ("run", "until", "verify", "copy", "fetch")
        work = next(a for a in order if commands.get(a) is not None)
        if action != work:
            return 0.0, CommandResult(0, 0.0)
        d = self.times.host(step_id, host)
        if not self.times.given(step_id, host):
            # A draw from the estimate's tail is not evidence that the step would time
            # out: keep it just inside the timeout. A duration from the file is honoured.
            d = min(d, timeout_s * 0.999)
        if d > timeout_s:
            return timeout_s, CommandResult(None, timeout_s, timed_out=True)
        return d, CommandResult(0, d)

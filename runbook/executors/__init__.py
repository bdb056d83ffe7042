"""Transports: local processes and rehearsals; SSH lives in `runbook.executors.ssh`."""

from __future__ import annotations

from typing import TYPE_CHECKING

from runbook.exports import lazy_exports

if TYPE_CHECKING:
    from runbook.executors._base import (
        ACTIONS as ACTIONS,
        NUL_IN_COMMAND as NUL_IN_COMMAND,
        Action as Action,
        CommandResult as CommandResult,
        Commands as Commands,
        OutputBuffer as OutputBuffer,
        OutputCallback as OutputCallback,
        OutputChunk as OutputChunk,
        Transport as Transport,
        runs_locally as runs_locally,
    )
    from runbook.executors._local import LocalTransport as LocalTransport
    from runbook.executors._orphans import (
        kill_orphans as kill_orphans,
        marked_environ as marked_environ,
    )
    from runbook.executors._rehearsal_times import RehearsalTimes as RehearsalTimes
    from runbook.executors._simulated import SimulatedWork as SimulatedWork
else:  # at run time each name is imported on first use: see runbook/exports.py
    __getattr__, __all__ = lazy_exports(
        __name__,
        {
            "_base": (
                "ACTIONS",
                "Action",
                "CommandResult",
                "Commands",
                "NUL_IN_COMMAND",
                "OutputBuffer",
                "OutputChunk",
                "OutputCallback",
                "Transport",
                "runs_locally",
            ),
            "_local": ("LocalTransport",),
            "_orphans": ("kill_orphans", "marked_environ"),
            "_rehearsal_times": ("RehearsalTimes",),
            "_simulated": ("SimulatedWork",),
        },
    )

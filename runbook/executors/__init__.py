"""Transports: local processes and rehearsals; SSH lives in `runbook.executors.ssh`."""

from __future__ import annotations

from typing import TYPE_CHECKING

from runbook.exports import lazy_exports

if TYPE_CHECKING:
    from runbook.executors._base import (
        ACTIONS as ACTIONS,
        FILE_ACTIONS as FILE_ACTIONS,
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
    from runbook.executors._feed import (
        STARTED as STARTED,
        SUDO_PROMPT as SUDO_PROMPT,
        Feed as Feed,
        FeedState as FeedState,
    )
    from runbook.executors._files import (
        CopySpec as CopySpec,
        FetchSpec as FetchSpec,
        Files as Files,
        copy_file as copy_file,
        fetch_file as fetch_file,
        local_transfer as local_transfer,
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
                "FILE_ACTIONS",
                "NUL_IN_COMMAND",
                "OutputBuffer",
                "OutputChunk",
                "OutputCallback",
                "Transport",
                "runs_locally",
            ),
            "_feed": ("Feed", "FeedState", "STARTED", "SUDO_PROMPT"),
            "_files": (
                "CopySpec",
                "FetchSpec",
                "Files",
                "copy_file",
                "fetch_file",
                "local_transfer",
            ),
            "_local": ("LocalTransport",),
            "_orphans": ("kill_orphans", "marked_environ"),
            "_rehearsal_times": ("RehearsalTimes",),
            "_simulated": ("SimulatedWork",),
        },
    )

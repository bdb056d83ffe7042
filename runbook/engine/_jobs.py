"""Host attempts in flight (`Job`), how they end (`Completion`), and the command slots.

`CommandQueue` is the `--forks` limit (remote commands) and the local one: commands wait
in it until a slot is free. It is pure bookkeeping; the dispatcher only starts what it is
given and hands back completions.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from runbook.engine._attempt import HostAttempt, RunCommand
from runbook.executors import Action, CommandResult, Commands, OutputBuffer, OutputChunk

LOCAL_SLOTS = 32  # local commands at once; --forks bounds remote ones


@dataclass(eq=False)
class Job:
    """One host's attempt at a step, as the engine tracks it."""

    id: int
    step_id: str
    host: str | None  # None: a local step
    attempt: int
    seq: HostAttempt
    commands: Commands
    remote: bool
    started: float
    cancel: threading.Event = field(default_factory=threading.Event)  # seen by its worker
    output: OutputBuffer = field(default_factory=OutputBuffer)  # filled by its worker
    action: Action | None = None
    command_started: float = 0.0
    in_flight: bool = False  # a command is running (or simulated as running)
    polls: int = 0  # `until` runs so far in this attempt
    began: bool = False  # its first command has started (the attempt's clock runs)
    done: bool = False
    # `run`'s stdout, for steps that are read (engine/_host_result.py)
    ran: bool = False  # `run` ended (its rc is known)
    rc: int | None = None
    stdout: list[str] = field(default_factory=list)
    stdout_cut: bool = False
    files: dict[str, Any] = field(default_factory=dict)  # copy/fetch records for the journal

    def output_data(self, chunk: OutputChunk) -> dict[str, Any]:
        """A `host_output` event's data for a chunk of this job's output."""
        data: dict[str, Any] = {
            "stream": chunk.stream,
            "text": chunk.text,
            "truncated": chunk.truncated,
            "action": self.action,
        }
        if chunk.omitted_bytes:
            data["omitted_chars"] = chunk.omitted_bytes
        return data


@dataclass(frozen=True)
class Completion:
    """A command ended (or its worker thread crashed: `crash`)."""

    job: Job
    action: Action
    result: CommandResult
    crash: BaseException | None = None


class CommandQueue:
    """Commands waiting for a slot, and the slots taken (remote: --forks; local)."""

    def __init__(self, forks: int, local_slots: int = LOCAL_SLOTS) -> None:
        self.limits = {True: max(1, forks), False: max(1, local_slots)}
        self.busy = {True: 0, False: 0}
        self.waiting: dict[bool, deque[tuple[Job, RunCommand]]] = {True: deque(), False: deque()}

    def submit(self, job: Job, cmd: RunCommand) -> None:
        """Queue `cmd` for `job`; `take` gives it a slot when one is free."""
        self.waiting[job.remote].append((job, cmd))

    def take(
        self, before_start: Callable[[Job, RunCommand], RunCommand | None]
    ) -> list[tuple[Job, RunCommand]]:
        """A slot for each queued command while slots allow, local ones first.

        `before_start` journals the command (commit before act) and may return None to
        drop it or a command with a fresh timeout.
        """
        taken: list[tuple[Job, RunCommand]] = []
        for remote in (False, True):
            q = self.waiting[remote]
            while q and self.busy[remote] < self.limits[remote]:
                job, cmd = q.popleft()
                if job.done or job.cancel.is_set():
                    continue
                ready = before_start(job, cmd)
                if ready is None:
                    continue
                self.busy[remote] += 1
                job.in_flight = True
                job.action = ready.action
                taken.append((job, ready))
        return taken

    def release(self, job: Job) -> None:
        """`job`'s command ended: free its slot."""
        job.in_flight = False
        self.busy[job.remote] -= 1

    def idle(self) -> bool:
        """Nothing queued and nothing running."""
        return not any(self.busy.values()) and not any(self.waiting.values())

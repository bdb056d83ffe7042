"""Starting commands under the global limits; their results come back to the engine thread.

Live commands run on a bounded thread pool through a Transport; rehearsed ones are
timers on the engine's heap. Either way the result lands on one completion queue, so the
engine has a single place where things finish.
"""

from __future__ import annotations

import heapq
import itertools
import queue
import threading
from collections import deque
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from runbook.clock import Clock
from runbook.engine._attempt import HostAttempt, RunCommand
from runbook.executors import (
    Action,
    CommandResult,
    Commands,
    OutputBuffer,
    SimulatedWork,
    Transport,
    runs_locally,
)
from runbook.model import Host

LOCAL_SLOTS = 32  # local commands at once; --forks bounds remote ones (SPEC §2)


class TimerHeap:
    """Callbacks due at clock times; ties fire in the order they were added."""

    def __init__(self) -> None:
        self._heap: list[tuple[float, int, Callable[[], None]]] = []
        self._counter = itertools.count()

    def add(self, at: float, fn: Callable[[], None]) -> None:
        heapq.heappush(self._heap, (at, next(self._counter), fn))

    def next_at(self) -> float | None:
        return self._heap[0][0] if self._heap else None

    def pop_due(self, now: float) -> list[Callable[[], None]]:
        due: list[Callable[[], None]] = []
        while self._heap and self._heap[0][0] <= now:
            due.append(heapq.heappop(self._heap)[2])
        return due

    def __len__(self) -> int:
        return len(self._heap)


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
    cancel: threading.Event = field(default_factory=threading.Event)
    output: OutputBuffer = field(default_factory=OutputBuffer)
    action: Action | None = None
    command_started: float = 0.0
    in_flight: bool = False  # a command is running (or simulated as running)
    polls: int = 0  # `until` runs so far in this attempt
    began: bool = False  # its first command has started (the attempt's clock runs)
    done: bool = False


@dataclass(frozen=True)
class Completion:
    """A command ended (or its worker thread crashed: `crash`)."""

    job: Job
    action: Action
    result: CommandResult
    crash: BaseException | None = None


class Dispatcher:
    """Queues commands and starts them while `--forks` (remote) and local slots allow."""

    def __init__(
        self,
        *,
        clock: Clock,
        timers: TimerHeap,
        local: Transport | None,
        remote: Transport | None,
        simulated: SimulatedWork | None,
        hosts: Mapping[str, Host],
        forks: int,
        local_slots: int = LOCAL_SLOTS,
    ) -> None:
        self.clock = clock
        self.timers = timers
        self.transports: dict[bool, Transport | None] = {False: local, True: remote}
        self.simulated = simulated
        self.hosts = hosts
        self.limits = {True: max(1, forks), False: max(1, local_slots)}
        self.busy = {True: 0, False: 0}
        self.waiting: dict[bool, deque[tuple[Job, RunCommand]]] = {True: deque(), False: deque()}
        self.completions: queue.Queue[Completion] = queue.Queue()
        self.threads_in_flight = 0
        self._pool: ThreadPoolExecutor | None = None
        if simulated is None:
            self._pool = ThreadPoolExecutor(
                max_workers=self.limits[True] + self.limits[False], thread_name_prefix="runbook"
            )

    def submit(self, job: Job, cmd: RunCommand) -> None:
        """Queue `cmd` for `job`; `pump` starts it when a slot is free."""
        self.waiting[job.remote].append((job, cmd))

    def pump(
        self, before_start: Callable[[Job, RunCommand], RunCommand | None]
    ) -> list[tuple[Job, RunCommand]]:
        """Take a slot for each queued command while slots allow; `start` starts them.

        `before_start` journals the command (commit before act) and may return None to
        drop it (its job was cancelled meanwhile) or a command with a fresh timeout. The
        caller commits those events, then calls `start` with what this returned.
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

    def start(self, taken: list[tuple[Job, RunCommand]]) -> None:
        """Start commands `pump` gave slots to (their host_started events are committed)."""
        for job, cmd in taken:
            self._start(job, cmd)

    def _start(self, job: Job, cmd: RunCommand) -> None:
        if self.simulated is not None:
            delay, result = self.simulated.outcome(
                job.step_id, job.host, job.commands, cmd.action, cmd.timeout_s
            )
            done = Completion(job, cmd.action, result)
            self.timers.add(self.clock.now() + delay, lambda: self.completions.put(done))
            return
        assert self._pool is not None
        host = self.hosts.get(job.host) if job.host is not None else None
        self.threads_in_flight += 1
        self._pool.submit(self._work, job, cmd, host)

    def _work(self, job: Job, cmd: RunCommand, host: Host | None) -> None:
        # A remote step's `ansible_connection: local` host runs its command here.
        local_host = job.remote and host is not None and runs_locally(host)
        transport = self.transports[False if local_host else job.remote]
        try:
            if transport is None:
                raise RuntimeError("no transport for this kind of step")  # session checks first
            result = transport.run(
                host,
                cmd.command,
                timeout_s=cmd.timeout_s,
                on_output=job.output.write,
                cancel=job.cancel,
            )
        except BaseException as crash:  # handed to the engine thread, which re-raises it
            self.completions.put(Completion(job, cmd.action, CommandResult(None, 0.0), crash))
            return
        self.completions.put(Completion(job, cmd.action, result))

    def release(self, completion: Completion) -> None:
        """The engine took `completion`: free its slot."""
        job = completion.job
        job.in_flight = False
        self.busy[job.remote] -= 1
        if self.simulated is None:
            self.threads_in_flight -= 1

    def idle(self) -> bool:
        """Nothing queued and nothing running."""
        return not any(self.busy.values()) and not any(self.waiting.values())

    def shutdown(self, kill: bool) -> None:
        """Stop the pool; `kill` ends every running local process group at once."""
        transports = [t for t in self.transports.values() if t is not None]
        if kill:
            for t in transports:
                kill_all = getattr(t, "kill_all", None)
                if kill_all is not None:
                    kill_all()
        if self._pool is not None:
            self._pool.shutdown(wait=not kill, cancel_futures=True)
        for t in transports:
            t.close()

"""Starting commands, and handing their results back: the engine's only I/O with hosts.

Live commands run on a bounded thread pool through a Transport; rehearsed ones are timers
on the engine's heap. Either way the result lands on one completion queue, so the engine
has a single place where things finish. Which command may start, and when, is decided
before it gets here (runbook/engine/_jobs.py: the slots; _core.py: the journal first).
"""

from __future__ import annotations

import functools
import heapq
import itertools
import queue
import threading
from collections.abc import Callable, Mapping

from runbook.clock import Clock
from runbook.engine._attempt import RunCommand
from runbook.engine._jobs import LOCAL_SLOTS, Completion, Job
from runbook.errors import HostError, log_crash
from runbook.executors import (
    FILE_ACTIONS,
    CommandResult,
    SimulatedWork,
    Transport,
    runs_locally,
)
from runbook.model import Host


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


class Dispatcher:
    """Runs the commands it is given on a transport, or simulates them on the timer heap."""

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
        self.forks = forks
        self.local_slots = local_slots
        # SimpleQueue: C, no Python-level lock and condition per command put and taken
        self.completions: queue.SimpleQueue[Completion] = queue.SimpleQueue()
        self.threads_in_flight = 0
        self._pool: Workers | None = None
        if simulated is None:
            # The first step's threads are started now, while the run sets itself up.
            ssh = sum(1 for h in hosts.values() if not runs_locally(h)) if remote else 0
            self._pool = Workers(max(1, forks) + max(1, local_slots), min(forks, ssh))

    def start(self, taken: list[tuple[Job, RunCommand]]) -> None:
        """Start commands that have a slot (their host_started events are committed)."""
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
        self._pool.submit(functools.partial(self._work, job, cmd, host))

    def _work(self, job: Job, cmd: RunCommand, host: Host | None) -> None:
        # A remote step's `ansible_connection: local` host runs its command here.
        local_host = job.remote and host is not None and runs_locally(host)
        transport = self.transports[False if local_host else job.remote]
        try:
            if transport is None:
                raise RuntimeError("no transport for this kind of step")  # session checks first
            if cmd.action in FILE_ACTIONS:
                spec = job.commands.files[cmd.action]
                result = transport.transfer(  # type: ignore[attr-defined]
                    host,
                    spec,
                    on_output=job.output.write,
                    cancel=job.cancel,
                    timeout_s=cmd.timeout_s,
                )
                self.completions.put(Completion(job, cmd.action, result))
                return
            feed = job.commands.feed(cmd.action)
            extra = {"feed": feed} if feed is not None else {}  # nothing new when unused
            result = transport.run(
                host,
                cmd.command,
                timeout_s=cmd.timeout_s,
                on_output=job.output.write,
                cancel=job.cancel,
                **extra,
            )
        except Exception as e:  # a bug met on one host fails that host, not the whole run
            result = CommandResult(None, 0.0, error=_crashed(job, cmd, host, e))
        except BaseException as crash:  # handed to the engine thread, which re-raises it
            self.completions.put(Completion(job, cmd.action, CommandResult(None, 0.0), crash))
            return
        self.completions.put(Completion(job, cmd.action, result))

    def taken(self, completion: Completion) -> None:
        """The engine took `completion` off the queue."""
        if self.simulated is None:
            self.threads_in_flight -= 1

    def shutdown(self, kill: bool) -> None:
        """Stop the pool; `kill` ends every running local process group at once."""
        transports = [t for t in self.transports.values() if t is not None]
        if kill:
            for t in transports:
                kill_all = getattr(t, "kill_all", None)
                if kill_all is not None:
                    kill_all()
        if self._pool is not None:
            self._pool.shutdown(wait=not kill)
        for t in transports:
            t.close()


class Workers:
    """The threads commands run on: at most `size`, each taking work from one queue.

    ThreadPoolExecutor started its threads in `submit`, on the engine's thread, and each
    start waits until the new thread runs, i.e. for the GIL the commands already running
    hold: a few ms per thread at the first step, and again at most step transitions (it
    adds a thread whenever none is idle at that instant, up to its maximum, and the last
    command's thread is still finishing then). Here a thread of their own starts them, the
    first `ready` ones at once, more as work waits; `submit` never blocks. No futures:
    the dispatcher's work hands its result to the completion queue itself.
    """

    def __init__(self, size: int, ready: int = 0) -> None:
        self.size = size
        self._work: queue.SimpleQueue[Callable[[], None] | None] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []
        self._wanted = 0  # threads asked for (started or not yet)
        self._idle = 0  # threads waiting for work, or about to
        self._queued = 0  # work not taken yet
        self._starts: queue.SimpleQueue[int] = queue.SimpleQueue()
        self._closed = False
        starter = threading.Thread(target=self._starter, name="runbook-starter", daemon=True)
        starter.start()
        if ready > 0:
            self._more(min(ready, size))

    def submit(self, fn: Callable[[], None]) -> None:
        """Run `fn` on a worker thread, now or once one is free."""
        with self._lock:
            if self._closed:
                raise RuntimeError("the dispatcher's workers are shut down")
            self._queued += 1
            short = self._queued - self._idle - (self._wanted - len(self._threads))
            more = min(short, self.size - self._wanted) if short > 0 else 0
        self._work.put(fn)
        if more:
            self._more(more)

    def _more(self, n: int) -> None:
        with self._lock:
            self._wanted += n
        self._starts.put(n)

    def _starter(self) -> None:
        while n := self._starts.get():
            for _ in range(n):
                name = f"runbook_{len(self._threads)}"
                # daemon: a dispatcher never shut down (a test's) must not hold the exit;
                # an interrupted run's commands are killed and their connections closed
                # before it exits, so none is left half-done by it
                t = threading.Thread(target=self._worker, name=name, daemon=True)
                with self._lock:
                    if self._closed:
                        return
                    self._threads.append(t)
                    self._idle += 1
                t.start()

    def _worker(self) -> None:
        work = self._work
        while True:
            fn = work.get()
            with self._lock:
                self._idle -= 1
                self._queued -= 1
            if fn is None:
                return
            fn()
            del fn  # nothing of the command outlives it here
            with self._lock:
                self._idle += 1

    def shutdown(self, wait: bool) -> None:
        """Drop the work not started yet; `wait` for the running work to end."""
        with self._lock:
            self._closed = True
            threads = list(self._threads)
        self._starts.put(0)
        while True:  # what no thread took yet is never started
            try:
                self._work.get_nowait()
            except queue.Empty:
                break
        for _ in threads:
            self._work.put(None)
        if wait:
            for t in threads:
                if t.ident is not None:  # one the starter had not started has no work
                    t.join()


def _crashed(job: Job, cmd: RunCommand, host: Host | None, err: Exception) -> HostError:
    """The host's error for an exception its transport should never have raised: its class
    and message for the journal, the traceback in the crash log."""
    name = host.name if host is not None else "localhost"
    log = log_crash(f"step {job.step_id}, host {name}, {cmd.action}: the transport raised")
    detail = f"{type(err).__name__}: {err} (a bug in runbook; the traceback is in {log})"
    return HostError(name, "error", detail)

"""The dispatcher's worker threads: never more than `size` commands at once, every command
submitted runs (or is dropped at shutdown before it starts), and shutdown waits for those
running."""

from __future__ import annotations

import threading
import time

import pytest

from runbook.engine._dispatch import Workers


def test_at_most_size_at_once_and_every_one_runs() -> None:
    workers = Workers(3, ready=1)
    lock = threading.Lock()
    running = peak = 0
    done: list[int] = []

    def job(n: int) -> None:
        nonlocal running, peak
        with lock:
            running += 1
            peak = max(peak, running)
        time.sleep(0.05)
        with lock:
            running -= 1
            done.append(n)

    for n in range(12):
        workers.submit(lambda n=n: job(n))
    deadline = time.monotonic() + 10
    while len(done) < 12 and time.monotonic() < deadline:
        time.sleep(0.01)
    workers.shutdown(wait=True)
    assert sorted(done) == list(range(12))
    assert peak == 3  # the pool grew to its size, and no further
    names = {t.name for t in threading.enumerate()}
    assert not any(n.startswith("runbook_") for n in names)  # all ended


def test_shutdown_waits_for_running_work_and_drops_the_rest() -> None:
    workers = Workers(1, ready=1)
    started, release = threading.Event(), threading.Event()
    ran: list[str] = []

    def first() -> None:
        started.set()
        release.wait(10)
        ran.append("first")

    workers.submit(first)
    workers.submit(lambda: ran.append("second"))
    assert started.wait(10)
    threading.Timer(0.5, release.set).start()
    workers.shutdown(wait=True)
    assert ran == ["first"]  # waited for; the one not started never is
    with pytest.raises(RuntimeError, match="shut down"):
        workers.submit(lambda: None)

"""Journal and fold speed: appends per second (synchronous=FULL), fold and status of a big run.

Prints numbers; never asserted. Run: .venv/bin/python bench/journal_bench.py
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from journal_helpers import T0, plan, plan_step, start_run

from runbook.app._status_doc import status_document
from runbook.events._fold import fold
from runbook.journal._store import Journal

STEPS = 2000
HOSTS_PER_STEP = 5


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        j = Journal(Path(tmp) / "state.db")
        steps = [
            plan_step(
                f"s{i}",
                needs=(f"s{i - 1}",) if i else (),
                hosts=tuple(f"h{i}-{k}" for k in range(HOSTS_PER_STEP)),
            )
            for i in range(STEPS)
        ]
        run_id = start_run(j, plan(*steps))
        n = 0
        t = time.perf_counter()
        for i in range(STEPS):
            sid = f"s{i}"
            j.append(run_id, "step_started", ts=T0 + i, step=sid, data={"attempt": 1})
            for k in range(HOSTS_PER_STEP):
                host = f"h{i}-{k}"
                j.append(
                    run_id,
                    "host_output",
                    ts=T0 + i,
                    step=sid,
                    host=host,
                    data={"stream": "stdout", "text": "ok\n" * 20, "truncated": False},
                )
                j.append(
                    run_id,
                    "host_succeeded",
                    ts=T0 + i,
                    step=sid,
                    host=host,
                    data={"attempt": 1, "duration_s": 1.0, "skipped": False},
                )
            j.append(run_id, "step_succeeded", ts=T0 + i, step=sid, data={"duration_s": 1.0})
            n += 2 + 2 * HOSTS_PER_STEP
        dt = time.perf_counter() - t
        print(f"append: {n} events in {dt:.2f}s = {n / dt:.0f}/s ({1000 * dt / n:.2f} ms each)")

        t = time.perf_counter()
        events = j.events(run_id)
        t_read = time.perf_counter() - t
        t = time.perf_counter()
        state = fold(events)
        t_fold = time.perf_counter() - t
        t = time.perf_counter()
        status_document(state, live=False, now=T0 + STEPS)
        t_doc = time.perf_counter() - t
        print(
            f"read {len(events)} events: {t_read:.2f}s; fold: {t_fold:.2f}s; "
            f"status document of {STEPS} steps: {t_doc:.3f}s"
        )
        t = time.perf_counter()
        j.runs()
        print(f"runs() summary: {time.perf_counter() - t:.3f}s")


if __name__ == "__main__":
    main()

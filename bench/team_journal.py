"""Team mode: events appended per second on PostgreSQL and on SQLite, one at a time and in
the engine's group commits, and the lease claim latency (a free lease, and a takeover of
an expired one). PostgreSQL is a private cluster started for the run (tests/pgcluster.py,
fsync off as in the tests: the numbers compare the protocols, not the disks). Prints
numbers; asserts nothing.

    .venv/bin/python bench/team_journal.py [--events 2000] [--claims 200]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

import pgcluster

from runbook.journal import Draft, EventStore, open_journal
from runbook.journal._pg_lease import release
from runbook.journal._pg_store import PostgresJournal

T0 = 1_795_000_000.0


def _appends(j: EventStore, n: int, batch: int) -> float:
    run_id = j.new_run("bench", "live", T0)
    j.append(run_id, "run_started", ts=T0, data={"playbook": "bench", "plan": {"steps": []}})
    t = time.perf_counter()
    for i in range(0, n, batch):
        drafts = [
            Draft("host_output", T0 + i, "s", f"h{k}", {"text": f"line {i + k}"})
            for k in range(batch)
        ]
        if batch == 1:
            d = drafts[0]
            j.append(run_id, d.type, ts=d.ts, step=d.step, host=d.host, data=d.data)
        else:
            j.append_many(run_id, drafts)
    return n / (time.perf_counter() - t)


def _claims(url: str, n: int) -> tuple[list[float], list[float]]:
    """(free-lease claim times, takeover times) in ms."""
    a, b = PostgresJournal(url), PostgresJournal(url)
    run_id = a.new_run("bench", "live", T0)
    free, takeover = [], []
    for _ in range(n):
        t = time.perf_counter()
        held = a.try_claim(run_id)
        free.append((time.perf_counter() - t) * 1000)
        assert not isinstance(held, str)
        a._retrying("w", lambda conn, h=held: release(conn, h))
        b.lease_s = 0.001  # B's own lease expires at once: A then takes over
        got = b.try_claim(run_id)
        assert not isinstance(got, str)
        time.sleep(0.002)
        t = time.perf_counter()
        again = a.try_claim(run_id)
        takeover.append((time.perf_counter() - t) * 1000)
        assert not isinstance(again, str) and again.fence == got.fence + 1
        a._retrying("w", lambda conn, h=again: release(conn, h))
    a.close()
    b.close()
    return free, takeover


def _pct(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100)[int(q) - 1]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=2000)
    parser.add_argument("--claims", type=int, default=200)
    args = parser.parse_args()
    cluster = pgcluster.start()
    try:
        url = cluster.new_database()
        with tempfile.TemporaryDirectory() as tmp:
            for name, state in (("sqlite", Path(tmp) / "state.db"), ("postgresql", url)):
                with open_journal(state) as j:
                    one = _appends(j, args.events // 4, 1)
                    grouped = _appends(j, args.events, 50)
                print(f"{name:10} appends: {one:8.0f} events/s one per commit, "
                      f"{grouped:8.0f} events/s in commits of 50")  # fmt: skip
        free, takeover = _claims(url, args.claims)
        for label, values in (("free lease", free), ("takeover", takeover)):
            print(f"claim latency ({label}, {len(values)}): p50 {_pct(values, 50):.2f} ms, "
                  f"p95 {_pct(values, 95):.2f} ms")  # fmt: skip
    finally:
        cluster.remove()


if __name__ == "__main__":
    main()

"""Team mode: events appended per second on PostgreSQL and on SQLite, one at a time and in
the engine's group commits, and the claim latency of a step (a ready one, and one taken
over from an engine whose lease expired: ending it included). PostgreSQL is a private
cluster started for the run (tests/pgcluster.py, fsync off as in the tests: the numbers
compare the protocols, not the disks). Prints numbers; asserts nothing.

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
    """(per-step claim times, takeover times) in ms: A claims a fresh step; then B (a
    lease that expires at once) claims one, A ends B and takes that step over."""
    a, b = PostgresJournal(url), PostgresJournal(url)
    run_id = a.new_run("bench", "live", T0)
    a.append(run_id, "run_started", ts=T0, data={"playbook": "bench", "plan": {"steps": []}})
    for j in (a, b):
        held = j.try_claim(run_id, alone=False)
        assert not isinstance(held, str)
        held.announced = held.per_step = True
        j.held[run_id] = held
    b.lease_s = 0.001
    fresh, takeover = [], []
    for i in range(n):
        seen = a.events(run_id)[-1].seq
        t = time.perf_counter()
        got = a.claim_step(run_id, f"fresh{i}", seen)
        fresh.append((time.perf_counter() - t) * 1000)
        assert isinstance(got, int)
        b_held = b.try_claim(run_id, alone=False)  # alive again, for a moment
        assert not isinstance(b_held, str)
        b_held.announced = b_held.per_step = True
        b_held.lease_s = 30.0  # expired on the database's clock, usable on B's own
        b.held[run_id] = b_held
        assert isinstance(b.claim_step(run_id, f"taken{i}", b.events(run_id)[-1].seq), int)
        time.sleep(0.002)
        t = time.perf_counter()
        a.end_expired(run_id)
        again = a.claim_step(run_id, f"taken{i}", a.events(run_id)[-1].seq, source=b.engine)
        takeover.append((time.perf_counter() - t) * 1000)
        assert again == 2, again
    a.close()
    b.close()
    return fresh, takeover


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
        for label, values in (("a ready step", free), ("a dead engine's step", takeover)):
            print(f"claim latency ({label}, {len(values)}): p50 {_pct(values, 50):.2f} ms, "
                  f"p95 {_pct(values, 95):.2f} ms")  # fmt: skip
    finally:
        cluster.remove()


if __name__ == "__main__":
    main()

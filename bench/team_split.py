"""Team mode: one run over HOSTS hosts split between two engines, against one engine.

The playbook has GROUPS independent steps, each on its own HOSTS/GROUPS hosts, running
`sleep SLEEP; echo`; each engine runs `--concurrency C` steps at once (an engine's own
capacity: a machine near a network zone, a limited number of SSH sessions). One engine
(`runbook run`) is timed alone, then `run` with a `join` started as soon as the run's
first step is claimed. Both are real processes on this machine against a private
PostgreSQL cluster (fsync off) and bench/fanout.py's private sshd listeners on
127.0.100.1 onwards. Prints the wall time of each, the journal's run_started → run_finished,
how many steps each engine claimed, and the latency of a step claim (one transaction)
made every 50 ms by a probe on the same database while the engines work. Asserts nothing.

Needs root, openssh-server and PostgreSQL; 1,000 hosts are 1,000 sshd logins (GBs of RAM):
run it under `flock /tmp/bench.lock`.
    .venv/bin/python bench/team_split.py [--hosts 1000] [--groups 8] [--concurrency 2]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "bench"))

import pgcluster  # noqa: E402
import sshd  # noqa: E402
from fanout import addresses  # noqa: E402

from runbook.clock import parse_iso  # noqa: E402
from runbook.journal import open_journal  # noqa: E402
from runbook.journal._pg_lease import renew  # noqa: E402


def write_files(work: Path, server: sshd.Sshd, groups: int, sleep: float) -> tuple[Path, Path]:
    inventory = work / "hosts.yml"
    inventory.write_text(server.inventory_yaml())
    names = [f"h{i + 1:02d}" for i in range(len(server.addresses))]
    size = len(names) // groups
    lines = ["playbook: split", "title: Team split benchmark", "steps:"]
    for g in range(groups):
        hosts = names[g * size : (g + 1) * size] if g < groups - 1 else names[g * size :]
        lines += [
            f"  - id: g{g + 1:02d}",
            f"    title: Group {g + 1}",
            "    phase: bench",
            f"    hosts: {','.join(hosts)}",
            f'    run: "sleep {sleep:g}; echo group {g + 1} on $(hostname)"',
        ]
    playbook = work / "split.yml"
    playbook.write_text("\n".join(lines) + "\n")
    return playbook, inventory


def timed(url: str, work: Path, server: sshd.Sshd, args: argparse.Namespace, two: bool) -> dict:
    playbook, inventory = write_files(work, server, args.groups, args.sleep)
    env = dict(
        os.environ,
        RUNBOOK_STATE=url,
        RUNBOOK_KNOWN_HOSTS=str(server.known_hosts),
        NO_COLOR="1",
    )
    cli = [sys.executable, "-m", "runbook"]
    per_engine = ["--concurrency", str(args.concurrency), "--forks", str(args.forks)]
    logs = [open(work / f"engine{i}.log", "w") for i in range(2)]  # noqa: SIM115
    probe = Prober(url)
    start = time.perf_counter()
    run = subprocess.Popen(
        [*cli, "run", str(playbook), "-i", str(inventory), "--plain", *per_engine],
        env=env, cwd=work, stdout=logs[0], stderr=subprocess.STDOUT,
    )  # fmt: skip
    procs = [run]
    with open_journal(url, create=False) as j:
        while len(j.run_ids()) < 2:
            time.sleep(0.05)
        run_id = next(r for r in j.run_ids() if r != probe.run_id)
        if two:
            while not any(e.type == "work_claimed" for e in j.events(run_id)):
                time.sleep(0.05)
            procs.append(subprocess.Popen(
                [*cli, "join", run_id, "--plain", *per_engine],
                env=env, cwd=work, stdout=logs[1], stderr=subprocess.STDOUT,
            ))  # fmt: skip
        codes = [p.wait() for p in procs]
        wall = time.perf_counter() - start
        events = j.events(run_id)
    for f in logs:
        f.close()
    if any(codes):
        tail = (work / "engine0.log").read_text()[-2000:]
        raise SystemExit(f"an engine failed ({codes}):\n{tail}")
    ts = {e.type: parse_iso(e.ts) for e in events if e.type in ("run_started", "run_finished")}
    claims = [e for e in events if e.type == "work_claimed"]
    by_engine: dict[str, int] = {}
    for c in claims:
        by_engine[c.data["engine"]] = by_engine.get(c.data["engine"], 0) + 1
    return {
        "wall": wall,
        "engine": ts["run_finished"] - ts["run_started"],
        "claims": sorted(by_engine.values(), reverse=True),
        "latency": probe.close(),
    }


class Prober:
    """Claims fresh steps of a run of its own on the same database, every 50 ms, while the
    engines work: a step claim's latency (one transaction) under the real load."""

    def __init__(self, url: str) -> None:
        from runbook.journal._pg_store import PostgresJournal

        self.j = PostgresJournal(url)
        self.run_id = self.j.new_run("probe", "live", time.time())
        self.j.append(self.run_id, "run_started", ts=time.time(), data={"plan": {"steps": []}})
        held = self.j.try_claim(self.run_id, alone=True)
        assert not isinstance(held, str)
        held.announced = held.per_step = True
        self.j.held[self.run_id] = held
        self.times: list[float] = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._loop, daemon=True)
        self.thread.start()

    def _loop(self) -> None:
        i = 0
        while not self.stop.wait(0.05):
            i += 1
            if i % 50 == 0:  # keep its lease: a third engine, renewing as engines do
                self.j._retrying("renew", lambda c: renew(c, self.j.held[self.run_id]))
            seen = self.j.events(self.run_id)[-1].seq
            t = time.perf_counter()
            got = self.j.claim_step(self.run_id, f"s{i}", seen)
            self.times.append((time.perf_counter() - t) * 1000)
            assert isinstance(got, int), got

    def close(self) -> list[float]:
        self.stop.set()
        self.thread.join()
        self.j.close()
        return self.times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hosts", type=int, default=1000)
    parser.add_argument("--groups", type=int, default=8)
    parser.add_argument("--concurrency", type=int, default=2)
    parser.add_argument("--forks", type=int, default=250)
    parser.add_argument("--sleep", type=float, default=2.0)
    args = parser.parse_args()
    for reason in (sshd.unavailable(), pgcluster.unavailable()):
        if reason:
            raise SystemExit(f"team_split: {reason}")
    work = sshd.public_tempdir("runbook-split-")
    server = sshd.start(addresses(args.hosts))
    cluster = pgcluster.start()
    results = {}
    try:
        for label, two in (("one engine", False), ("two engines", True)):
            load = os.getloadavg()[0]
            results[label] = (load, timed(cluster.new_database(), work, server, args, two))
    finally:
        cluster.remove()
        server.stop()
        shutil.rmtree(work, ignore_errors=True)
    print(
        f"team split: {args.groups} steps x {args.hosts // args.groups} hosts = {args.hosts} "
        f"hosts, `sleep {args.sleep:g}` each, --concurrency {args.concurrency} "
        f"--forks {args.forks} per engine"
    )
    for label, (load, r) in results.items():
        lat = r["latency"]
        p50, p95 = statistics.median(lat), statistics.quantiles(lat, n=20)[-1]
        print(
            f"  {label:12} wall {r['wall']:7.2f} s  run_started->finished {r['engine']:7.2f} s  "
            f"steps claimed per engine {r['claims']}  claim p50 {p50:.1f} ms p95 {p95:.1f} ms  "
            f"(load before {load:.2f})"
        )
    print(f"  load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()

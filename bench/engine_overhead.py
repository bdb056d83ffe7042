"""Engine overhead: scheduling + journal cost per step beyond the process spawn, and a
5,000-step rehearsal at --speed max. Prints numbers; asserts nothing.

    .venv/bin/python bench/engine_overhead.py [--steps 1000] [--rehearsal-steps 5000]
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from runbook.app._session import RunRequest, Ui, execute
from runbook.executors._local import LocalTransport
from runbook.journal._store import Journal


def _playbook(path: Path, n: int, shape: str, local: bool = True) -> Path:
    lines = ["playbook: bench", "title: bench", "defaults: {timeout: 1m}", "steps:"]
    for i in range(n):
        lines += [f"  - id: s{i}", f"    title: step {i}", f"    phase: p{i // 100}"]
        if shape == "chain" and i:
            lines.append(f"    needs: [s{i - 1}]")
        elif shape == "layers" and i >= 100:
            layer = i // 100
            lines.append(
                f"    needs: [s{(layer - 1) * 100 + i % 100}, s{(layer - 1) * 100 + (i * 7) % 100}]"
            )
        lines += [
            "    local: true",
            '    run: "true"',
            "    estimate: {min: 1m, likely: 2m, max: 5m}",
        ]
    path.write_text("\n".join(lines) + "\n")
    return path


def _spawn_baseline(n: int) -> float:
    t = LocalTransport()
    start = time.perf_counter()
    for _ in range(n):
        t.run(None, "true", timeout_s=10, on_output=lambda s, x: None, cancel=threading.Event())
    return time.perf_counter() - start


def _journal_baseline(folder: Path, n: int) -> float:
    j = Journal(folder / "journal-only.db")
    run = j.new_run("bench", "live", time.time())
    start = time.perf_counter()
    for i in range(n):
        j.append(run, "eta", ts=time.time(), data={"i": i})
    j.close()
    return time.perf_counter() - start


def _engine(folder: Path, n: int, shape: str) -> tuple[float, int]:
    pb = _playbook(folder / f"{shape}.yml", n, shape)
    state = folder / f"{shape}.db"
    start = time.perf_counter()
    code = execute(state, RunRequest(pb), Ui())
    took = time.perf_counter() - start
    assert code == 0, code
    with Journal(state) as j:
        events = len(j.events(j.resolve_run_id("latest")))
    return took, events


def _rehearsal(folder: Path, n: int) -> tuple[float, float, int]:
    pb = _playbook(folder / "rehearsal.yml", n, "layers")
    state = folder / "rehearsal.db"
    start = time.perf_counter()
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "runbook",
            "--state",
            str(state),
            "-q",
            "rehearse",
            str(pb),
            "--speed",
            "max",
            "--seed",
            "1",
        ],
        capture_output=True,
        text=True,
    )
    took = time.perf_counter() - start
    assert proc.returncode == 0, proc.stderr
    peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    with Journal(state) as j:
        events = len(j.events(j.resolve_run_id("latest")))
    return took, peak_mb, events


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=1000)
    ap.add_argument("--rehearsal-steps", type=int, default=5000)
    args = ap.parse_args()
    n = args.steps
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        spawn = _spawn_baseline(n)
        journal = _journal_baseline(folder, n)
        print(
            f"spawn baseline: {n} x /bin/sh -c true in {spawn:.2f}s "
            f"({1000 * spawn / n:.2f} ms each)"
        )
        print(
            f"journal baseline: {n} appends (synchronous=FULL) in {journal:.2f}s "
            f"({1000 * journal / n:.2f} ms each)"
        )
        for shape in ("chain", "fan"):
            took, events = _engine(folder, n, shape)
            base = spawn if shape == "chain" else 0.0
            per = 1000 * (took - base) / n
            print(
                f"{shape}: {n} local steps in {took:.2f}s, {events} events "
                f"({events / n:.1f}/step); overhead beyond spawn {per:.2f} ms/step "
                f"(of which journal ~{1000 * journal / n * events / n:.2f} ms)"
            )
        took, peak, events = _rehearsal(folder, args.rehearsal_steps)
        print(
            f"rehearse --speed max: {args.rehearsal_steps} steps in {took:.1f}s, "
            f"{events} events, peak {peak:.0f} MB"
        )


if __name__ == "__main__":
    main()

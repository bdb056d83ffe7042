"""Where the CPU of `runbook run`'s run phase goes, by thread and by engine function.

The fan-out of bench/fanout.py (a chain of `echo` steps on loopback hosts, private sshd)
run once by `runbook run` in a child process with wrappers around a few functions (a
measuring tool only: nothing of it is in runbook). Prints, for `Engine.run` (from just
before `run_started`'s first ETA to `run_finished`):

  run          its wall time, the engine thread's CPU and the whole process's CPU
  threads      each kind of thread's CPU (user / system) and voluntary context switches,
               read by each thread as it ends (`getrusage(RUSAGE_THREAD)`): the command
               threads, paramiko's transport threads (their handshakes included)
  engine       the engine thread's CPU per function, exclusive of the others listed
  transition   median over steps 2..N, from the step's last result taken to the next
               step's dispatch: wall and engine-thread CPU (the critical path between steps)
  gc           collections during the run, by generation: count and ms

    .venv/bin/python bench/run_cpu.py [--hosts 50] [--steps 20]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "bench"))

import fanout  # noqa: E402
import sshd  # noqa: E402


def measure(out: dict[str, Any]) -> None:
    """Install the wrappers; they fill `out` (written at exit)."""
    import gc
    import resource

    import paramiko

    from runbook.engine import _commit, _core, _dispatch, _engine, _eta_write
    from runbook.journal import _rows

    main = threading.get_ident()
    spent: dict[str, float] = {}
    nested: list[float] = []

    def timed(owner: Any, name: str, label: str) -> None:
        fn = getattr(owner, name)

        def wrapper(*a: Any, **kw: Any) -> Any:
            if threading.get_ident() != main:
                return fn(*a, **kw)
            t = time.thread_time()
            nested.append(0.0)
            try:
                return fn(*a, **kw)
            finally:
                d = time.thread_time() - t
                inner = nested.pop()
                spent[label] = spent.get(label, 0.0) + d - inner
                if nested:
                    nested[-1] += d

        setattr(owner, name, wrapper)

    timed(_eta_write, "write_eta", "eta")
    _engine.write_eta = _eta_write.write_eta  # imported by name there
    timed(_rows, "chain_drafts", "chain events")
    timed(_rows, "_insert", "insert rows")
    timed(_engine.Engine, "_drain_completions", "take completions")
    timed(_core.RunCore, "start_work", "start work")
    timed(_engine.Engine, "_ingest_own", "fold and show")
    timed(_commit.Committer, "emit", "emit")
    timed(_dispatch.Dispatcher, "start", "dispatch")
    timed(_engine.Engine, "_wait", "wait")

    threads: dict[str, list[float]] = {}
    lock = threading.Lock()

    def ended(kind: str) -> None:
        u = resource.getrusage(resource.RUSAGE_THREAD)
        with lock:
            t = threads.setdefault(kind, [0.0, 0.0, 0.0, 0.0])
            for i, v in enumerate((u.ru_utime, u.ru_stime, u.ru_nvcsw, 1)):
                t[i] += v

    def on_end(cls: Any, kind: Any) -> None:
        run = cls.run

        def wrapper(self: Any) -> None:
            try:
                run(self)
            finally:
                ended(kind(self))

        cls.run = wrapper

    on_end(paramiko.Transport, lambda t: "paramiko")
    on_end(threading.Thread, lambda t: "commands" if t.name.startswith("runbook_") else "other")

    marks: list[tuple[str, str, float, float]] = []
    completed, start = _core.RunCore.completed, _dispatch.Dispatcher.start

    def on_completed(self: Any, c: Any, now: float) -> None:
        marks.append(("taken", c.job.step_id, time.perf_counter(), time.thread_time()))
        completed(self, c, now)

    def on_start(self: Any, taken: Any) -> None:
        step = taken[0][0].step_id if taken else ""
        marks.append(("dispatch", step, time.perf_counter(), time.thread_time()))
        start(self, taken)

    _core.RunCore.completed = on_completed
    _dispatch.Dispatcher.start = on_start

    collections: dict[int, list[float]] = {}
    began = [0.0]

    def on_gc(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            began[0] = time.perf_counter()
        elif "run" in out and "end" not in out["run"]:
            c = collections.setdefault(info["generation"], [0, 0.0])
            c[0] += 1
            c[1] += (time.perf_counter() - began[0]) * 1000

    gc.callbacks.append(on_gc)
    run = _engine.Engine.run

    def on_run(self: Any) -> str:
        out["run"] = {}
        w, c, p = time.perf_counter(), time.thread_time(), time.process_time()
        try:
            return run(self)
        finally:
            out["run"] = {
                "wall": time.perf_counter() - w,
                "engine CPU": time.thread_time() - c,
                "process CPU": time.process_time() - p,
                "end": True,
            }

    _engine.Engine.run = on_run

    def transitions() -> tuple[float, float]:
        walls, cpus, last = [], [], None
        for what, step, w, c in marks:
            if what == "taken":
                last = (w, c)
            elif last is not None and step != "s01":
                walls.append((w - last[0]) * 1000)
                cpus.append((c - last[1]) * 1000)
        return statistics.median(walls), statistics.median(cpus)

    def finish() -> None:
        out.update(engine=spent, threads=threads, gc=collections, transition=transitions())

    out["finish"] = finish


def child(result_path: str, argv: list[str]) -> None:
    """`runbook run …` in this process, measured; the numbers written at exit."""
    import atexit
    import runpy

    out: dict[str, Any] = {}
    measure(out)

    def write() -> None:
        out.pop("finish")()
        Path(result_path).write_text(json.dumps(out))

    atexit.register(write)
    sys.argv = ["runbook", *argv]
    runpy.run_module("runbook", run_name="__main__", alter_sys=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hosts", type=int, default=50)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--child", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return child(args.child[0], args.child[1:])
    if reason := sshd.unavailable():
        raise SystemExit(f"run_cpu: {reason}")
    work = sshd.public_tempdir("runbook-cpu-")
    server = sshd.start(fanout.addresses(args.hosts))
    try:
        playbook, inventory = fanout.write_runbook_files(work, server, args.steps)
        env = fanout.runbook_env(work, server)
        cmd = fanout.run_args(playbook, inventory, args.hosts)
        result = work / "cpu.json"
        subprocess.run(
            [sys.executable, __file__, "--child", str(result), *cmd],
            env=env,
            cwd=work,
            check=True,
            stdout=subprocess.DEVNULL,
        )
        d = json.loads(result.read_text())
    finally:
        server.stop()
        shutil.rmtree(work, ignore_errors=True)
    r = d["run"]
    print(
        f"run: {r['wall']:.3f} s wall, engine thread {r['engine CPU']:.3f} s CPU, "
        f"process {r['process CPU']:.3f} s CPU"
    )
    for kind, (user, system, switches, n) in sorted(d["threads"].items()):
        print(
            f"  threads {kind:9} x{int(n):<3} {user:.3f} s user {system:.3f} s system, "
            f"{int(switches)} voluntary switches"
        )
    ranked = sorted(d["engine"].items(), key=lambda kv: -kv[1])
    print("  engine: " + ", ".join(f"{k} {v * 1000:.0f} ms" for k, v in ranked))
    wall, cpu = d["transition"]
    print(f"  transition (last result -> next dispatch): {wall:.2f} ms wall, {cpu:.2f} ms CPU")
    gcs = ", ".join(f"gen {g}: {int(n)} x {ms:.1f} ms" for g, (n, ms) in sorted(d["gc"].items()))
    print(f"  gc during the run: {gcs or 'none'}")
    print(f"  load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()

"""Where a step's time goes in `runbook run` at HOSTS x STEPS over SSH, against the floor.

The fan-out of bench/fanout.py (a chain of `echo` steps on loopback hosts, private sshd),
run once by bare paramiko (the floor: persistent connections, every host of a step at
once) and once by `runbook run`, each in a child process that marks moments with
`time.perf_counter()`: runbook's through wrappers installed around a few functions
(a measuring tool only: nothing of it is in runbook). Per step after the first, medians
over the steps, in ms from the moment the previous step's last command returned in its
worker thread:

  taken     the engine took that last completion off its queue
  stored    the turn that starts the step is committed (journal append + fsync)
  shown     those events are folded and shown
  dispatch  the step's commands are handed to the worker threads
  eta       the forecast written after the transition: when it begins, its wall and
            thread CPU times (one that waits for budget is not counted)
  sent      the step's first / last command is on the wire (exec request answered)
  returned  the step's first / last command returned (the step's own duration)

    .venv/bin/python bench/step_turnaround.py [--hosts 50] [--steps 20]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "bench"))

import fanout  # noqa: E402
import sshd  # noqa: E402

Marks = list[tuple[str, int, float]]  # (what, step, perf_counter)


def step_of(command: str) -> int:
    """The step number `fanout.command` put in a command (0 if none)."""
    words = command.split()
    for i, w in enumerate(words[:-1]):
        if w == "step" and words[i + 1].isdigit():
            return int(words[i + 1])
    return 0


def install_runbook_marks(marks: Marks) -> None:
    """Wrap the functions on a step's path through runbook to append marks."""
    import threading

    from runbook.engine import _commit, _core, _dispatch, _engine, _eta_write
    from runbook.executors.ssh import _transport
    from runbook.journal import _store

    now = time.perf_counter
    current: dict[int, int] = {}  # worker thread -> the step of its command

    def wrap(owner: Any, name: str, before: Any = None, after: Any = None) -> None:
        fn = getattr(owner, name)

        def wrapper(*a: Any, **kw: Any) -> Any:
            if before:
                before(*a, **kw)
            result = fn(*a, **kw)
            if after:
                after(*a, **kw)
            return result

        setattr(owner, name, wrapper)

    def run_before(self: Any, host: Any, command: str, **kw: Any) -> None:
        n = step_of(command)
        current[threading.get_ident()] = n
        marks.append(("run", n, now()))

    def run_after(self: Any, host: Any, command: str, **kw: Any) -> None:
        marks.append(("returned", step_of(command), now()))

    def sent(*a: Any, **kw: Any) -> None:
        marks.append(("sent", current.get(threading.get_ident(), 0), now()))

    def completed(self: Any, c: Any, t: float) -> None:
        marks.append(("taken", int(c.job.step_id[1:]), now()))

    def dispatched(self: Any, taken: Any) -> None:
        step = int(taken[0][0].step_id[1:]) if taken else 0
        marks.append(("dispatch", step, now()))

    wrap(_transport.SshTransport, "run", run_before, run_after)
    wrap(_transport, "send_eof", sent)
    wrap(_core.RunCore, "completed", completed)
    wrap(_dispatch.Dispatcher, "start", dispatched)
    wrap(_commit.Committer, "commit", lambda *a: marks.append(("commit", 0, now())))
    wrap(_store.Journal, "append_many", None, lambda *a: marks.append(("stored", 0, now())))
    wrap(_engine.Engine, "_ingest_own", None, lambda *a: marks.append(("shown", 0, now())))

    def eta_before(*a: Any, **k: Any) -> None:
        marks.append(("eta", 0, now()))
        marks.append(("eta_cpu", 0, time.thread_time()))

    def eta_after(*a: Any, **k: Any) -> None:
        marks.append(("eta_end", 0, now()))
        marks.append(("eta_cpu_end", 0, time.thread_time()))

    wrap(_eta_write, "write_eta", eta_before, eta_after)
    _engine.write_eta = _eta_write.write_eta  # imported by name there


def runbook_child(marks_path: str, argv: list[str]) -> None:
    """`runbook run …` in this process, its marks written to `marks_path` at exit."""
    import atexit
    import runpy

    marks: Marks = []
    install_runbook_marks(marks)
    atexit.register(lambda: Path(marks_path).write_text(json.dumps([*marks, cpu()])))
    sys.argv = ["runbook", *argv]
    runpy.run_module("runbook", run_name="__main__", alter_sys=True)


def floor_child(spec: str, marks_path: str) -> None:
    """bench/fanout.py's floor, marked the same way."""
    import socket
    from concurrent.futures import ThreadPoolExecutor

    import paramiko

    hosts, port, user, key_path, steps = json.loads(spec)
    key = paramiko.PKey.from_path(key_path)
    marks: Marks = []
    now = time.perf_counter

    def connect(address: str) -> paramiko.Transport:
        sock = socket.create_connection((address, port), timeout=30)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        t = paramiko.Transport(sock)
        t.start_client(timeout=30)
        t.auth_publickey(user, key)
        return t

    def run(t: paramiko.Transport, n: int) -> int:
        marks.append(("run", n, now()))
        chan = t.open_session()
        chan.exec_command(fanout.command(n))
        marks.append(("sent", n, now()))
        while chan.recv(65536):
            pass
        code = chan.recv_exit_status()
        chan.close()
        marks.append(("returned", n, now()))
        return code

    with ThreadPoolExecutor(max_workers=len(hosts)) as pool:
        transports = list(pool.map(connect, hosts))
        for n in range(1, steps + 1):
            marks.append(("dispatch", n, now()))
            assert list(pool.map(lambda t, n=n: run(t, n), transports)) == [0] * len(hosts)
            marks.append(("taken", n, now()))
    for t in transports:
        t.close()
    Path(marks_path).write_text(json.dumps([*marks, cpu()]))


def cpu() -> tuple[str, int, float]:
    """This process's CPU seconds so far (user + system), as a mark."""
    import resource

    usage = resource.getrusage(resource.RUSAGE_SELF)
    return ("cpu", 0, usage.ru_utime + usage.ru_stime)


def turnaround(marks: Marks, steps: int) -> dict[str, list[float]]:
    """Per step 2..steps, ms from the previous step's last `returned` to each moment."""
    by: dict[tuple[str, int], list[float]] = {}
    loose: dict[str, list[float]] = {}
    for what, n, t in marks:
        if n:
            by.setdefault((what, n), []).append(t)
        else:
            loose.setdefault(what, []).append(t)
    rows: dict[str, list[float]] = {}

    def add(name: str, t0: float, t: float | None) -> None:
        if t is not None:
            rows.setdefault(name, []).append((t - t0) * 1000)

    for n in range(2, steps + 1):
        t0 = max(by[("returned", n - 1)])
        taken = [t for t in by.get(("taken", n - 1), []) if t >= t0]
        add("taken", t0, min(taken) if taken else None)
        start = min(by[("dispatch", n)])
        stored = [t for t in loose.get("stored", []) if t0 <= t <= start]
        if stored:  # the commit that started the step, then its events shown
            add("stored", t0, max(stored))
            shown = [t for t in loose.get("shown", []) if t >= max(stored)]
            add("shown", t0, min(shown) if shown else None)
        add("dispatch", t0, start)
        add("first sent", t0, min(by[("sent", n)]))
        add("last sent", t0, max(by[("sent", n)]))
        add("first returned", t0, min(by[("returned", n)]))
        add("last returned", t0, max(by[("returned", n)]))
        etas = [t for t in loose.get("eta", []) if t0 <= t <= max(by[("returned", n)])]
        add("eta begun", t0, min(etas) if etas else None)
    spans = zip(loose.get("eta", []), loose.get("eta_end", []), strict=False)
    forecasts = [(b - a) * 1000 for a, b in spans if b - a > 0.0005]  # not a skipped one
    rows["eta: count"] = [len(forecasts)]
    rows["eta: each"] = forecasts
    spans = zip(loose.get("eta_cpu", []), loose.get("eta_cpu_end", []), strict=False)
    rows["eta: each, CPU"] = [(b - a) * 1000 for a, b in spans if b - a > 0.0005]
    rows["process CPU (s)"] = loose.get("cpu", [])
    steps_ms = [
        (max(by[("returned", n)]) - max(by[("returned", n - 1)])) * 1000
        for n in range(2, steps + 1)
    ]
    rows["step (whole)"] = steps_ms
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hosts", type=int, default=50)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--runbook-child", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)
    parser.add_argument("--floor-child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.runbook_child:
        return runbook_child(args.runbook_child[0], args.runbook_child[1:])
    if args.floor_child:
        return floor_child(*args.floor_child)
    if reason := sshd.unavailable():
        raise SystemExit(f"step_turnaround: {reason}")
    work = sshd.public_tempdir("runbook-steps-")
    server = sshd.start(fanout.addresses(args.hosts))
    try:
        spec = [server.addresses, server.port, server.user, str(server.client_key)]
        me = [sys.executable, __file__]
        floor_marks, runbook_marks = work / "floor.json", work / "runbook.json"
        for steps in (1, args.steps):  # the first: warm-up (caches on both sides)
            arg = json.dumps([*spec, steps])
            subprocess.run([*me, "--floor-child", arg, str(floor_marks)], check=True)
        playbook, inventory = fanout.write_runbook_files(work, server, args.steps)
        env = fanout.runbook_env(work, server)
        cmd = fanout.run_args(playbook, inventory, args.hosts)
        subprocess.run(
            [*me, "--runbook-child", str(runbook_marks), *cmd],
            env=env,
            cwd=work,
            check=True,
            stdout=subprocess.DEVNULL,
        )
        floor = turnaround(json.loads(floor_marks.read_text()), args.steps)
        ours = turnaround(json.loads(runbook_marks.read_text()), args.steps)
    finally:
        server.stop()
        shutil.rmtree(work, ignore_errors=True)
    print(f"per step, median over steps 2-{args.steps} ({args.hosts} hosts), ms after the")
    print("previous step's last command returned (floor / runbook run):")
    for name in ours:
        f = f"{statistics.median(floor[name]):7.1f}" if floor.get(name) else "      -"
        print(f"  {name:16} {f} {statistics.median(ours[name]):7.1f}")
    print(f"  load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()

"""What the full-screen console costs: CPU of a 500-host rehearsal, console against --plain.

The same rehearsal (STEPS steps on HOSTS hosts, a fixed seed, played SPEED times faster
than real time so it lasts as long as the console has to draw) runs twice:
  plain    `runbook rehearse --plain`, its lines to /dev/null
  console  `runbook rehearse` on a pseudo-terminal (python's pty), the screen read and dropped
and prints each one's CPU seconds (user + system, from wait4) and wall time, and the
console's extra CPU as a share of the plain run's. Target: under 5 %.

The console runs through bench/_console_probe.py, which also counts, inside the process,
the CPU of what exists only for the console (loading Textual, its screen loop and threads,
the Feed on the engine's thread: each thread's own CPU clock). On a real 500-host run the
A/B difference moves by more than the console costs (the 500 sshd processes share the two
cores), so both are printed: the probe's share is the console's cost; the A/B median says
whether anything else (the GIL, say) adds to it.

    .venv/bin/python bench/console_cost.py [--hosts 500] [--steps 20] [--speed 40]
    .venv/bin/python bench/console_cost.py --ssh [--hosts 500] [--steps 20] [--rounds 3]

With --ssh the two runs are real: `runbook run` over SSH against private sshd servers on
HOSTS loopback addresses (bench/fanout.py's), each step `echo` on every host.
"""

from __future__ import annotations

import argparse
import fcntl
import json
import os
import pty
import select
import statistics
import struct
import subprocess
import sys
import tempfile
import termios
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def write_files(work: Path, hosts: int, steps: int) -> tuple[Path, Path]:
    inventory = work / "hosts.yml"
    lines = ["all:", "  hosts:"]
    lines += [f"    h{n:03d}: {{ansible_host: 127.0.1.{n % 250 + 1}}}" for n in range(hosts)]
    inventory.write_text("\n".join(lines) + "\n")
    phases = ("power", "network", "storage", "directory", "applications")
    lines = ["playbook: console-cost", "title: Console cost", "rto: 2h", "steps:"]
    for n in range(1, steps + 1):
        lines += [
            f"  - id: step-{n:02d}",
            f"    title: Step {n}",
            f"    phase: {phases[(n - 1) * len(phases) // steps]}",
            "    hosts: all",
            f'    run: "restore part {n}"',
            "    estimate: {min: 45s, likely: 1m, max: 2m}",
        ]
        if n > 2:
            lines.append(f"    needs: [step-{n - 2:02d}]")
    playbook = work / "playbook.yml"
    playbook.write_text("\n".join(lines) + "\n")
    return playbook, inventory


def _cpu(pid: int) -> tuple[int, float]:
    _pid, status, usage = os.wait4(pid, 0)
    return os.waitstatus_to_exitcode(status), usage.ru_utime + usage.ru_stime


def run_plain(args: list[str], env: dict[str, str] | None = None) -> tuple[int, float, float]:
    t = time.monotonic()
    with open(os.devnull, "w") as devnull:
        proc = subprocess.Popen([*args, "--plain"], stdout=devnull, stderr=devnull, env=env)
        code, cpu = _cpu(proc.pid)
    return code, cpu, time.monotonic() - t


PROBE = str(ROOT / "bench" / "_console_probe.py")
PROBED: list[dict[str, float]] = []  # the probe's figures, one per console run


def run_console(args: list[str], env: dict[str, str] | None = None) -> tuple[int, float, float]:
    """`args` (python -m runbook …) through the probe, on a pseudo-terminal of 160×50."""
    assert args[1:3] == ["-m", "runbook"]
    fd, out = tempfile.mkstemp(suffix=".json")
    os.close(fd)
    args = [args[0], PROBE, *args[3:]]
    env = dict(env or os.environ, RUNBOOK_PROBE_OUT=out)
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 50, 160, 0, 0))
    t = time.monotonic()
    env = dict(env or os.environ, TERM="xterm-256color")
    proc = subprocess.Popen(
        args, stdin=slave, stdout=slave, stderr=slave, env=env, start_new_session=True
    )
    os.close(slave)
    while True:
        ready, _, _ = select.select([master], [], [], 0.5)
        if ready:
            try:
                if not os.read(master, 1 << 16):
                    break
            except OSError:
                break
        elif proc.poll() is not None:
            break
    os.close(master)
    code, cpu = _cpu(proc.pid)
    wall = time.monotonic() - t
    try:
        PROBED.append(json.loads(Path(out).read_text() or "{}"))
    finally:
        os.unlink(out)
    return code, cpu, wall


PARTS = ("import", "screen", "textual", "feed")


def own_share(probe: dict[str, float]) -> float:
    """The console's own CPU as a share (%) of the rest of the process's."""
    own = sum(probe.get(k, 0.0) for k in PARTS)
    rest = probe.get("process", 0.0) - own
    return 100 * own / rest if rest > 0 else float("nan")


def probe_line(probe: dict[str, float]) -> str:
    """The console's own CPU in one run, part by part."""
    own = sum(probe.get(k, 0.0) for k in PARTS)
    parts = "  ".join(f"{k} {probe.get(k, 0.0):.2f}" for k in PARTS)
    rest = probe.get("process", 0.0) - own
    return (
        f"         console's own CPU {own:5.2f} s ({parts}) "
        f"= {own_share(probe):.1f} % of the run's {rest:.2f} s"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hosts", type=int, default=500)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--speed", default="40")
    parser.add_argument("--ssh", action="store_true", help="a real run over SSH, not a rehearsal")
    parser.add_argument("--rounds", type=int, default=3, help="--ssh: plain/console pairs")
    opts = parser.parse_args()
    if opts.ssh:
        over_ssh(opts.hosts, opts.steps, opts.rounds)
        return
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        playbook, inventory = write_files(work, opts.hosts, opts.steps)
        results = {}
        for name, runner in (("plain", run_plain), ("console", run_console)):
            state = work / f"{name}.db"
            args = [sys.executable, "-m", "runbook", "--state", str(state), "rehearse"]
            args += [str(playbook), "-i", str(inventory), "--seed", "7", "--speed", opts.speed]
            code, cpu, wall = runner(args)
            results[name] = cpu
            print(f"{name:<8} exit {code}  cpu {cpu:6.2f} s  wall {wall:6.2f} s")
            if name == "console" and PROBED:
                print(probe_line(PROBED[-1]))
        extra = results["console"] - results["plain"]
        share = 100 * extra / results["plain"]
        print(
            f"console: {extra:+.2f} s CPU over --plain ({share:+.1f} %) for "
            f"{opts.steps} steps x {opts.hosts} hosts at --speed {opts.speed}"
        )
        print(f"load: {os.getloadavg()[0]:.2f} (1-minute average, {os.cpu_count()} cores)")


def over_ssh(hosts: int, steps: int, rounds: int) -> None:
    """The console against --plain on a real run: `runbook run` over SSH on HOSTS hosts."""
    sys.path.insert(0, str(ROOT / "bench"))
    sys.path.insert(0, str(ROOT / "tests"))
    import fanout
    import sshd

    work = sshd.public_tempdir("runbook-console-cost-")
    server = sshd.start(fanout.addresses(hosts))
    try:
        playbook, inventory = fanout.write_runbook_files(work, server, steps)
        env = dict(os.environ, RUNBOOK_KNOWN_HOSTS=str(server.known_hosts), RUNBOOK_SSH_CONFIG="")
        results: dict[str, list[float]] = {"plain": [], "console": []}
        # alternated, after one unmeasured run that warms the servers up
        order = [("warm-up", run_plain)] + [("plain", run_plain), ("console", run_console)] * rounds
        for n, (name, runner) in enumerate(order):
            state = work / f"{name}-{n}.db"
            args = [sys.executable, "-m", "runbook", "--state", str(state), "run"]
            args += [str(playbook), "-i", str(inventory), "--forks", str(hosts)]
            code, cpu, wall = runner(args, env)
            results.setdefault(name, []).append(cpu)
            load = os.getloadavg()[0]
            print(f"{name:<8} exit {code}  cpu {cpu:6.2f} s  wall {wall:6.2f} s  load {load:.1f}")
            if name == "console" and PROBED:
                print(probe_line(PROBED[-1]))
        plain, console = statistics.median(results["plain"]), statistics.median(results["console"])
        extra = console - plain
        print(
            f"A/B (median of {rounds} each): {extra:+.2f} s CPU over --plain "
            f"({100 * extra / plain:+.1f} %), {steps} steps x {hosts} hosts over SSH"
        )
        shares = ", ".join(f"{own_share(p):.1f}" for p in PROBED)
        print(f"probe: the console's own CPU in each run, % of the rest: {shares}")
        print(f"load: {os.getloadavg()[0]:.2f} (1-minute average, {os.cpu_count()} cores)")
    finally:
        server.stop()


if __name__ == "__main__":
    main()

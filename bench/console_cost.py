"""What the full-screen console costs: CPU of a 500-host rehearsal, console against --plain.

The same rehearsal (STEPS steps on HOSTS hosts, a fixed seed, played SPEED times faster
than real time so it lasts as long as the console has to draw) runs twice:
  plain    `runbook rehearse --plain`, its lines to /dev/null
  console  `runbook rehearse` on a pseudo-terminal (python's pty), the screen read and dropped
and prints each one's CPU seconds (user + system, from wait4) and wall time, and the
console's extra CPU as a share of the plain run's. Target: under 5 %.

    .venv/bin/python bench/console_cost.py [--hosts 500] [--steps 20] [--speed 40]
    .venv/bin/python bench/console_cost.py --ssh [--hosts 500] [--steps 3]

With --ssh the two runs are real: `runbook run` over SSH against private sshd servers on
HOSTS loopback addresses (bench/fanout.py's), each step `echo` on every host.
"""

from __future__ import annotations

import argparse
import fcntl
import os
import pty
import select
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


def run_console(args: list[str], env: dict[str, str] | None = None) -> tuple[int, float, float]:
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
    return code, cpu, time.monotonic() - t


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hosts", type=int, default=500)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--speed", default="40")
    parser.add_argument("--ssh", action="store_true", help="a real run over SSH, not a rehearsal")
    opts = parser.parse_args()
    if opts.ssh:
        over_ssh(opts.hosts, opts.steps)
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
        extra = results["console"] - results["plain"]
        share = 100 * extra / results["plain"]
        print(
            f"console: {extra:+.2f} s CPU over --plain ({share:+.1f} %) for "
            f"{opts.steps} steps x {opts.hosts} hosts at --speed {opts.speed}"
        )
        print(f"load: {os.getloadavg()[0]:.2f} (1-minute average, {os.cpu_count()} cores)")


def over_ssh(hosts: int, steps: int) -> None:
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
        # twice each, alternated: the first run also warms the servers up
        order = [("plain", run_plain), ("console", run_console)] * 2
        for n, (name, runner) in enumerate(order):
            state = work / f"{name}-{n}.db"
            args = [sys.executable, "-m", "runbook", "--state", str(state), "run"]
            args += [str(playbook), "-i", str(inventory), "--forks", str(hosts)]
            code, cpu, wall = runner(args, env)
            results[name].append(cpu)
            print(f"{name:<8} exit {code}  cpu {cpu:6.2f} s  wall {wall:6.2f} s")
        plain, console = min(results["plain"]), min(results["console"])
        extra = console - plain
        share = 100 * extra / plain
        print(
            f"console (best of 2 each): {extra:+.2f} s CPU over --plain ({share:+.1f} %) "
            "for a real run of "
            f"{steps} steps x {hosts} hosts over SSH"
        )
        print(f"load: {os.getloadavg()[0]:.2f} (1-minute average, {os.cpu_count()} cores)")
    finally:
        server.stop()


if __name__ == "__main__":
    main()

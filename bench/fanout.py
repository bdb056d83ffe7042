"""Fan-out over SSH: a chain of STEPS steps, each on HOSTS loopback hosts.

Prints runbook's wall time beside
  (a) a floor: bare paramiko, persistent connections, TCP_NODELAY, the same chain and the
      same parallelism (every host of a step at once, the next step when all are done);
  (b) ansible-playbook: ansible-core from PyPI in its own venv under /tmp, `raw` module,
      forks = HOSTS, pipelining, OpenSSH ControlPersist, host key checking on.
Targets: runbook within 1.5x of the floor, at least 5x faster than ansible-playbook.

Needs root and openssh-server (private sshd processes on 127.0.0.190+, as the tests do).
    .venv/bin/python bench/fanout.py [--hosts 50] [--steps 20] [--no-ansible]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

import paramiko  # noqa: E402
import sshd  # noqa: E402

from runbook.clock import parse_iso  # noqa: E402

ANSIBLE_VENV = Path("/tmp/runbook-bench-ansible")
FIRST_ADDRESS = 190


def command(step: int) -> str:
    return f"echo step {step} on $(hostname)"


def write_runbook_files(work: Path, server: sshd.Sshd, steps: int) -> tuple[Path, Path]:
    inventory = work / "hosts.yml"
    inventory.write_text(server.inventory_yaml())
    lines = ["playbook: fanout", "title: Fan-out benchmark", "steps:"]
    for n in range(1, steps + 1):
        lines += [
            f"  - id: s{n:02d}",
            f"    title: Step {n}",
            "    phase: bench",
            "    hosts: all",
            f'    run: "{command(n)}"',
        ]
        if n > 1:
            lines.append(f"    needs: [s{n - 1:02d}]")
    playbook = work / "fanout.yml"
    playbook.write_text("\n".join(lines) + "\n")
    return playbook, inventory


def time_runbook(work: Path, server: sshd.Sshd, steps: int, forks: int) -> tuple[float, float]:
    """(CLI wall time, engine time from run_started to run_finished in the journal)."""
    playbook, inventory = write_runbook_files(work, server, steps)
    env = dict(
        os.environ,
        RUNBOOK_STATE=str(work / "state.db"),
        RUNBOOK_KNOWN_HOSTS=str(server.known_hosts),
        RUNBOOK_SSH_CONFIG="",
        NO_COLOR="1",
    )
    cli = [sys.executable, "-m", "runbook"]
    start = time.perf_counter()
    p = subprocess.run(
        [*cli, "run", str(playbook), "-i", str(inventory), "--forks", str(forks)],
        env=env,
        capture_output=True,
        text=True,
        cwd=work,
    )
    wall = time.perf_counter() - start
    if p.returncode != 0:
        raise SystemExit(f"runbook run failed ({p.returncode}):\n{p.stdout[-2000:]}\n{p.stderr}")
    out = subprocess.run(
        [*cli, "export", "latest", "--format", "jsonl"], env=env, capture_output=True, text=True
    ).stdout
    events = [json.loads(line) for line in out.splitlines()]
    ts = {
        e["type"]: parse_iso(e["ts"])
        for e in events
        if e["type"] in ("run_started", "run_finished")
    }
    return wall, ts["run_finished"] - ts["run_started"]


def time_floor(server: sshd.Sshd, steps: int, forks: int) -> float:
    """Bare paramiko: connect every host (persistent), then the chain, fanned out."""
    key = paramiko.PKey.from_path(str(server.client_key))

    def connect(address: str) -> paramiko.Transport:
        sock = socket.create_connection((address, server.port), timeout=10)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        t = paramiko.Transport(sock)
        t.start_client(timeout=10)
        t.auth_publickey(server.user, key)
        return t

    def run(t: paramiko.Transport, cmd: str) -> int:
        chan = t.open_session()
        chan.exec_command(cmd)
        while chan.recv(65536):
            pass
        code = chan.recv_exit_status()
        chan.close()
        return code

    start = time.perf_counter()
    with ThreadPoolExecutor(max_workers=forks) as pool:
        transports = list(pool.map(connect, server.addresses))
        for n in range(1, steps + 1):
            codes = list(pool.map(lambda t, n=n: run(t, command(n)), transports))
            assert codes == [0] * len(codes), codes
    elapsed = time.perf_counter() - start
    for t in transports:
        t.close()
    return elapsed


def ensure_ansible() -> Path:
    """ansible-playbook from PyPI in a venv of its own (installed once, then reused)."""
    exe = ANSIBLE_VENV / "bin" / "ansible-playbook"
    if not exe.exists():
        print(f"installing ansible-core into {ANSIBLE_VENV} ...", file=sys.stderr)
        subprocess.run([sys.executable, "-m", "venv", str(ANSIBLE_VENV)], check=True)
        subprocess.run(
            [str(ANSIBLE_VENV / "bin" / "pip"), "install", "-q", "ansible-core"], check=True
        )
    return exe


def time_ansible(work: Path, server: sshd.Sshd, steps: int, forks: int) -> float:
    exe = ensure_ansible()
    inventory = work / "ansible-hosts.ini"
    inventory.write_text(
        "[bench]\n"
        + "".join(f"h{i:02d} ansible_host={a}\n" for i, a in enumerate(server.addresses))
        + "[bench:vars]\n"
        f"ansible_port={server.port}\nansible_user={server.user}\n"
        f"ansible_ssh_private_key_file={server.client_key}\n"
    )
    tasks = "".join(f'    - raw: "{command(n)}"\n' for n in range(1, steps + 1))
    playbook = work / "ansible-fanout.yml"
    playbook.write_text(f"- hosts: bench\n  gather_facts: false\n  tasks:\n{tasks}")
    control = Path(sshd.public_tempdir("rb-cp-"))  # ControlPath must stay short
    (work / "ansible.cfg").write_text(
        "[defaults]\n"
        f"forks = {forks}\nhost_key_checking = True\nretry_files_enabled = False\n"
        "[ssh_connection]\npipelining = True\n"
        f"control_path_dir = {control}\n"
        # Masters outlive idle gaps between tasks, then exit on their own after the run.
        "ssh_args = -o ControlMaster=auto -o ControlPersist=5s "
        f"-o UserKnownHostsFile={server.known_hosts} -o StrictHostKeyChecking=yes\n"
    )
    env = dict(os.environ, ANSIBLE_CONFIG=str(work / "ansible.cfg"), ANSIBLE_NOCOLOR="1")
    start = time.perf_counter()
    p = subprocess.run(
        [str(exe), "-i", str(inventory), str(playbook)],
        env=env,
        capture_output=True,
        text=True,
        cwd=work,
    )
    elapsed = time.perf_counter() - start
    shutil.rmtree(control, ignore_errors=True)
    if p.returncode != 0:
        raise SystemExit(f"ansible-playbook failed:\n{p.stdout[-3000:]}\n{p.stderr[-2000:]}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hosts", type=int, default=50)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--no-ansible", action="store_true", help="skip ansible-playbook")
    args = parser.parse_args()
    if reason := sshd.unavailable():
        raise SystemExit(f"fanout: {reason}")
    forks = args.hosts
    work = sshd.public_tempdir("runbook-fanout-")
    server = sshd.start(sshd.loopback(FIRST_ADDRESS, args.hosts))
    try:
        # Warm-up: first logins fill caches (user lookups, key loading) on both sides.
        time_floor(server, 1, forks)
        floor = time_floor(server, args.steps, forks)
        wall, engine = time_runbook(work, server, args.steps, forks)
        ansible = None if args.no_ansible else time_ansible(work, server, args.steps, forks)
    finally:
        server.stop()
        shutil.rmtree(work, ignore_errors=True)
    n = args.hosts * args.steps
    rows = [
        ("floor (paramiko, persistent, TCP_NODELAY)", floor, ""),
        ("runbook run (CLI wall time)", wall, f"{wall / floor:5.2f}x floor"),
        ("runbook engine (run_started->finished)", engine, f"{engine / floor:5.2f}x floor"),
    ]
    if ansible is not None:
        rows.append(
            (f"ansible-playbook (raw, forks {forks})", ansible, f"{ansible / wall:5.2f}x runbook")
        )
    print(f"fan-out: {args.steps} chained steps x {args.hosts} hosts = {n} commands, forks {forks}")
    for label, seconds, ratio in rows:
        print(f"  {label:44} {seconds:7.2f} s  {ratio}")


if __name__ == "__main__":
    main()

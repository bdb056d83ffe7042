"""Fan-out over SSH: a chain of STEPS steps, each on HOSTS loopback hosts.

Prints runbook's wall time and peak RSS beside
  (a) a floor: bare paramiko, persistent connections, TCP_NODELAY, the same chain and the
      same parallelism (every host of a step at once, the next step when all are done),
      in a child process of its own, so that its peak RSS is its own too;
  (b) ansible-playbook: ansible-core from PyPI in its own venv under /tmp, `raw` module,
      forks = HOSTS, pipelining, OpenSSH ControlPersist, host key checking on.
Targets: runbook within 1.3x of the floor, under 1 GiB of RSS at 1,000 hosts, at least
5x faster than ansible-playbook.

Needs root and openssh-server: private sshd processes (16 addresses each) on 127.0.100.1
onwards (127.0.x.y, 250 per x), as the tests do. 1,000 hosts start 63 sshd listeners and
1,000 logged-in connections (about 4 GB of RAM on the server side): run it rarely.
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
PER_X = 250  # 127.0.X.1 … 127.0.X.250
FIRST_X = 100  # clear of the tests' 127.0.0.x and 127.0.2.x


def command(step: int) -> str:
    return f"echo step {step} on $(hostname)"


def write_runbook_files(
    work: Path, server: sshd.Sshd, steps: int, jump: bool = False
) -> tuple[Path, Path]:
    inventory = work / "hosts.yml"
    if jump:  # every host behind one bastion (the first address), named in ssh_config
        extra = {"ansible_ssh_common_args": '"-o ProxyJump=bastion"'}
        inventory.write_text(server.inventory_yaml(**extra))
    else:
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


def addresses(n: int) -> list[str]:
    """127.0.100.1 … : past 127.0.0.x, which holds 254 addresses at most."""
    return [f"127.0.{FIRST_X + i // PER_X}.{1 + i % PER_X}" for i in range(n)]


def run_measured(argv: list[str], env: dict[str, str], cwd: Path) -> tuple[int, str, float, int]:
    """(exit code, stdout+stderr tail, wall seconds, peak RSS in KiB) of a child process."""
    out = cwd / "child.out"
    with out.open("w") as f:
        start = time.perf_counter()
        p = subprocess.Popen(argv, env=env, cwd=cwd, stdout=f, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(p.pid, 0)
        wall = time.perf_counter() - start
    p.returncode = os.waitstatus_to_exitcode(status)
    return p.returncode, out.read_text()[-3000:], wall, usage.ru_maxrss


def runbook_env(work: Path, server: sshd.Sshd, **extra: str) -> dict[str, str]:
    """The environment of a benchmarked `runbook run`: its state in `work`, the private
    sshd's host keys, no colours."""
    return dict(
        os.environ,
        RUNBOOK_STATE=str(work / "state.db"),
        RUNBOOK_KNOWN_HOSTS=str(server.known_hosts),
        NO_COLOR="1",
        **extra,
    )


def run_args(playbook: Path, inventory: Path, forks: int) -> list[str]:
    """`runbook run`'s arguments for the fan-out."""
    return ["run", str(playbook), "-i", str(inventory), "--forks", str(forks)]


def time_runbook(
    work: Path, server: sshd.Sshd, steps: int, forks: int, jump: bool = False
) -> tuple[float, float, int]:
    """(CLI wall time, engine time from run_started to run_finished, peak RSS KiB)."""
    playbook, inventory = write_runbook_files(work, server, steps, jump)
    config = work / "ssh_config"
    config.write_text(
        f"Host bastion\n  HostName {addresses(1)[0]}\n  Port {server.port}\n"
        f"  User {server.user}\n  IdentityFile {server.client_key}\n"
    )
    env = runbook_env(work, server, RUNBOOK_SSH_CONFIG=str(config) if jump else "")
    cli = [sys.executable, "-m", "runbook"]
    args = run_args(playbook, inventory, forks)
    code, tail, wall, rss = run_measured([*cli, *args], env, work)
    if code != 0:
        raise SystemExit(f"runbook run failed ({code}):\n{tail}")
    out = subprocess.run(
        [*cli, "export", "latest", "--format", "jsonl"], env=env, capture_output=True, text=True
    ).stdout
    events = [json.loads(line) for line in out.splitlines()]
    ts = {
        e["type"]: parse_iso(e["ts"])
        for e in events
        if e["type"] in ("run_started", "run_finished")
    }
    return wall, ts["run_finished"] - ts["run_started"], rss


def time_floor_child(
    work: Path, server: sshd.Sshd, steps: int, forks: int
) -> tuple[float, float, float, int]:
    """(seconds connecting, seconds in all, the child's wall time, peak RSS KiB) of the
    floor, run by this script in a child process."""
    argv = [
        sys.executable,
        __file__,
        "--floor-child",
        json.dumps(
            [server.addresses, server.port, server.user, str(server.client_key), steps, forks]
        ),
    ]
    code, tail, wall, rss = run_measured(argv, dict(os.environ), work)
    if code != 0:
        raise SystemExit(f"floor failed ({code}):\n{tail}")
    connect, elapsed = map(float, tail.strip().splitlines()[-1].split())
    return connect, elapsed, wall, rss


def time_floor(spec: str) -> tuple[float, float]:
    """Bare paramiko: connect every host (persistent), then the chain, fanned out."""
    hosts, port, user, key_path, steps, forks = json.loads(spec)
    key = paramiko.PKey.from_path(key_path)

    def connect(address: str) -> paramiko.Transport:
        # Tried again when the handshake fails, as runbook does: at 1,000 hosts at once on
        # a loaded machine, a few handshakes end in EOF (seen at load average 250).
        for attempt in range(1, 6):
            sock = socket.create_connection((address, port), timeout=30)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            t = paramiko.Transport(sock)
            try:
                t.start_client(timeout=30)
                t.auth_publickey(user, key)
                return t
            except (paramiko.SSHException, EOFError, OSError):
                t.close()
                if attempt == 5:
                    raise
                time.sleep(0.2 * attempt)
        raise AssertionError("unreachable")

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
        transports = list(pool.map(connect, hosts))
        connected = time.perf_counter() - start
        for n in range(1, steps + 1):
            codes = list(pool.map(lambda t, n=n: run(t, command(n)), transports))
            assert codes == [0] * len(codes), codes
    elapsed = time.perf_counter() - start
    for t in transports:
        t.close()
    return connected, elapsed


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
    parser.add_argument(
        "--jump", action="store_true", help="runbook only, every host behind one ProxyJump"
    )
    parser.add_argument("--floor-child", help=argparse.SUPPRESS)  # the floor's own process
    args = parser.parse_args()
    if args.floor_child:
        print("{:.4f} {:.4f}".format(*time_floor(args.floor_child)))
        return
    if reason := sshd.unavailable():
        raise SystemExit(f"fanout: {reason}")
    if args.jump:
        return via_jump(args.hosts, args.steps)
    forks = args.hosts
    work = sshd.public_tempdir("runbook-fanout-")
    server = sshd.start(addresses(args.hosts))
    try:
        # Warm-up: first logins fill caches (user lookups, key loading) on both sides.
        time_floor_child(work, server, 1, forks)
        connect, floor, floor_wall, floor_rss = time_floor_child(work, server, args.steps, forks)
        wall, engine, rss = time_runbook(work, server, args.steps, forks)
        ansible = None if args.no_ansible else time_ansible(work, server, args.steps, forks)
    finally:
        server.stop()
        shutil.rmtree(work, ignore_errors=True)
    n = args.hosts * args.steps
    mib = 1024.0
    rows = [
        ("floor (paramiko, persistent, TCP_NODELAY)", floor, f"connect {connect:4.2f} s", None),
        ("floor process (+ python start, close)", floor_wall, "", floor_rss / mib),
        ("runbook run (CLI wall time)", wall, f"{wall / floor:5.2f}x floor", rss / mib),
        ("  vs the floor process", wall, f"{wall / floor_wall:5.2f}x", None),
        ("runbook engine (run_started->finished)", engine, f"{engine / floor:5.2f}x floor", None),
    ]
    if ansible is not None:
        label = f"ansible-playbook (raw, forks {forks})"
        rows.append((label, ansible, f"{ansible / wall:5.2f}x runbook", None))
    print(f"fan-out: {args.steps} chained steps x {args.hosts} hosts = {n} commands, forks {forks}")
    for label, seconds, ratio, peak in rows:
        shown = f"{peak:7.0f} MiB peak RSS" if peak is not None else ""
        print(f"  {label:44} {seconds:7.2f} s  {ratio:12} {shown}")
    print(f"  load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


def via_jump(hosts: int, steps: int) -> None:
    """Every host behind one bastion: the run's time, and how many logins the bastion saw
    (OpenSSH's ProxyJump, as Ansible uses it, opens one connection to it per host)."""
    work = sshd.public_tempdir("runbook-fanout-")
    server = sshd.start(addresses(hosts + 1))  # the first address is the bastion
    bastion = server.addresses.pop(0)
    try:
        wall, engine, rss = time_runbook(work, server, steps, hosts, jump=True)
        jump_logins = sshd.connection_count(server, bastion)
        target_logins = sum(sshd.connection_count(server, a) for a in server.addresses[:20])
    finally:
        server.addresses.insert(0, bastion)
        server.stop()
        shutil.rmtree(work, ignore_errors=True)
    print(f"via one ProxyJump: {steps} chained steps x {hosts} hosts, forks {hosts}")
    print(
        f"  runbook run (CLI wall time) {wall:.2f} s, engine {engine:.2f} s, {rss / 1024:.0f} MiB"
    )
    print(f"  logins on the bastion: {jump_logins} (on the first 20 targets: {target_logins})")
    print(f"  load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()

"""Private OpenSSH servers on loopback addresses for the SSH tests, benchmarks and demo.

What works on Debian's OpenSSH as root (and what the choices below are for):
- one sshd listens on at most 16 ListenAddress lines, so one process serves 16 addresses;
- `StrictModes no` because the keys live under /tmp; `UsePAM no` (a `useradd` account is
  then locked until `usermod -p '*'`; root here is not locked); absolute paths to -f/-E;
- open sessions survive SIGTERM to the listener (each connection's sshd calls setsid), so
  `stop()` kills every descendant of the listener, found through /proc;
- known_hosts is written from the host public key, never scanned.
Everything is on 127.0.0.x; nothing leaves the machine.
"""

from __future__ import annotations

import contextlib
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import accounts

SSHD = Path("/usr/sbin/sshd")
PER_SSHD = 16  # ListenAddress lines one sshd accepts
# A plain account with /bin/sh and no rc files: root's login shell here sources a .bashrc
# that costs ~100 ms per command, which would swamp every latency the tests care about.
TEST_USER = "runbook-test"


def unavailable() -> str | None:
    """Why real-sshd tests cannot run here (None: they can)."""
    if os.geteuid() != 0:
        return "needs root to run private sshd servers"
    if not SSHD.exists() or shutil.which("ssh-keygen") is None:
        return "needs openssh-server (make system-deps)"
    return None


def ensure_user(name: str = TEST_USER) -> str:
    """Create the test account when missing, unlocked for key logins under `UsePAM no`."""
    return accounts.ensure(
        name, ["--create-home", "--shell", "/bin/sh"], after=["usermod", "-p", "*"]
    )


def keygen(path: Path, comment: str = "runbook-test") -> str:
    """A new ed25519 key pair at `path`; returns the public line `type base64`."""
    for p in (path, path.with_name(path.name + ".pub")):
        p.unlink(missing_ok=True)
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", str(path)],
        check=True,
        capture_output=True,
    )
    return " ".join(path.with_name(path.name + ".pub").read_text().split()[:2])


def free_port(addresses: Sequence[str], tries: int = 50) -> int:
    """A high port free on every address."""
    for _ in range(tries):
        port = random.randint(20000, 59999)
        socks: list[socket.socket] = []
        try:
            for a in addresses:
                s = socket.socket()
                socks.append(s)
                s.bind((a, port))
            return port
        except OSError:
            continue
        finally:
            for s in socks:
                s.close()
    raise RuntimeError("no free port")


def loopback(first: int, count: int) -> list[str]:
    """127.0.0.first … 127.0.0.(first+count-1)."""
    return [f"127.0.0.{i}" for i in range(first, first + count)]


@dataclass
class Sshd:
    """A set of sshd processes serving `addresses` on one port, and the client's keys."""

    root: Path
    addresses: list[str]
    port: int
    user: str
    client_key: Path
    host_key: Path
    host_public: str  # "ssh-ed25519 AAAA…"
    known_hosts: Path
    env_path: str | None = None
    max_startups: str = "1000"  # the default 10:30:100 drops parallel handshakes at random
    owned_root: bool = False  # created by `start`: `stop` removes it
    procs: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def known_hosts_lines(self, public: str | None = None) -> str:
        """known_hosts text for every address (with `public` instead of the real key)."""
        key = public or self.host_public
        return "".join(f"[{a}]:{self.port} {key}\n" for a in self.addresses)

    def inventory_head(self) -> list[str]:
        """A YAML inventory's first lines, `all:` and the vars that key it to this server."""
        return [
            "all:",
            "  vars:",
            f"    ansible_port: {self.port}",
            f"    ansible_user: {self.user}",
            f"    ansible_ssh_private_key_file: {self.client_key}",
        ]

    def inventory_yaml(self, names: Sequence[str] | None = None, **extra: object) -> str:
        """A YAML inventory with one host per address (names h01…), keyed to this server."""
        names = list(names or [f"h{i + 1:02d}" for i in range(len(self.addresses))])
        return self.inventory_of(dict(zip(names, self.addresses, strict=False)), **extra)

    def inventory_of(self, hosts: Mapping[str, str], **extra: object) -> str:
        """A YAML inventory of `hosts` (name: address) keyed to this server, `extra` vars."""
        lines = self.inventory_head()
        lines += [f"    {k}: {v}" for k, v in extra.items()]
        lines.append("  hosts:")
        lines += [f"    {n}: {{ansible_host: {a}}}" for n, a in hosts.items()]
        return "\n".join(lines) + "\n"

    def log(self) -> str:
        """Everything the servers logged (for failing-test diagnostics)."""
        return "".join(p.read_text(errors="replace") for p in sorted(self.root.glob("sshd-*.log")))

    def stop(self) -> None:
        """Stop the listeners and every session they spawned."""
        for proc in self.procs:
            kill_tree(proc.pid)
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(5)
        self.procs = []
        if self.owned_root:
            shutil.rmtree(self.root, ignore_errors=True)


def public_tempdir(prefix: str = "runbook-sshd-") -> Path:
    """A fresh folder under /tmp that the test user can traverse: sshd reads
    authorized_keys as that user, and its commands run the stubs kept here."""
    path = Path(tempfile.mkdtemp(prefix=prefix))
    path.chmod(0o755)
    return path


def start(
    addresses: Sequence[str],
    port: int | None = None,
    *,
    root: Path | None = None,
    user: str = TEST_USER,
    env_path: str | None = None,
    host_key: Path | None = None,
    max_startups: str = "1000",
) -> Sshd:
    """Start sshd on every address (one process per 16) and wait until all accept.

    `root` (default: a fresh public_tempdir, removed by `stop`) holds keys, config, logs;
    every folder above it must be traversable by `user`."""
    owned = root is None
    root = root or public_tempdir()
    root.mkdir(parents=True, exist_ok=True)
    root.chmod(0o755)
    if user != "root":
        ensure_user(user)
    Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)  # privilege separation directory
    port = port or free_port(addresses)
    client_key = root / "client_ed25519"
    client_public = keygen(client_key, "runbook-test-client")
    (root / "authorized_keys").write_text(client_public + "\n")
    if host_key is None:
        host_key = root / "host_ed25519"
        host_public = keygen(host_key, "runbook-test-host")
    else:
        host_public = " ".join(host_key.with_name(host_key.name + ".pub").read_text().split()[:2])
    server = Sshd(
        root, list(addresses), port, user, client_key, host_key, host_public, root / "known_hosts"
    )
    server.env_path = env_path
    server.max_startups = max_startups
    server.owned_root = owned
    server.known_hosts.write_text(server.known_hosts_lines())
    try:
        for n in range(0, len(addresses), PER_SSHD):
            server.procs.append(_spawn(server, list(addresses[n : n + PER_SSHD]), n // PER_SSHD))
        _wait_listening(server)
    except BaseException:
        server.stop()
        raise
    return server


@contextlib.contextmanager
def running(addresses: Sequence[str], port: int | None = None, **kw: Any) -> Iterator[Sshd]:
    """`start` … `stop` as a context manager."""
    server = start(addresses, port, **kw)
    try:
        yield server
    finally:
        server.stop()


def _spawn(server: Sshd, addresses: list[str], n: int) -> subprocess.Popen[bytes]:
    config = server.root / f"sshd-{n}.conf"
    lines = [f"ListenAddress {a}:{server.port}" for a in addresses] + [
        f"HostKey {server.host_key}",
        "PidFile none",
        f"AuthorizedKeysFile {server.root / 'authorized_keys'}",
        "StrictModes no",
        "UsePAM no",
        "PermitRootLogin prohibit-password",
        "PasswordAuthentication no",
        "KbdInteractiveAuthentication no",
        f"MaxStartups {server.max_startups}",
        "MaxSessions 64",
        "UseDNS no",
        "PrintMotd no",
        "LogLevel VERBOSE",
        "Subsystem sftp internal-sftp",  # copy and fetch (Debian's default config has one)
    ]
    if server.env_path:
        lines.append(f"SetEnv PATH={server.env_path}")
    config.write_text("\n".join(lines) + "\n")
    log = server.root / f"sshd-{n}.log"
    return subprocess.Popen(
        [str(SSHD), "-D", "-f", str(config.resolve()), "-E", str(log.resolve())],
        stdin=subprocess.DEVNULL,
        start_new_session=True,
    )


def _wait_listening(server: Sshd, timeout_s: float = 15.0) -> None:
    deadline = time.monotonic() + timeout_s
    pending = list(server.addresses)
    while pending:
        for proc in server.procs:
            if proc.poll() is not None:
                raise RuntimeError(f"sshd exited with {proc.returncode}:\n{server.log()}")
        try:
            with socket.create_connection((pending[0], server.port), timeout=1):
                pending.pop(0)
        except OSError:
            if time.monotonic() > deadline:
                raise RuntimeError(f"sshd not listening on {pending[0]}:{server.port}") from None
            time.sleep(0.02)


def children(pid: int) -> list[int]:
    """Every descendant of `pid` (from /proc), deepest last."""
    parent: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # "pid (comm) state ppid ..." — comm may hold spaces and parentheses.
        parent[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    found: list[int] = []
    frontier = [pid]
    while frontier:
        p = frontier.pop()
        kids = [c for c, pp in parent.items() if pp == p]
        found.extend(kids)
        frontier.extend(kids)
    return found


def kill_tree(pid: int) -> None:
    """SIGKILL `pid` and every process below it."""
    for p in [pid, *children(pid)]:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(p, signal.SIGKILL)


class Blackhole:
    """An nftables rule on `lo` dropping TCP to one address:port (connect then times out)."""

    def __init__(self, address: str, port: int) -> None:
        self.table = f"runbook_test_{os.getpid()}_{port}"
        self.address, self.port = address, port

    @staticmethod
    def unavailable() -> str | None:
        """Why the rule cannot be set here (None: it can)."""
        if shutil.which("nft") is None:
            return "nft (nftables) is not installed"
        probe = subprocess.run(["nft", "list", "tables"], capture_output=True, text=True)
        return None if probe.returncode == 0 else f"nft unusable: {probe.stderr.strip()}"

    def __enter__(self) -> Blackhole:
        rules = (
            f"add table inet {self.table}\n"
            f"add chain inet {self.table} input {{ type filter hook input priority -10; }}\n"
            f"add rule inet {self.table} input iif lo ip daddr {self.address} "
            f"tcp dport {self.port} drop\n"
        )
        subprocess.run(["nft", "-f", "-"], input=rules, text=True, check=True, capture_output=True)
        return self

    def __exit__(self, *exc: object) -> None:
        subprocess.run(["nft", "delete", "table", "inet", self.table], capture_output=True)


def connection_count(server: Sshd, address: str) -> int:
    """Logged-in connections the server has had on `address` (from its log; the readiness
    probes of `start` never log in, so they do not count)."""
    log = server.log()
    ports = re.findall(rf"Connection from \S+ port (\d+) on {re.escape(address)} port ", log)
    return sum(f"Accepted publickey for {server.user} from" in _line_for(log, p) for p in ports)


def _line_for(log: str, client_port: str) -> str:
    m = re.search(rf"Accepted publickey for .* port {client_port} ssh2", log)
    return m.group(0) if m else ""


def session_pids(shell_parent: int, server: Sshd) -> list[int]:
    """The sshd processes serving one connection, from the pid of a command's parent."""
    listeners = {p.pid for p in server.procs}
    pids: list[int] = []
    pid = shell_parent
    while pid > 1 and pid not in listeners:
        pids.append(pid)
        pid = _ppid(pid)
    return pids if pid in listeners else []


def kill_connection(shell_parent: int, server: Sshd) -> None:
    """Drop a connection the way a crash would: SIGKILL the sshd processes serving it."""
    for pid in session_pids(shell_parent, server):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def processes_matching(token: str) -> list[int]:
    """Live processes whose command line contains `token` (zombies have none)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            except OSError:
                continue
            if token in cmdline and int(entry.name) != os.getpid():
                found.append(int(entry.name))
    return found


def wait_gone(token: str, timeout_s: float = 10.0) -> list[int]:
    """Poll until no process matches `token`; returns what is left (empty: all gone)."""
    deadline = time.monotonic() + timeout_s
    left = processes_matching(token)
    while left and time.monotonic() < deadline:
        time.sleep(0.05)
        left = processes_matching(token)
    return left


def kill_matching(token: str) -> None:
    """SIGKILL what a test left running on purpose (found by a unique token)."""
    for pid in processes_matching(token):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def _ppid(pid: int) -> int:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0
    return int(stat.rsplit(")", 1)[1].split()[1])

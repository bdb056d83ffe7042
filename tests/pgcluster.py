"""A private PostgreSQL cluster in a temporary folder for the team-mode tests and benchmarks.

Never a system service: `initdb` and `pg_ctl` run as an unprivileged account (PostgreSQL
refuses to run as root, and CI runs as root), the data folder is a fresh temporary one,
the server listens on a unix socket in that folder and on one free loopback port, and
`stop()` removes everything. Local socket connections are trusted (the tests' superuser);
loopback TCP asks for a password (scram), so a URL with a password is a real one.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path

import accounts

TEST_USER = "runbook-pg"  # the unprivileged account that owns the cluster when we are root
ROLE = "runbook"  # the role the runbook processes log in as
PASSWORD = "s3cret-pg-pass"  # a throwaway cluster's


def _bin_dir() -> Path | None:
    found = shutil.which("pg_ctl")
    if found:
        return Path(found).resolve().parent
    for candidate in sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True):
        if (candidate / "pg_ctl").exists():
            return candidate
    return None


def unavailable() -> str | None:
    """Why a private cluster cannot run here (None: it can)."""
    if _bin_dir() is None:
        return "needs PostgreSQL's server binaries (make system-deps installs postgresql)"
    try:
        import psycopg  # noqa: F401
    except ImportError:
        return "needs psycopg (pip install -e '.[dev]')"
    return None


def _ensure_user() -> str:
    return accounts.ensure(
        TEST_USER, ["--system", "--no-create-home", "--shell", "/usr/sbin/nologin"]
    )


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Cluster:
    """A running private cluster."""

    root: Path
    port: int
    user: str | None  # the account it runs as (None: ourselves)

    @property
    def data(self) -> Path:
        return self.root / "data"

    @property
    def socket_dir(self) -> Path:
        return self.root / "sock"

    def _run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        cmd = [str(_bin_dir() / args[0]), *args[1:]]  # type: ignore[operator]
        if self.user is not None:
            cmd = ["runuser", "-u", self.user, "--", *cmd]
        return subprocess.run(cmd, check=check, capture_output=True, text=True, cwd="/")

    def admin_url(self, db: str = "postgres") -> str:
        """The superuser over the unix socket (trusted): for set-up and chaos."""
        owner = self.user or pwd.getpwuid(os.getuid()).pw_name
        return f"postgresql://{owner}@/{db}?host={self.socket_dir}&port={self.port}"

    def url(self, db: str) -> str:
        """The runbook role over loopback TCP, with its password."""
        return f"postgresql://{ROLE}:{PASSWORD}@127.0.0.1:{self.port}/{db}"

    def sql(self, statement: str, db: str = "postgres") -> list[tuple[object, ...]]:
        import psycopg

        with psycopg.connect(self.admin_url(db), autocommit=True) as conn:
            cur = conn.execute(statement)
            return cur.fetchall() if cur.description else []

    def new_database(self) -> str:
        """A fresh, empty UTF8 database owned by the runbook role; returns its URL."""
        name = f"t_{uuid.uuid4().hex[:12]}"
        self.sql(f"CREATE DATABASE {name} OWNER {ROLE} TEMPLATE template0 ENCODING 'UTF8'")
        return self.url(name)

    def start(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.root / "log"), "-w", "start")

    def stop(self, mode: str = "fast") -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop", check=False)

    def restart(self) -> None:
        # -l: the new server's output must not go to our pipe (run() would wait on it)
        self._run(
            "pg_ctl", "-D", str(self.data), "-l", str(self.root / "log"), "-m", "fast", "-w",
            "restart",
        )  # fmt: skip

    def remove(self) -> None:
        self.stop("immediate")
        shutil.rmtree(self.root, ignore_errors=True)


def start() -> Cluster:
    """initdb a new cluster in a temporary folder and start it."""
    user = _ensure_user() if os.geteuid() == 0 else None
    root = Path(tempfile.mkdtemp(prefix="runbook-pg-"))
    cluster = Cluster(root, _free_port(), user)
    cluster.socket_dir.mkdir()
    if user is not None:
        entry = pwd.getpwnam(user)
        for path in (root, cluster.socket_dir):
            os.chown(path, entry.pw_uid, entry.pw_gid)
    os.chmod(root, 0o755)  # the cluster's owner must reach its folders
    try:
        cluster._run(
            "initdb", "-D", str(cluster.data), "-E", "UTF8", "--locale=C.UTF-8",
            "-A", "trust", "--no-sync",
        )  # fmt: skip
        conf = cluster.data / "postgresql.conf"
        extra = (
            f"\nport = {cluster.port}\nlisten_addresses = '127.0.0.1'\n"
            f"unix_socket_directories = '{cluster.socket_dir}'\n"
            "fsync = off\nsynchronous_commit = off\nfull_page_writes = off\n"
            "max_connections = 200\nshared_buffers = 32MB\n"
        )
        with conf.open("a") as f:
            f.write(extra)
        (cluster.data / "pg_hba.conf").write_text(
            "local all all trust\nhost all all 127.0.0.1/32 scram-sha-256\n"
        )
        cluster.start()
        cluster.sql(f"CREATE ROLE {ROLE} LOGIN PASSWORD '{PASSWORD}'")
    except BaseException:
        with contextlib.suppress(Exception):
            cluster.remove()
        raise
    return cluster

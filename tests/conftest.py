"""Shared pytest configuration: the --runslow flag, the real OpenSSH server the SSH tests
share (tests/sshd.py starts and stops it), and the private PostgreSQL cluster of the
team-mode tests (tests/pgcluster.py); the fixtures below hand them out."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pgcluster
import pytest
import sshd

# 127.0.0.150-184: clear of the example inventory (127.0.0.2-100) and of bench/fanout.py
# (127.0.0.190+). A test that counts connections or kills sessions dials addresses (by
# index) that no other test dials:
#   0-12, 31  executors/ssh/test_transport.py     21-22  test_reliability_injection.py
#   13-16     executors/ssh/test_faults.py        22     test_reliability_secrets.py
#   17-20     app/test_hostcheck.py               23     test_reliability_big_output.py
#   24-30     executors/ssh/test_e2e.py           26     executors/test_orphans.py
#   32        app/test_session_transport.py       33-34  executors/ssh/test_faults.py
SSHD_FIRST, SSHD_COUNT = 150, 35


def pytest_configure(config: pytest.Config) -> None:
    # pytest-xdist's workers export COLUMNS=80 and LINES=24, which rich and Textual read
    # before a terminal's own size: a test's pseudo-terminal, or none, decides as in a shell.
    os.environ.pop("COLUMNS", None)
    os.environ.pop("LINES", None)


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--runslow", action="store_true", help="also run long soak variants")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.getoption("--runslow"):
        return
    skip = pytest.mark.skip(reason="long soak variant: run with --runslow")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def sshd_server() -> Iterator[sshd.Sshd]:
    """A real OpenSSH server on 35 loopback addresses, one port, started on first use and
    stopped at the end of the session; skips the test where it cannot run (not root, no
    openssh-server)."""
    reason = sshd.unavailable()
    if reason is not None:
        pytest.skip(reason)
    server = sshd.start(sshd.loopback(SSHD_FIRST, SSHD_COUNT))
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def known_hosts(sshd_server: sshd.Sshd, tmp_path: Path) -> Path:
    """This test's own known_hosts with the server's key on every address: a test may
    accept keys into it or edit it. Not named `known_hosts`, so an inventory written to
    tmp_path does not pick it up as the file beside it."""
    path = tmp_path / "user_known_hosts"
    path.write_text(sshd_server.known_hosts_lines())
    return path


@pytest.fixture
def ssh_env(known_hosts: Path) -> dict[str, str]:
    """Environment for a runbook process that should see only the test server: no
    ~/.ssh/config, and this test's known_hosts."""
    return {"RUNBOOK_SSH_CONFIG": "", "RUNBOOK_KNOWN_HOSTS": str(known_hosts)}


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[pgcluster.Cluster]:
    """A private PostgreSQL cluster in a temporary folder (initdb and pg_ctl as an
    unprivileged account, never a system service), started on first use and removed at
    the end of the session; skips where PostgreSQL's binaries or psycopg are missing."""
    reason = pgcluster.unavailable()
    if reason is not None:
        pytest.skip(reason)
    cluster = pgcluster.start()
    try:
        yield cluster
    finally:
        cluster.remove()


@pytest.fixture
def pg_url(pg_cluster: pgcluster.Cluster) -> str:
    """A fresh, empty database of the private cluster, as the URL runbook is given."""
    return pg_cluster.new_database()


@pytest.fixture(params=["sqlite", "postgresql"])
def journal_state(request: pytest.FixtureRequest, tmp_path: Path) -> Path | str:
    """The `--state` of a test that runs on both backends: a new SQLite file (a Path), or
    a new PostgreSQL database (its URL)."""
    if request.param == "sqlite":
        return tmp_path / "state" / "state.db"
    return str(request.getfixturevalue("pg_url"))

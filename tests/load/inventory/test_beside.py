"""A big inventory loads in a child process while the playbook is parsed: same answer,
same errors, and no child left behind whatever happens."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import pytest

from runbook.errors import InputError
from runbook.load._resolve import resolve
from runbook.load.inventory._beside import BESIDE_BYTES, PendingInventory
from runbook.load.inventory._load import load_inventory


def _big_inventory(path: Path, hosts: int = 2_000, broken: bool = False) -> Path:
    lines = [
        "all:",
        "  vars: {ntp: ntp.example.invalid}",
        "  children:",
        "    web:",
        "      hosts:",
    ]
    for i in range(hosts):
        lines.append(
            f"        web{i:05d}: {{ansible_host: 127.0.{i // 250}.{i % 250 + 1}, n: {i}}}"
        )
    if broken:
        lines.append("        web-[3:1]:")  # a range that runs backwards
    lines += ["    db:", "      hosts:", "        db01: {ansible_port: 2222}"]
    path.write_text("\n".join(lines) + "\n")
    assert path.stat().st_size >= BESIDE_BYTES
    return path


@pytest.fixture
def forked(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The pids of the children the loader forks (checked reaped by `_reaped`)."""
    pids: list[int] = []
    real_fork = os.fork

    def fork() -> int:
        pid = real_fork()
        if pid:
            pids.append(pid)
        return pid

    monkeypatch.setattr("runbook.load.inventory._beside.os.fork", fork)
    # The loader forks only while this process has one thread: threads an earlier test
    # started (a connection pool, a pty reader) may take a moment to end.
    deadline = time.monotonic() + 15
    while threading.active_count() > 1 and time.monotonic() < deadline:
        time.sleep(0.05)
    return pids


def _reaped(pids: list[int]) -> None:
    others = [t.name for t in threading.enumerate() if t is not threading.main_thread()]
    assert pids, f"the inventory was not loaded in a child (other threads: {others})"
    for pid in pids:
        with pytest.raises(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)


def test_the_child_gives_the_same_inventory_as_loading_here(
    tmp_path: Path, forked: list[int]
) -> None:
    inv = _big_inventory(tmp_path / "inventory.yml")
    pending = PendingInventory([inv])
    assert pending.result() == load_inventory([inv])
    _reaped(forked)


def test_errors_come_back_located_from_the_child(tmp_path: Path, forked: list[int]) -> None:
    inv = _big_inventory(tmp_path / "inventory.yml", broken=True)
    pending = PendingInventory([inv])
    with pytest.raises(InputError) as err:
        pending.result()
    (issue,) = err.value.issues
    assert issue.location is not None and issue.location.file == str(inv)
    # 5 lines of groups, 2,000 hosts, then the bad range
    assert issue.location.line == 2_006 and "[3:1]" in issue.message
    _reaped(forked)


def test_a_playbook_error_leaves_no_child_behind(tmp_path: Path, forked: list[int]) -> None:
    inv = _big_inventory(tmp_path / "inventory.yml")
    book = tmp_path / "restore.yml"
    book.write_text("steps:\n  - id: a\n    hosts: web\n    run: 'true'\n    needs: [nope]\n")
    with pytest.raises(InputError) as err:
        resolve(book, [inv])
    assert "unknown step 'nope'" in str(err.value.issues[0].message)
    _reaped(forked)


def test_resolve_selects_hosts_from_the_childs_inventory(tmp_path: Path, forked: list[int]) -> None:
    inv = _big_inventory(tmp_path / "inventory.yml")
    book = tmp_path / "restore.yml"
    book.write_text(
        "steps:\n  - id: a\n    hosts: 'web:&db:db01'\n    run: 'echo {{ host.name }}'\n"
    )
    resolved = resolve(book, [inv])
    assert resolved.step_hosts["a"] == ("db01",)
    _reaped(forked)


def test_no_child_while_other_threads_run(tmp_path: Path, forked: list[int]) -> None:
    # A child forked beside other threads could deadlock on a lock one of them held.
    inv = _big_inventory(tmp_path / "inventory.yml")
    stop = threading.Event()
    other = threading.Thread(target=stop.wait)
    other.start()
    try:
        pending = PendingInventory([inv])
        assert len(pending.result().hosts) == 2_001
        assert forked == []
    finally:
        stop.set()
        other.join()

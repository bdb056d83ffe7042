"""One live engine per run: a real flock beside the database, released even by SIGKILL."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from runbook.errors import RunLocked
from runbook.journal._lock import engine_lock, is_held, lock_path


def hold_in_another_process(path: Path) -> subprocess.Popen[str]:
    code = textwrap.dedent(
        f"""
        import sys, time
        from pathlib import Path
        from runbook.journal._lock import engine_lock
        with engine_lock(Path({str(path)!r}), "r1"):
            print("held", flush=True)
            time.sleep(60)
        """
    )
    holder = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert holder.stdout is not None and holder.stdout.readline() == "held\n"
    return holder


def test_the_lock_sits_beside_the_database() -> None:
    assert lock_path(Path("/srv/rb/state.db"), "20261207-2113-a3f9") == Path(
        "/srv/rb/state.db.20261207-2113-a3f9.lock"
    )


def test_held_while_the_block_runs_and_gone_after(tmp_path: Path) -> None:
    path = lock_path(tmp_path / "state.db", "r1")
    assert not is_held(path)
    with engine_lock(path, "r1"):
        assert is_held(path)
        pid, host = path.read_text().split()
        assert int(pid) == os.getpid() and host
    assert not is_held(path) and not path.exists()


def test_a_second_engine_is_told_who_holds_the_run(tmp_path: Path) -> None:
    path = lock_path(tmp_path / "state.db", "r1")
    holder = hold_in_another_process(path)
    try:
        assert is_held(path)
        expected = rf"run r1 is already being run by pid {holder.pid} "
        with pytest.raises(RunLocked, match=expected), engine_lock(path, "r1"):
            pass
    finally:
        holder.kill()
        holder.wait()


def test_a_killed_holder_leaves_the_run_free(tmp_path: Path) -> None:
    path = lock_path(tmp_path / "state.db", "r1")
    holder = hold_in_another_process(path)
    holder.send_signal(signal.SIGKILL)
    holder.wait()
    deadline = time.monotonic() + 5
    while is_held(path) and time.monotonic() < deadline:
        time.sleep(0.01)
    with engine_lock(path, "r1"):  # the stale file is taken over
        assert path.read_text().split()[0] == str(os.getpid())

"""Helpers for the engine tests: playbooks in tmp_path, the real CLI, the real journal."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from runbook.events._event import Event
from runbook.journal import open_journal

State = Path | str  # a SQLite file, or a postgresql:// URL (tests on both backends)


def _cwd(state: State) -> Path | None:
    return state.parent if isinstance(state, Path) else None


def write(path: Path, text: str) -> Path:
    path.write_text(textwrap.dedent(text).lstrip())
    return path


def env(extra: dict[str, str] | None = None) -> dict[str, str]:
    e = dict(os.environ)
    e.pop("RUNBOOK_TEST_KILL_AFTER_EVENT", None)
    e.update({"NO_COLOR": "1", "RUNBOOK_OPERATOR": "tester"})
    e.update(extra or {})
    return e


def cli(
    state: State,
    *args: str,
    extra_env: dict[str, str] | None = None,
    timeout: float = 60,
    cwd: Path | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run `runbook --state STATE ARGS...` to completion."""
    return subprocess.run(
        [sys.executable, "-m", "runbook", "--state", str(state), *args],
        capture_output=True,
        text=True,
        env=env(extra_env),
        timeout=timeout,
        cwd=cwd or _cwd(state),
    )


def spawn(
    state: State, *args: str, extra_env: dict[str, str] | None = None, cwd: Path | None = None
) -> subprocess.Popen[str]:
    """Start `runbook --state STATE ARGS...` in the background."""
    return subprocess.Popen(
        [sys.executable, "-m", "runbook", "--state", str(state), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env(extra_env),
        cwd=cwd or _cwd(state),
    )


def events(state: State, run_id: str | None = None) -> list[Event]:
    with open_journal(state, create=False) as j:
        rid = run_id or j.resolve_run_id("latest")
        return j.events(rid)


def wait_for(state: State, pred: Callable[[list[Event]], bool], timeout: float = 30) -> list[Event]:
    """Poll the journal until `pred(events)` holds (the run must be the latest)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not isinstance(state, Path) or state.exists():
            try:
                evs = events(state)
            except Exception:  # the file may be mid-creation
                evs = []
            if evs and pred(evs):
                return evs
        time.sleep(0.05)
    raise AssertionError("timed out waiting for the journal")


def of_type(evs: Sequence[Event], type_: str, step: str | None = None) -> list[Event]:
    return [e for e in evs if e.type == type_ and (step is None or e.step == step)]


def step_status(evs: Sequence[Event]) -> dict[str, Any]:
    from runbook.events._fold import fold

    return {sid: s.status for sid, s in fold(evs).steps.items()}


def alive(pid: int) -> bool:
    """Whether `pid` runs (a zombie nobody reaped does not: in a container PID 1 may not)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    try:
        return stat.read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return not stat.parent.exists()


def spawn_tty(
    tmp_path: Path,
    *args: str,
    dimensions: tuple[int, int] = (50, 140),
    extra_env: dict[str, str] | None = None,
    timeout: float = 30,
) -> Any:
    """`runbook ARGS` on a real pseudo-terminal (pexpect) of `dimensions` (rows, columns),
    state in tmp_path."""
    import pexpect

    return pexpect.spawn(
        sys.executable,
        ["-m", "runbook", "--state", str(tmp_path / "state.db"), *args],
        env=env(extra_env),
        cwd=str(tmp_path),
        encoding="utf-8",
        timeout=timeout,
        dimensions=dimensions,
    )


def answer_all(child: Any, answers: Sequence[tuple[str, str]]) -> str:
    """Answer each (pattern on screen, keys) in turn, read to the end, close: all the
    terminal showed. Keys go as they are ("\r" is Enter)."""
    import pexpect

    seen = []
    for prompt, reply in answers:
        child.expect(prompt)
        seen.append(child.before + child.after)
        child.send(reply)
    child.expect(pexpect.EOF)
    seen.append(child.before)
    child.close()
    return "".join(seen)

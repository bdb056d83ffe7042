"""Commands a crashed engine left running on the control machine, found and ended.

Local commands run in their own process group (so a timeout kills grandchildren too),
which also means a SIGKILLed engine leaves them running. Each carries the run id in its
environment (RUNBOOK_RUN_ID, inherited by its children); a process group id cannot go in
`host_started`, which is committed before the process exists. When `resume` holds the
run's lock, no live engine owns the run, so every process still marked with its id is an
orphan: its group is ended (SIGTERM, then SIGKILL) before recovery decides what was in
flight, so that `skip_if`/`verify` never race the old `run`. /proc lists only this boot's
processes; after a reboot there is nothing to find.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

MARK = "RUNBOOK_RUN_ID"
ENGINE_MARK = "RUNBOOK_ENGINE_ID"  # team mode: which engine of the run started it
KILL_GRACE_S = 3.0
PROC = Path("/proc")


def marked_environ(
    run_id: str, base: Mapping[str, str] | None = None, engine: str | None = None
) -> dict[str, str]:
    """The environment for a run's local commands: ours, plus the run id (and engine)."""
    env = dict(os.environ if base is None else base)
    env[MARK] = run_id
    if engine:
        env[ENGINE_MARK] = engine
    return env


def _marked(pid: str, needles: tuple[bytes, ...]) -> bool:
    try:
        env = (PROC / pid / "environ").read_bytes().split(b"\0")
    except OSError:  # gone meanwhile, or not ours to read
        return False
    return all(n in env for n in needles)


def _group_of(pid: str) -> int | None:
    try:
        fields = (PROC / pid / "stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    if len(fields) < 3 or fields[0] == "Z":
        return None  # a zombie holds nothing
    return int(fields[2])


def _command(pid: str) -> str:
    try:
        raw = (PROC / pid / "cmdline").read_bytes()
    except OSError:
        return ""
    return " ".join(p.decode(errors="replace") for p in raw.split(b"\0") if p)[:500]


def find_orphans(run_id: str, engine: str | None = None) -> dict[int, list[tuple[int, str]]]:
    """Process group → [(pid, command)] of live processes marked with `run_id` (and
    started by `engine`: team mode, where the other engines' commands are not orphans)."""
    if not PROC.is_dir():
        return {}
    needle: tuple[bytes, ...] = (f"{MARK}={run_id}".encode(),)
    if engine is not None:
        needle += (f"{ENGINE_MARK}={engine}".encode(),)
    mine = {os.getpid(), os.getpgrp()}
    groups: dict[int, list[tuple[int, str]]] = {}
    for entry in PROC.iterdir():
        pid = entry.name
        if not pid.isdigit() or int(pid) in mine or not _marked(pid, needle):
            continue
        pgid = _group_of(pid)
        if pgid is not None and pgid not in mine:
            groups.setdefault(pgid, []).append((int(pid), _command(pid)))
    return groups


def kill_orphans(
    run_id: str,
    redact: Callable[[str], str],
    grace_s: float = KILL_GRACE_S,
    engine: str | None = None,
) -> list[dict[str, Any]]:
    """End every process group left running by `run_id`'s dead engine; what was ended.

    Commands are masked with `redact` (a command line may hold a secret) for the journal.
    """
    groups = find_orphans(run_id, engine)
    if not groups:
        return []
    for pgid in groups:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pgid, signal.SIGTERM)
    deadline = time.monotonic() + grace_s
    while time.monotonic() < deadline and find_orphans(run_id, engine):
        time.sleep(0.05)
    for pgid in find_orphans(run_id, engine):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pgid, signal.SIGKILL)
    return [
        {"pgid": pgid, "pids": [p for p, _ in procs], "command": redact(procs[0][1])}
        for pgid, procs in sorted(groups.items())
    ]

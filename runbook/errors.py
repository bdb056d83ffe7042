"""The one error hierarchy; `runbook.cli` maps each class to a message and an exit code."""

from __future__ import annotations

import os
import tempfile
import threading
import time
import traceback
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from runbook.model import Location

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_INVALID = 2
EXIT_INTERRUPTED = 130


@dataclass(frozen=True)
class Issue:
    """One problem in user input: where, what, and how to fix it."""

    location: Location | None
    message: str
    hint: str = ""

    def __str__(self) -> str:
        where = f"{self.location}: " if self.location else ""
        fix = f" ({self.hint})" if self.hint else ""
        return f"{where}error: {self.message}{fix}"


class RunbookError(Exception):
    """Base of every error the core raises on purpose."""

    exit_code = EXIT_FAILED


class InputError(RunbookError):
    """Invalid user input (playbook, inventory, durations, arguments): exit 2."""

    exit_code = EXIT_INVALID

    def __init__(self, issues: Iterable[Issue] | str) -> None:
        if isinstance(issues, str):
            issues = [Issue(None, issues)]
        self.issues: tuple[Issue, ...] = tuple(issues)
        super().__init__("\n".join(str(i) for i in self.issues))


class StateError(RunbookError):
    """A request that does not fit the journal: unknown run or step, finished run: exit 2."""

    exit_code = EXIT_INVALID


class NoJournal(StateError):
    """No state database at the path a command was given or found (the CLI says where it looked)."""

    def __init__(self, path: object) -> None:
        self.path = path
        super().__init__(f"no journal at {path}; start a run with: runbook run PLAYBOOK")


class JournalError(RunbookError):
    """The state database cannot be read or written (damaged, newer version, disk full)."""

    exit_code = EXIT_INVALID


class RunLocked(RunbookError):
    """Another live engine holds this run."""

    exit_code = EXIT_INVALID


class HostError(RunbookError):
    """A per-host connection problem; `kind` is a short stable word for the journal."""

    def __init__(self, host: str, kind: str, detail: str) -> None:
        self.host = host
        self.kind = kind
        self.detail = detail
        super().__init__(f"{host}: {kind}: {detail}")


class Interrupted(RunbookError):
    """The operator interrupted the run; it stays resumable."""

    exit_code = EXIT_INTERRUPTED


_crash_lock = threading.Lock()
_crash_path: list[Path] = []  # this process's crash log, named on first use


def log_crash(context: str) -> Path:
    """Append the exception being handled, with its traceback, to this process's crash log
    (runbook-crash-DATE-PID.log in the temporary folder); returns the log's path.

    Safe from any thread: a bug met by one host's worker is logged here and fails that host,
    while an internal error of the whole command ends it (runbook.cli).
    """
    with _crash_lock:
        if not _crash_path:
            name = f"runbook-crash-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}.log"
            _crash_path.append(Path(tempfile.gettempdir()) / name)
        path = _crash_path[0]
        with path.open("a", encoding="utf-8") as f:
            f.write(f"--- {time.strftime('%Y-%m-%dT%H:%M:%S')} {context}\n")
            f.write(traceback.format_exc())
    return path

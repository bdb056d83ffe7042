"""The one error hierarchy; `runbook.cli` maps each class to a message and an exit code."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

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

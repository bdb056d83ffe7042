"""What every journal backend offers (SQLite by default, PostgreSQL in team mode).

The engine, the operator decisions, the reports and the CLI hold an `EventStore` and never
ask which backend it is: same events, same chain, same answers. `RunRecord` is a run's row
as `journal copy` moves it between backends.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from runbook.events import Event, RunState
from runbook.journal._rows import Check, Draft, EventData
from runbook.journal._runs import RunSummary
from runbook.model import RunMode

# A SQLite file, or a `postgresql://` URL (kept as text: a Path would fold its `//`).
StateRef = Path | str


@dataclass(frozen=True)
class RunRecord:
    """A run's row in the runs table."""

    run_id: str
    playbook: str
    mode: str
    created: str
    created_ts: float


class EventStore(Protocol):
    """The journal's interface: runs, their hash-chained events, and who holds a run."""

    @property
    def label(self) -> str:
        """Where the journal lives, safe to print (a URL without its password)."""

    def new_run(self, playbook: str, mode: RunMode, ts: float) -> str:
        """Register a run and return its id."""

    def run_ids(self) -> list[str]:
        """Every run id, oldest first."""

    def resolve_run_id(self, text: str) -> str:
        """`latest`, an exact run id or a unique prefix of one."""

    def runs(self) -> list[RunSummary]:
        """Every run with its status and progress, oldest first."""

    def run_record(self, run_id: str) -> RunRecord:
        """The run's row (StateError when there is none)."""

    def events(self, run_id: str, after_seq: int = 0) -> list[Event]:
        """The run's events with seq > after_seq, in order."""

    def state(self, run_id: str) -> RunState:
        """The run's state folded from its events."""

    def append(
        self,
        run_id: str,
        type: str,
        *,
        ts: float,
        step: str | None = None,
        host: str | None = None,
        data: EventData = None,
    ) -> Event:
        """Commit one event to the run's chain."""

    def append_checked(
        self,
        run_id: str,
        type: str,
        *,
        check: Check,
        ts: float,
        step: str | None = None,
        host: str | None = None,
        data: EventData = None,
    ) -> Event:
        """Like `append`, with `check(state)` inside the write transaction."""

    def append_many(self, run_id: str, drafts: Sequence[Draft]) -> list[Event]:
        """Commit `drafts` in order, in one transaction."""

    def import_run(self, record: RunRecord, events: Sequence[Event]) -> None:
        """Store a run's events exactly as given (journal copy), after the ones it has."""

    def wait_for_events(self, run_id: str, after_seq: int, timeout: float) -> None:
        """Return when the run may have events after `after_seq`, or after `timeout`."""

    def engine_lock(self, run_id: str) -> contextlib.AbstractContextManager[None]:
        """Hold the run for one engine."""

    def is_engine_live(self, run_id: str) -> bool:
        """Whether an engine holds the run now."""

    def close(self) -> None:
        """Release the connection(s)."""

    def __enter__(self) -> EventStore: ...

    def __exit__(self, *exc: object) -> None: ...

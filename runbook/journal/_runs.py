"""Runs as people name and list them: new run ids, `latest` and prefixes, `runbook runs` lines.

Separate from journal.py, which owns the connection, the transactions and the event chain:
this is the runs table read for a person, each summary folded from the few events that
say where a run is, not from its (mostly host output) journal.
"""

from __future__ import annotations

import difflib
import secrets
import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from runbook.errors import StateError
from runbook.events import Event, fold
from runbook.journal._rows import event_from_row

# Events a run summary needs; host-level events (output above all) are most of a journal.
_SUMMARY_TYPES = (
    "run_started",
    "run_resumed",
    "run_interrupted",
    "run_finished",
    "step_started",
    "step_succeeded",
    "step_failed",
    "step_skipped",
    "step_blocked",
    "manual_waiting",
    "manual_claimed",
    "manual_answered",
    "operator_retry",
    "eta",
)


@dataclass(frozen=True)
class RunSummary:
    """One line of `runbook runs`."""

    run_id: str
    playbook: str
    mode: str
    created: str  # ISO time the run was created
    status: str  # RunState.status
    done: int  # steps succeeded or skipped
    total: int
    last_ts: str | None
    live: bool  # an engine holds the run's lock right now


def new_run_id(ts: float) -> str:
    """`20261129-2113-a3f9`: UTC minute (so ids sort by time) and 16 random bits."""
    stamp = datetime.fromtimestamp(ts, UTC).strftime("%Y%m%d-%H%M")
    return f"{stamp}-{secrets.token_hex(2)}"


def find_run_id(ids: Sequence[str], text: str, path: Path | str) -> str:
    """`latest`, an exact run id or a unique prefix of one, among `ids` (oldest first)."""
    if not ids:
        raise StateError(f"no runs in {path} yet; start one with: runbook run PLAYBOOK")
    text = text.strip()
    if text == "latest":
        return ids[-1]
    if text in ids:
        return text
    matches = [i for i in ids if i.startswith(text)] if text else []
    if len(matches) == 1:
        return matches[0]
    if len(matches) > 1:
        shown = ", ".join(matches[-5:])
        raise StateError(f"run id '{text}' is ambiguous: it starts {shown}; give more of it")
    close = difflib.get_close_matches(text, ids, n=3, cutoff=0.5)
    hint = f"; did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
    raise StateError(f"no run '{text}' in {path}{hint} (see: runbook runs)")


def summary_of(
    run_id: str,
    playbook: str,
    mode: str,
    created: str,
    events: Sequence[Event],
    last_ts: str | None,
    is_live: Callable[[str], bool],
) -> RunSummary:
    """One run's line in `runbook runs`, from its _SUMMARY_TYPES events (either backend)."""
    state = fold(events)
    counts = state.counts()
    return RunSummary(
        run_id=run_id,
        playbook=playbook,
        mode=mode,
        created=created,
        status=state.status,
        done=counts.get("succeeded", 0) + counts.get("skipped", 0),
        total=len(state.steps),
        last_ts=last_ts,
        live=is_live(run_id),
    )


def summaries(db: sqlite3.Connection, is_live: Callable[[str], bool]) -> list[RunSummary]:
    """Every run with its status and progress, oldest first."""
    marks = ",".join("?" for _ in _SUMMARY_TYPES)
    out: list[RunSummary] = []
    rows = db.execute(
        "SELECT run_id, playbook, mode, created FROM runs ORDER BY created_ts, run_id"
    ).fetchall()
    for run_id, playbook, mode, created in rows:
        evs = [
            event_from_row(r)
            for r in db.execute(
                "SELECT run_id, seq, ts, type, step, host, data, prev_hash, hash "
                f"FROM events WHERE run_id=? AND type IN ({marks}) ORDER BY seq",
                (run_id, *_SUMMARY_TYPES),
            )
        ]
        last = db.execute(
            "SELECT ts FROM events WHERE run_id=? ORDER BY seq DESC LIMIT 1", (run_id,)
        ).fetchone()
        out.append(
            summary_of(run_id, playbook, mode, created, evs, last[0] if last else None, is_live)
        )
    return out

"""`runbook journal copy SRC DST`: runs moved between SQLite and PostgreSQL, chains intact.

Events are copied exactly as stored (seq, ts, data, prev_hash, hash), so `verify` passes on
both sides and the chain heads match. A run already in DST is skipped when its chain head
is the source's, extended when its chain is a prefix of the source's (a copy taken while
the run went on), and refused otherwise; so is a run an engine holds (its chain is still
growing) and a source chain that does not verify (copying would launder it).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from runbook.errors import StateError
from runbook.journal._chain import verify_chain
from runbook.journal._protocol import EventStore

Action = Literal["copied", "extended", "skipped", "refused"]


@dataclass(frozen=True)
class Copied:
    """What `journal copy` did with one run."""

    run_id: str
    action: Action
    events: int  # events written to DST
    head: str  # the source's chain head
    why: str = ""

    def text(self) -> str:
        """One line of `journal copy`'s report."""
        if self.action == "refused":
            return f"refused {self.run_id}: {self.why}"
        if self.action == "skipped":
            return f"skipped {self.run_id}: already there, chain head {self.head}"
        return f"{self.action} {self.run_id}: {self.events} events, chain head {self.head}"


def copy_runs(src: EventStore, dst: EventStore, run_texts: Sequence[str] = ()) -> list[Copied]:
    """Copy every run of `src` (or those named: ids, prefixes, `latest`) into `dst`."""
    run_ids = [src.resolve_run_id(t) for t in run_texts] if run_texts else src.run_ids()
    return [_copy_one(src, dst, run_id) for run_id in dict.fromkeys(run_ids)]


def _copy_one(src: EventStore, dst: EventStore, run_id: str) -> Copied:
    events = src.events(run_id)
    head = events[-1].hash if events else ""
    if src.is_engine_live(run_id):
        return Copied(run_id, "refused", 0, head, "an engine holds it; copy it once it ends")
    check = verify_chain(events)
    if not check.ok:
        why = f"its chain does not verify at seq {check.first_bad_seq}: {check.reason}"
        return Copied(run_id, "refused", 0, head, why)
    record = src.run_record(run_id)
    try:
        theirs = dst.events(run_id) if run_id in set(dst.run_ids()) else None
    except StateError:
        theirs = None
    if theirs is None:
        dst.import_run(record, events)
        return Copied(run_id, "copied", len(events), head)
    if [e.hash for e in theirs] == [e.hash for e in events[: len(theirs)]]:
        if len(theirs) == len(events):
            return Copied(run_id, "skipped", 0, head)
        rest = events[len(theirs) :]
        dst.import_run(record, rest)
        return Copied(run_id, "extended", len(rest), head)
    return Copied(
        run_id,
        "refused",
        0,
        head,
        f"{dst.label} holds another chain for this run id "
        f"(head {theirs[-1].hash if theirs else '(no events)'})",
    )

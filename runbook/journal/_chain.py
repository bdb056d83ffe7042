"""Checking a run's hash chain (SPEC §5): the first event that is not what was written.

Works on events from the journal or from a JSONL export (plain dicts), so that `verify`
gives the same answer for both. Each kind of tampering is named: an edited event no
longer matches its own hash; a deleted one leaves a gap in seq; an inserted or duplicated
one repeats a seq; reordered ones come out of seq order; an event rewritten together with
its hash breaks the next event's `prev_hash`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from runbook.events import GENESIS_HASH, Event, event_hash

FIELDS = ("run_id", "seq", "ts", "type", "step", "host", "data", "prev_hash", "hash")


@dataclass(frozen=True)
class ChainResult:
    """Whether a chain holds, and if not, where it first breaks and why."""

    ok: bool
    first_bad_seq: int | None
    reason: str
    count: int  # events checked

    def __iter__(self) -> Any:  # `ok, first_bad_seq, reason = verify_chain(events)`
        return iter((self.ok, self.first_bad_seq, self.reason))


def _as_event(item: Event | Mapping[str, Any], position: int) -> Event | str:
    if isinstance(item, Event):
        return item
    if not isinstance(item, Mapping):
        return f"record {position} is not an event object"
    missing = [f for f in FIELDS if f not in item]
    if missing:
        return f"record {position} lacks {', '.join(missing)}"
    seq, data = item["seq"], item["data"]
    if not isinstance(seq, int) or isinstance(seq, bool):
        return f"record {position} has a seq that is not a whole number: {seq!r}"
    if not isinstance(data, Mapping):
        return f"event {seq} has data that is not an object"
    return Event(
        run_id=str(item["run_id"]),
        seq=seq,
        ts=str(item["ts"]),
        type=str(item["type"]),
        step=item["step"],
        host=item["host"],
        data=data,
        prev_hash=str(item["prev_hash"]),
        hash=str(item["hash"]),
    )


def _name(e: Event) -> str:
    what = " ".join(x for x in (e.type, e.step, e.host) if x)
    return f"event {e.seq} ({what})"


def verify_chain(events: Iterable[Event | Mapping[str, Any]]) -> ChainResult:
    """Check one run's events in the order given; the first break is reported."""
    items = list(events)
    seqs = [
        i.seq if isinstance(i, Event) else (i.get("seq") if isinstance(i, Mapping) else None)
        for i in items
    ]
    expected_seq = 1
    prev_hash = GENESIS_HASH
    run_id: str | None = None
    for position, item in enumerate(items, start=1):
        count = position - 1
        e = _as_event(item, position)
        if isinstance(e, str):
            return ChainResult(False, expected_seq, e, count)
        if run_id is None:
            run_id = e.run_id
        elif e.run_id != run_id:
            return ChainResult(
                False, expected_seq, f"{_name(e)} belongs to run {e.run_id}, not {run_id}", count
            )
        if e.seq != expected_seq:
            if e.seq < expected_seq:
                reason = (
                    f"{_name(e)} appears again where event {expected_seq} should be "
                    f"(an event duplicated or inserted)"
                )
            elif expected_seq in seqs[position:]:
                reason = f"{_name(e)} comes before event {expected_seq} (events reordered)"
            else:
                gone = (
                    f"event {expected_seq} is"
                    if e.seq == expected_seq + 1
                    else f"events {expected_seq}-{e.seq - 1} are"
                )
                reason = f"{gone} missing (deleted): {_name(e)} comes next"
            return ChainResult(False, expected_seq, reason, count)
        if event_hash(e) != e.hash:
            return ChainResult(
                False, e.seq, f"{_name(e)} was edited: its content does not match its hash", count
            )
        if e.prev_hash != prev_hash:
            before = "the chain start" if e.seq == 1 else f"event {e.seq - 1}"
            return ChainResult(
                False,
                e.seq,
                f"{_name(e)} does not follow {before}: its prev_hash differs, so an event "
                f"before it was rewritten, removed or inserted",
                count,
            )
        prev_hash = e.hash
        expected_seq += 1
    return ChainResult(True, None, "", len(items))

"""What happened where a hash chain breaks: edited, deleted, inserted or reordered.

`runbook.chain.verify_chain` finds the first event where the chain stops holding; this
module looks around that point and names the most likely act and the event it concerns:

- *edited*: the event no longer matches its hash, or it was re-hashed and the next event
  no longer chains to it;
- *deleted*: a seq is missing, or later events were renumbered over the gap (they then
  hash correctly only under their old seq);
- *inserted*: an event the next one chains past, a duplicate seq, an event of another run,
  or later events renumbered upwards;
- *reordered*: a seq comes before a lower one, or an event chains to one stored after it.

What no chain can show: events cut from the end, or a chain rewritten from some point on
with fresh hashes. Comparing the head with one recorded earlier (`expected_head`, the
`--head` of `runbook verify`) shows both.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from runbook.events import GENESIS_HASH, Event, canonical, chain_hash, event_hash
from runbook.journal._chain import verify_chain


@dataclass(frozen=True)
class ChainBreak:
    """The first place a chain does not hold, and what most likely happened there."""

    seq: int | None  # the seq of the bad (or missing) event
    position: int  # 0-based index in the events checked (an export's line order)
    kind: str  # edited | deleted | inserted | reordered | truncated
    message: str

    def __str__(self) -> str:
        return self.message


def find_break(events: Sequence[Event], expected_head: str | None = None) -> ChainBreak | None:
    """The first break in one run's events (in stored order), or None if the chain holds."""
    if not events:
        return None
    result = verify_chain(events)
    if result.ok:
        if expected_head is not None and expected_head != events[-1].hash:
            return _head(events, expected_head)
        return None
    p = _first_bad(events, result.count)
    return _explain(events, p) or ChainBreak(result.first_bad_seq, p, "edited", result.reason)


def _looks_bad(events: Sequence[Event], i: int) -> bool:
    """Whether event i breaks the chain, assuming the events before it hold."""
    e = events[i]
    prev_seq, prev_hash = (events[i - 1].seq, events[i - 1].hash) if i else (0, GENESIS_HASH)
    return (
        e.run_id != events[0].run_id
        or e.seq != prev_seq + 1
        or e.prev_hash != prev_hash
        or event_hash(e) != e.hash
    )


def _first_bad(events: Sequence[Event], count: int) -> int:
    """Index of the first event where the chain stops holding.

    verify_chain's `count` says where it stopped; if that does not point at a bad event,
    a binary search over verify_chain finds it (a prefix that holds only ever holds for
    its own prefixes) without a second chain walker here.
    """
    for i in (count - 1, count):
        if 0 <= i < len(events) and _looks_bad(events, i):
            return i
    lo, hi = 0, len(events) - 1
    while lo < hi:
        mid = (lo + hi) // 2
        if verify_chain(events[: mid + 1]).ok:
            lo = mid + 1
        else:
            hi = mid
    return lo


def _explain(events: Sequence[Event], p: int) -> ChainBreak | None:
    hashes = {e.hash: i for i, e in enumerate(events)}
    first_run = events[0].run_id
    e = events[p]
    expected_seq = events[p - 1].seq + 1 if p else 1
    expected_prev = events[p - 1].hash if p else GENESIS_HASH
    if e.run_id != first_run:
        return ChainBreak(
            e.seq, p, "inserted", f"seq {e.seq}: inserted: it belongs to run {e.run_id}"
        )
    return (
        _chains_forward(events, p, hashes)
        or _previous_inserted(events, p)
        or _inserted(events, p, expected_prev, expected_seq)
        or _sequence(events, p, expected_seq)
        or _content(events, p, hashes)
        or _link(events, p, expected_prev, hashes)
    )


def _rehash(e: Event, seq: int, prev_hash: str) -> str:
    return chain_hash(prev_hash, canonical(e.run_id, seq, e.ts, e.type, e.step, e.host, e.data))


def _chains_forward(events: Sequence[Event], p: int, hashes: dict[str, int]) -> ChainBreak | None:
    """The event chains to one stored after it: the two changed places."""
    e = events[p]
    where = hashes.get(e.prev_hash)
    if where is None or where <= p:
        return None
    return ChainBreak(
        e.seq,
        p,
        "reordered",
        f"seq {e.seq}: reordered: it chains to seq {events[where].seq}, which is stored after it",
    )


def _previous_inserted(events: Sequence[Event], p: int) -> ChainBreak | None:
    """The event before the break was slipped in: this one chains past it."""
    if p < 1:
        return None
    before = events[p - 2].hash if p >= 2 else GENESIS_HASH
    e, prev = events[p], events[p - 1]
    if e.prev_hash != before or e.prev_hash == prev.hash:
        return None
    return ChainBreak(
        prev.seq,
        p - 1,
        "inserted",
        f"seq {prev.seq}: inserted: the event after it chains directly to "
        + (f"seq {events[p - 2].seq}" if p >= 2 else "the start of the chain"),
    )


def _inserted(
    events: Sequence[Event], p: int, expected_prev: str, expected_seq: int
) -> ChainBreak | None:
    """This event was slipped in: the next one chains past it."""
    if p + 1 >= len(events):
        return None
    e, nxt = events[p], events[p + 1]
    if nxt.prev_hash != expected_prev or nxt.prev_hash == e.hash:
        return None
    before = f"seq {expected_seq - 1}" if expected_seq > 1 else "the start of the chain"
    return ChainBreak(
        e.seq,
        p,
        "inserted",
        f"seq {e.seq}: inserted: the event after it chains directly to {before}",
    )


def _sequence(events: Sequence[Event], p: int, expected_seq: int) -> ChainBreak | None:
    e = events[p]
    if e.seq == expected_seq:
        return None
    if any(earlier.seq == e.seq for earlier in events[:p]):
        return ChainBreak(
            e.seq, p, "inserted", f"seq {e.seq}: inserted: a second event with seq {e.seq}"
        )
    if e.seq < expected_seq:
        return ChainBreak(
            e.seq, p, "reordered", f"seq {e.seq}: reordered: it comes after seq {expected_seq - 1}"
        )
    if any(later.seq == expected_seq for later in events[p + 1 :]):
        return ChainBreak(
            expected_seq,
            p,
            "reordered",
            f"seq {expected_seq}: reordered: seq {e.seq} comes before it",
        )
    gap = (
        f"seq {expected_seq}" if e.seq == expected_seq + 1 else f"seq {expected_seq} to {e.seq - 1}"
    )
    after = f"seq {expected_seq - 1}" if expected_seq > 1 else "the start"
    return ChainBreak(
        expected_seq, p, "deleted", f"{gap}: deleted: {after} is followed by seq {e.seq}"
    )


def _content(events: Sequence[Event], p: int, hashes: dict[str, int]) -> ChainBreak | None:
    """The event's own hash: edited, or moved by a deletion, insertion or swap of seqs."""
    e = events[p]
    if event_hash(e) == e.hash:
        return None
    for shift in (1, -1, 2, -2, 3, -3):
        original = e.seq + shift
        if original < 1 or _rehash(e, original, e.prev_hash) != e.hash:
            continue
        where = hashes.get(e.prev_hash)
        if where is not None and where > p:
            return ChainBreak(
                e.seq,
                p,
                "reordered",
                f"seq {e.seq}: reordered: it is the event first written as seq {original}",
            )
        if shift > 0:
            return ChainBreak(
                e.seq,
                p,
                "deleted",
                f"seq {e.seq}: deleted: an event before it was removed and later ones "
                f"renumbered (this one was seq {original})",
            )
        return ChainBreak(
            e.seq,
            p,
            "inserted",
            f"seq {e.seq}: inserted: an event was added before it and later ones renumbered "
            f"(this one was seq {original})",
        )
    if p + 1 < len(events):
        nxt = events[p + 1]
        if _rehash(e, nxt.seq, nxt.prev_hash) == nxt.hash:
            return ChainBreak(
                e.seq,
                p,
                "reordered",
                f"seq {e.seq}: reordered: it holds the content of seq {nxt.seq}",
            )
    return ChainBreak(
        e.seq,
        p,
        "edited",
        f"seq {e.seq}: edited: its content ({e.type}, {e.ts}) does not match its hash",
    )


def _link(
    events: Sequence[Event], p: int, expected_prev: str, hashes: dict[str, int]
) -> ChainBreak | None:
    """The event is whole but does not chain to the one before it."""
    e = events[p]
    if e.prev_hash == expected_prev:
        return None
    where = hashes.get(e.prev_hash)
    if where is not None and where > p:
        return ChainBreak(
            e.seq,
            p,
            "reordered",
            f"seq {e.seq}: reordered: it chains to seq {events[where].seq}, which comes after it",
        )
    if p == 0:
        return ChainBreak(
            e.seq, p, "deleted", f"seq {e.seq}: deleted: the events before it are missing"
        )
    prev = events[p - 1]
    return ChainBreak(
        prev.seq,
        p - 1,
        "edited",
        f"seq {prev.seq}: edited: its hash was recomputed after a change, "
        f"and seq {e.seq} no longer chains to it",
    )


def _head(events: Sequence[Event], head: str) -> ChainBreak:
    where = next((i for i, e in enumerate(events) if e.hash == head), None)
    last = events[-1]
    if where is not None:
        at = events[where].seq
        return ChainBreak(
            at + 1,
            where + 1,
            "inserted",
            f"seq {at + 1}: inserted: the recorded head is seq {at}, and "
            f"{len(events) - where - 1} event(s) were added after it",
        )
    return ChainBreak(
        last.seq + 1,
        len(events),
        "truncated",
        f"seq {last.seq + 1}: deleted: the chain ends at seq {last.seq}, not at the recorded "
        f"head {head[:16]}…: events were cut from the end, or the chain was rewritten",
    )

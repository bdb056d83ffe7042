"""Events as rows of a run's hash chain: how a new one is chained and inserted, and read back.

A new event gets the next seq, a ts raised to the run's last one if the clock went back,
its data as plain JSON and its hash. `append` and `append_many` both chain through here,
so a batch reads, exports and verifies like the same events appended one by one.
Separate from journal.py, which owns the connection and the transactions (these functions
run inside one it holds); the cached run states are _folded.py's.
"""

from __future__ import annotations

import json
import math
import sqlite3
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from hashlib import sha256
from json.encoder import encode_basestring
from typing import Any

from runbook.clock import iso, parse_iso
from runbook.errors import StateError
from runbook.events import (
    EVENT_TYPES,
    GENESIS_HASH,
    Event,
    RunState,
    canonical_from_json,
    chain_hash,
    data_json,
)

EventData = Mapping[str, Any] | Callable[[RunState, float], Mapping[str, Any]] | None
Check = Callable[[RunState], str | None]


@dataclass(frozen=True)
class Draft:
    """An event not yet committed: `append_many` gives it its seq, hash and final ts."""

    type: str
    ts: float
    step: str | None = None
    host: str | None = None
    data: Mapping[str, Any] = field(default_factory=dict)


def event_from_row(row: tuple[Any, ...]) -> Event:
    """An event as `SELECT run_id, seq, ts, type, step, host, data, prev_hash, hash` has it."""
    run_id, seq, ts, type_, step, host, data, prev_hash, hash_ = row
    return Event(run_id, seq, ts, type_, step, host, json.loads(data), prev_hash, hash_)


def insert_events(
    db: sqlite3.Connection,
    run_id: str,
    drafts: Sequence[Draft],
    require_run: Callable[[str], None],
) -> list[Event]:
    """Chain `drafts` in order after the run's last event and insert them."""
    events, texts = chain_drafts(run_id, drafts, _chain_end(db, run_id, require_run))
    _insert(db, events, texts)
    return events


def chain_drafts(
    run_id: str, drafts: Sequence[Draft], end: tuple[int, float, str], now: float | None = None
) -> tuple[list[Event], list[str]]:
    """`drafts` chained in order after the chain's `end` (seq, ts, hash), with their data
    texts; `now` (PostgreSQL's clock) stands for each draft's own ts when given."""
    seq, last_ts, prev_hash = end
    events: list[Event] = []
    texts: list[str] = []
    # `_chained_text` per draft, unrolled: a step's transition chains ~100 events on the
    # engine's thread before its commands may start. The same bytes: the names' JSON texts
    # are encoded once per batch (`_text`), a ts repeats its text (`iso`) until it moves.
    quoted: dict[str | None, str] = {None: "null"}
    run_text = f',"run_id":{_text(run_id)},"seq":'
    ts_key, ts_text = None, ""
    if not isinstance(seq, int) or isinstance(seq, bool):
        raise TypeError(f"seq must be an int, not {seq!r}")
    for d in drafts:
        seq += 1
        ts = d.ts if now is None else now
        if not ts <= last_ts:
            last_ts = ts
        if last_ts != ts_key:
            ts_key, ts_text = last_ts, iso(last_ts)
        body = _json_safe(d.data)
        text = data_json(body)
        step, host, type_ = d.step, d.host, d.type
        step_text = quoted.get(step) or quoted.setdefault(step, _text(step))
        host_text = quoted.get(host) or quoted.setdefault(host, _text(host))
        type_text = quoted.get(type_) or quoted.setdefault(type_, _text(type_))
        canonical = (
            f'{{"data":{text},"host":{host_text}{run_text}{seq},"step":{step_text},'
            f'"ts":{_text(ts_text)},"type":{type_text}}}'
        ).encode()
        hash_ = sha256(prev_hash.encode() + canonical).hexdigest()
        events.append(Event(run_id, seq, ts_text, type_, step, host, body, prev_hash, hash_))
        texts.append(text)
        prev_hash = hash_
    return events, texts


def insert_event(
    db: sqlite3.Connection,
    run_id: str,
    type_: str,
    ts: float,
    step: str | None,
    host: str | None,
    data: EventData,
    check: Check | None,
    *,
    current_state: Callable[[str], RunState],
    require_run: Callable[[str], None],
) -> Event:
    """Chain one event after the run's last; `check` and a callable `data` see the state."""
    seq, last_ts, prev_hash = _chain_end(db, run_id, require_run)
    ts = max(ts, last_ts)
    body = checked_data(check, data, ts, lambda: current_state(run_id))
    event, text = _chained_text(run_id, seq + 1, ts, type_, step, host, body, prev_hash)
    _insert(db, [event], [text])
    return event


def checked_data(
    check: Check | None, data: EventData, ts: float, state: Callable[[], RunState]
) -> Mapping[str, Any]:
    """An event's data once `check` passed: a text from `check` is raised as StateError
    before anything is written; a callable `data` is given the state and the effective ts.
    The state is read only when one of them needs it."""
    if check is None and not callable(data):
        return data or {}
    current = state()
    if check is not None and (problem := check(current)):
        raise StateError(problem)
    if callable(data):
        data = data(current, ts)
    return data or {}


def known_types(types: Iterable[str]) -> None:
    """ValueError for a type the journal does not know (a programming error, not input)."""
    for type_ in types:
        if type_ not in EVENT_TYPES:
            raise ValueError(f"unknown journal event type {type_!r}")


def _chain_end(
    db: sqlite3.Connection, run_id: str, require_run: Callable[[str], None]
) -> tuple[int, float, str]:
    """The run's last seq, ts and hash; (0, -inf, genesis) before its first event."""
    last = db.execute(
        "SELECT seq, ts, hash FROM events WHERE run_id=? ORDER BY seq DESC LIMIT 1",
        (run_id,),
    ).fetchone()
    if last is None:
        require_run(run_id)
        return 0, -math.inf, GENESIS_HASH
    return last[0], parse_iso(last[1]), last[2]


def _text(value: str | None) -> str:
    """A string or null as `canonical_from_json` writes it."""
    return "null" if value is None else encode_basestring(value)


def _chained_text(
    run_id: str,
    seq: int,
    ts: float,
    type_: str,
    step: str | None,
    host: str | None,
    data: Mapping[str, Any],
    prev_hash: str,
) -> tuple[Event, str]:
    """The event, and its data as the canonical JSON text stored in its row (encoded once:
    the hash covers the same text)."""
    body = _json_safe(data)
    text = data_json(body)
    ts_text = iso(ts)
    hash_ = chain_hash(
        prev_hash, canonical_from_json(run_id, seq, ts_text, type_, step, host, text)
    )
    return Event(run_id, seq, ts_text, type_, step, host, body, prev_hash, hash_), text


def _chained(
    run_id: str,
    seq: int,
    ts: float,
    type_: str,
    step: str | None,
    host: str | None,
    data: Mapping[str, Any],
    prev_hash: str,
) -> Event:
    """The event chained after `prev_hash` (its row's data is `row_values`' to encode)."""
    return _chained_text(run_id, seq, ts, type_, step, host, data, prev_hash)[0]


_INSERT = (
    "INSERT INTO events (run_id, seq, ts, type, step, host, data, prev_hash, hash) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
)


def _insert(db: sqlite3.Connection, events: Sequence[Event], texts: Sequence[str]) -> None:
    db.executemany(
        _INSERT,
        [
            (e.run_id, e.seq, e.ts, e.type, e.step, e.host, t, e.prev_hash, e.hash)
            for e, t in zip(events, texts, strict=True)
        ],
    )


def insert_rows(db: sqlite3.Connection, events: Sequence[Event]) -> None:
    """Store events exactly as given (`journal copy`)."""
    db.executemany(_INSERT, [row_values(e) for e in events])


def row_values(e: Event) -> tuple[Any, ...]:
    """An event as the events table's columns, its data as the canonical JSON text."""
    return (e.run_id, e.seq, e.ts, e.type, e.step, e.host, data_json(e.data), e.prev_hash, e.hash)


_PLAIN = frozenset({str, int, bool, type(None)})  # JSON as they are


def _json_safe(value: Any) -> Any:
    """Plain JSON data: tuples become lists, keys strings, NaN/inf null (not valid JSON)."""
    if type(value) is dict:  # most event data: a flat dict of plain values, one call
        return {
            (k if type(k) is str else str(k)): (v if type(v) in _PLAIN else _json_safe(v))
            for k, v in value.items()
        }
    if isinstance(value, Mapping):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)

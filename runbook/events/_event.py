"""Journal events (SPEC §5): the shape every reader and writer agrees on, and the hash."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from json.encoder import encode_basestring
from typing import Any

GENESIS_HASH = "0" * 64

# SPEC §5 types, plus the few runbook adds (kept in the same style).
EVENT_TYPES = frozenset(
    {
        "run_started",
        "step_started",
        "host_started",
        "host_output",
        "host_succeeded",
        "host_failed",
        "host_not_started",
        "host_cancelled",
        "step_succeeded",
        "step_failed",
        "step_skipped",
        "step_blocked",
        "step_retrying",  # a failed attempt that will be tried again after retry_delay
        "manual_waiting",
        "manual_claimed",  # an operator took a waiting manual step; its work time starts
        "manual_answered",
        "operator_retry",  # `runbook retry`: a failed/blocked step is to run again
        "operator_expect",  # `runbook expect`: an operator's word on a step's remaining time
        "host_key_accepted",  # --accept-new-host-keys recorded a key
        "eta",
        "run_interrupted",
        "run_resumed",
        "run_finished",
        # team mode (PostgreSQL): engines joining and leaving a run, the lease and its fence
        "engine_joined",
        "engine_left",
        "work_claimed",
        "host_offered",  # a host of a step its claimant does not reach, for another engine
        "lease_lost",
        "late_result",  # what a fenced-out engine had to journal; changes no state
    }
)


@dataclass(frozen=True)
class Event:
    """One committed journal event."""

    run_id: str
    seq: int
    ts: str
    type: str
    step: str | None
    host: str | None
    data: Mapping[str, Any] = field(default_factory=dict)
    prev_hash: str = GENESIS_HASH
    hash: str = ""

    def as_dict(self) -> dict[str, Any]:
        """The exported form: exactly SPEC §5's fields."""
        return {
            "run_id": self.run_id,
            "seq": self.seq,
            "ts": self.ts,
            "type": self.type,
            "step": self.step,
            "host": self.host,
            "data": dict(self.data),
            "prev_hash": self.prev_hash,
            "hash": self.hash,
        }


def canonical(
    run_id: str,
    seq: int,
    ts: str,
    type: str,
    step: str | None,
    host: str | None,
    data: Mapping[str, Any],
) -> bytes:
    """The bytes the hash covers (SPEC §5)."""
    body = {
        "run_id": run_id,
        "seq": seq,
        "ts": ts,
        "type": type,
        "step": step,
        "host": host,
        "data": data,
    }
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


# json.dumps with these options builds a new JSONEncoder per call; one does for all.
_CANONICAL_JSON = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode


def data_json(data: Mapping[str, Any]) -> str:
    """An event's data as canonical JSON text: as `canonical` writes it inside the body, and
    as the journal stores it."""
    return _CANONICAL_JSON(data)


def canonical_from_json(
    run_id: str,
    seq: int,
    ts: str,
    type: str,
    step: str | None,
    host: str | None,
    data_text: str,
) -> bytes:
    """`canonical`'s bytes, with the data given as its `data_json` text.

    The journal stores that text too, so an event's data is encoded once, not twice (the
    body's keys in sorted order: data, host, run_id, seq, step, ts, type).
    """
    if isinstance(seq, bool) or not isinstance(seq, int):
        raise TypeError(f"seq must be an int, not {seq!r}")
    return (
        f'{{"data":{data_text},"host":{_text(host)},"run_id":{_text(run_id)},"seq":{seq},'
        f'"step":{_text(step)},"ts":{_text(ts)},"type":{_text(type)}}}'
    ).encode()


def _text(value: str | None) -> str:
    """A string or null as json.dumps(..., ensure_ascii=False) writes it."""
    return "null" if value is None else encode_basestring(value)


def chain_hash(prev_hash: str, body: bytes) -> str:
    """sha256(prev_hash + canonical) as hex."""
    return hashlib.sha256(prev_hash.encode() + body).hexdigest()


def event_hash(e: Event) -> str:
    """The hash `e` should carry given its fields and prev_hash."""
    return chain_hash(e.prev_hash, canonical(e.run_id, e.seq, e.ts, e.type, e.step, e.host, e.data))

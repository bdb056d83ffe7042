"""`export --format jsonl`: one event per line with exactly SPEC §5's fields.

The chain head (the last event's hash) is not written into the file, so that every line
keeps exactly the contract's fields; the command prints it on stderr for the auditor to
record, and `runbook verify FILE.jsonl --head HASH` later proves the file is whole.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import Any

from runbook.events import Event


def jsonl_lines(events: Iterable[Event]) -> Iterator[str]:
    """Each event as one JSON line (newline included), keys in SPEC order."""
    for ev in events:
        yield json.dumps(ev.as_dict(), ensure_ascii=False, separators=(",", ":")) + "\n"


def parse_event(obj: Any) -> Event:
    """An Event from one exported line's object; ValueError naming what is missing or wrong."""
    if not isinstance(obj, dict):
        raise ValueError("not a JSON object")
    fields = ("run_id", "seq", "ts", "type", "step", "host", "data", "prev_hash", "hash")
    missing = [f for f in fields if f not in obj]
    if missing:
        raise ValueError(f"missing field(s): {', '.join(missing)}")
    extra = sorted(set(obj) - set(fields))
    if extra:
        raise ValueError(f"unexpected field(s): {', '.join(extra)}")
    seq = obj["seq"]
    if not isinstance(seq, int) or isinstance(seq, bool):
        raise ValueError(f"seq is {seq!r}, not an integer")
    for name in ("run_id", "ts", "type", "prev_hash", "hash"):
        if not isinstance(obj[name], str):
            raise ValueError(f"{name} is {obj[name]!r}, not a string")
    for name in ("step", "host"):
        if obj[name] is not None and not isinstance(obj[name], str):
            raise ValueError(f"{name} is {obj[name]!r}, not a string or null")
    if not isinstance(obj["data"], dict):
        raise ValueError("data is not an object")
    return Event(
        obj["run_id"],
        seq,
        obj["ts"],
        obj["type"],
        obj["step"],
        obj["host"],
        obj["data"],
        obj["prev_hash"],
        obj["hash"],
    )

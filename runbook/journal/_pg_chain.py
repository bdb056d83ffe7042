"""Small pieces of the PostgreSQL append: the chain's end as read under the run's lock,
whether a write whose COMMIT went unanswered landed, and a stale fence."""

from __future__ import annotations

from typing import Any

from runbook.clock import parse_iso
from runbook.events import GENESIS_HASH, Event


class Stale(Exception):
    """Raised inside an append's transaction (so it rolls back): the fence moved on."""

    def __init__(self, holder: tuple[Any, int]) -> None:
        super().__init__("stale fence")
        self.holder = holder


def chain_end(last: tuple[Any, ...] | None) -> tuple[int, float, str]:
    """The run's last (seq, ts, hash); (0, -inf, genesis) before its first event."""
    if last is None:
        return 0, float("-inf"), GENESIS_HASH
    return int(last[0]), parse_iso(last[1]), str(last[2])


def landed(conn: Any, first: Event) -> bool:
    """Whether `first` is stored as chained: its COMMIT landed before the connection broke."""
    row = conn.execute(
        "SELECT hash FROM runbook.events WHERE run_id=%s AND seq=%s", (first.run_id, first.seq)
    ).fetchone()
    return bool(row) and row[0] == first.hash

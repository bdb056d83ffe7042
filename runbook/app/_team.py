"""Team mode for one engine: its share of a PostgreSQL run (runbook/engine/_claims.py).

A live run on PostgreSQL claims each step before starting it, whether one engine works
on it or several (`run`, `resume`, `join`); a rehearsal, and any run on SQLite, never
claims: one engine runs it.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from runbook.app._session_transport import end_remote_orphans
from runbook.executors import Transport, kill_orphans
from runbook.model import Host

if TYPE_CHECKING:
    from runbook.engine import Engine
    from runbook.events import Event
    from runbook.journal import EventStore
    from runbook.secrets import Redactor


def attach_team(
    engine: Engine,
    journal: EventStore,
    run_id: str,
    events: Sequence[Event],
    redactor: Redactor,
    *,
    no_local: bool = False,
    reach: frozenset[str] | None = None,
    remote: Transport | None = None,
    hosts: Mapping[str, Host] | None = None,
) -> None:
    """Give the engine its claims when the journal is shared (PostgreSQL, a live run)."""
    from runbook.engine import Team

    held: Any = getattr(journal, "held", {}).get(run_id)
    if held is None or not hasattr(journal, "claim_step"):
        return
    if events and events[0].data.get("mode") == "rehearsal":
        return
    held.per_step = True
    held.reach = sorted(reach) if reach is not None else None
    held.no_local = no_local
    if not held.announced:  # `join`, `resume`: what it may claim, for `status`
        journal.announce(held)  # type: ignore[attr-defined]

    def end_orphans(gone: str, step: str, only: Collection[str] | None) -> list[dict[str, Any]]:
        # Only what the gone engine started: the other engines' commands are no orphans
        # (and only on the hosts this engine reaches, or on the one host taken over).
        killed = kill_orphans(run_id, redactor.text, engine=gone)
        if remote is not None and hosts:
            seen = journal.events(run_id)
            where = hosts if only is None else {h: v for h, v in hosts.items() if h in only}
            killed += end_remote_orphans(remote, seen, where, redactor.text, gone, step)
        return killed

    team = Team(journal, run_id, events, no_local=no_local, reach=reach, end_orphans=end_orphans)
    engine.use_team(team)

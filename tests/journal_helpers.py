"""Journals populated through Journal.append, for the journal, state and operator tests."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from runbook.journal._store import Journal

T0 = 1_795_000_000.0


def plan_step(
    sid: str,
    *,
    kind: str = "remote",
    needs: tuple[str, ...] = (),
    hosts: tuple[str, ...] = (),
    phase: str = "main",
    likely_s: float = 600.0,
) -> dict[str, Any]:
    return {
        "id": sid,
        "title": f"Title of {sid}",
        "phase": phase,
        "kind": kind,
        "needs": list(needs),
        "hosts": list(hosts),
        "parallel": None,
        "timeout_s": 900.0,
        "retries": 0,
        "idempotent": False,
        "on_failure": "block",
        "owner": None,
        "estimate": {"min_s": likely_s, "likely_s": likely_s, "max_s": likely_s, "given": True},
        "wave": 0,
    }


def plan(*steps: dict[str, Any], rto_s: float | None = 8 * 3600.0) -> dict[str, Any]:
    phases = list(dict.fromkeys(s["phase"] for s in steps))
    return {
        "playbook": "restore",
        "title": "Restore test",
        "rto_s": rto_s,
        "steps": list(steps),
        "waves": [],
        "phases": phases,
        "critical_path": [s["id"] for s in steps],
        "critical_path_s": 0.0,
        "p50_s": 0.0,
        "p90_s": 0.0,
        "default_estimates": [],
    }


def start_run(
    journal: Journal, the_plan: dict[str, Any], ts: float = T0, mode: str = "live"
) -> str:
    """A registered run with its run_started event."""
    run_id = journal.new_run(the_plan["playbook"], mode, ts)  # type: ignore[arg-type]
    journal.append(
        run_id,
        "run_started",
        ts=ts,
        data={
            "playbook": the_plan["playbook"],
            "title": the_plan["title"],
            "mode": mode,
            "operator": "lead",
            "rto_s": the_plan["rto_s"],
            "plan": the_plan,
            "options": {},
        },
    )
    return run_id


def recompute_chain(rows: list[dict[str, Any]]) -> list[str]:
    """The few lines of docs/journal.md's chain rule, written independently of runbook.events."""
    hashes = []
    prev = "0" * 64
    for r in rows:
        body = {k: r[k] for k in ("run_id", "seq", "ts", "type", "step", "host", "data")}
        canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        prev = hashlib.sha256(prev.encode() + canonical.encode()).hexdigest()
        hashes.append(prev)
    return hashes


def raw_rows(db: Path, run_id: str) -> list[dict[str, Any]]:
    """Events as stored, read with plain sqlite3."""
    import sqlite3

    con = sqlite3.connect(db)
    try:
        cur = con.execute(
            "SELECT run_id, seq, ts, type, step, host, data, prev_hash, hash FROM events "
            "WHERE run_id=? ORDER BY seq",
            (run_id,),
        )
        names = [d[0] for d in cur.description]
        rows = [dict(zip(names, r, strict=True)) for r in cur.fetchall()]
    finally:
        con.close()
    for r in rows:
        r["data"] = json.loads(r["data"])
    return rows

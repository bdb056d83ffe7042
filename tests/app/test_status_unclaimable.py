"""`status` in team mode: work that no live engine may run is named, with its hosts."""

from __future__ import annotations

from pathlib import Path

from journal_helpers import T0, plan, plan_step, start_run

from runbook.app._status_doc import status_document
from runbook.journal._store import Journal


def _engine(journal: Journal, run_id: str, name: str, reach: list[str], ts: float) -> None:
    data = {"engine": name, "lease_until": ts + 30, "lease_s": 30.0, "host": "x", "reach": reach}
    journal.append(run_id, "engine_joined", ts=ts, data=data)


def test_a_running_step_with_hosts_no_live_engine_reaches_names_them(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "state.db")
    run_id = start_run(journal, plan(plan_step("both", hosts=("web1", "db1", "db2"))))
    _engine(journal, run_id, "web:1:a", ["web1"], T0 + 1)
    _engine(journal, run_id, "db:2:b", ["db1", "db2"], T0 + 1)
    journal.append(run_id, "step_started", ts=T0 + 2, step="both",
                   data={"attempt": 1, "hosts": ["web1", "db1", "db2"]})  # fmt: skip
    for host in ("web1", "db1"):
        journal.append(run_id, "host_started", ts=T0 + 3, step="both", host=host,
                       data={"attempt": 1, "action": "run"})  # fmt: skip
    journal.append(run_id, "host_succeeded", ts=T0 + 4, step="both", host="db1",
                   data={"attempt": 1, "duration_s": 1.0})  # fmt: skip
    doc = status_document(journal.state(run_id), live=True, now=T0 + 5)
    assert "unclaimable" not in doc["steps"][0]  # every host still to run has its engine

    # The db engine leaves (its lease ran out): db2, still to run, has no engine now;
    # db1 ended, web1 is the web engine's.
    journal.append(run_id, "engine_left", ts=T0 + 6,
                   data={"engine": "db:2:b", "reason": "lease expired"})  # fmt: skip
    doc = status_document(journal.state(run_id), live=True, now=T0 + 7)
    (step,) = doc["steps"]
    assert step["status"] == "running"
    assert step["unclaimable"]["hosts"] == ["db2"]
    assert "still to run" in step["unclaimable"]["why"]

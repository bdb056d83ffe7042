"""The fold, the reports and `status` tell one story: the issue "one fold" pinned.

After `step_failed a`, `step_blocked b`, `operator_retry a`, b waits for a again: the
engine lifts a retried step's blocks (engine/_operators.py `_operator_retry` → unblock),
and so do the fold, the timeline every report draws, and the status document.
"""

from __future__ import annotations

import csv
import io
from typing import Any

from audit_helpers import MemoryChain
from journal_helpers import T0, plan, plan_step

from runbook.app._status_doc import status_document
from runbook.events import Event, fold
from runbook.report import render
from runbook.report._timeline import build_timeline


def _journal(*events: tuple[str, str | None, dict[str, Any]]) -> list[Event]:
    chain = MemoryChain()
    the_plan = plan(plan_step("a", hosts=("h1",)), plan_step("b", needs=("a",), hosts=("h1",)))
    chain.append("RUN", "run_started", ts=T0, data={"mode": "live", "plan": the_plan})
    for i, (type, step, data) in enumerate(events, 1):
        body = {k: v for k, v in data.items() if k != "host"}
        chain.append("RUN", type, ts=T0 + i, step=step, host=data.get("host"), data=body)
    return chain.events


FAILED_THEN_RETRIED = (
    ("step_started", "a", {"attempt": 1, "hosts": ["h1"]}),
    ("host_started", "a", {"host": "h1", "attempt": 1, "action": "run"}),
    ("host_failed", "a", {"host": "h1", "attempt": 1, "reason": "exit", "exit_code": 2}),
    ("step_failed", "a", {"attempts": 1, "failed_hosts": ["h1"], "reason": "h1: exit 2"}),
    ("step_blocked", "b", {"by": ["a"]}),
    ("operator_retry", "a", {"operator": "bob", "note": "disk cleaned"}),
)


def test_a_retried_step_lifts_its_blocks_in_the_fold_the_reports_and_status() -> None:
    events = _journal(*FAILED_THEN_RETRIED)
    state = fold(events)
    timeline = build_timeline(events)
    doc = status_document(state, live=False, now=T0 + 60)
    by_id = {s["id"]: s for s in doc["steps"]}
    for sid, expected in (("a", "pending"), ("b", "pending")):
        assert state.steps[sid].status == expected
        assert timeline.steps[sid].status == expected
        assert by_id[sid]["status"] == expected
    assert by_id["b"]["blocked_by"] == [] and timeline.steps["b"].blocked_by == ()

    rows = {r["step"]: r for r in csv.DictReader(io.StringIO(render("csv", events)))}
    assert rows["b"]["result"] == "not run"  # was "blocked": the report's own reading
    md = render("md", events)
    assert "| Steps | 2 pending |" in md
    assert 'data-step="b" data-status="pending"' in render("html", events)


def test_every_step_and_host_the_reports_show_is_the_folds() -> None:
    events = _journal(
        *FAILED_THEN_RETRIED,
        ("step_started", "a", {"attempt": 2, "hosts": ["h1"]}),
        ("host_started", "a", {"host": "h1", "attempt": 2, "action": "run"}),
        ("host_succeeded", "a", {"host": "h1", "attempt": 2, "duration_s": 1.0}),
        ("step_succeeded", "a", {"attempts": 2, "duration_s": 8.0}),
        ("step_started", "b", {"attempt": 1, "hosts": ["h1"]}),
    )
    state = fold(events)
    timeline = build_timeline(events)
    doc = status_document(state, live=False, now=T0 + 60)
    for s in doc["steps"]:
        rec, st = timeline.steps[s["id"]], state.steps[s["id"]]
        assert rec.status == st.status == s["status"]
        assert rec.attempts == st.attempts == s["attempts"]
        assert rec.start == st.started and rec.end == st.finished
    assert timeline.steps["a"].hosts["h1"].result == "succeeded"
    assert timeline.steps["a"].hosts["h1"].attempts == 2
    assert [(f.step, f.host, f.attempt, f.reason) for f in timeline.failures] == [
        ("a", "h1", 1, "exit")
    ]

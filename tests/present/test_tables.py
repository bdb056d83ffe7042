"""`runbook plan`'s table and summary for the tutorial playbook, as a terminal shows them."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest
from rich.console import Console

from runbook.load import resolve
from runbook.plan import Plan, build_plan
from runbook.present._tables import CRITICAL_MARK, plan_summary, render_plan

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def plan() -> Plan:
    return build_plan(resolve(ROOT / "playbooks" / "first-restore.yml"))


def shown(*renderables: object) -> str:
    console = Console(record=True, width=120, color_system=None)
    for r in renderables:
        console.print(r)
    return console.export_text()


def test_rows_by_wave_with_the_critical_path_marked(plan: Plan) -> None:
    text = shown(*render_plan(plan))
    lines = text.splitlines()
    assert lines[0] == "first-restore: First restore (tutorial)"
    assert lines[2].split() == ["wave", "step", "phase", "kind", "hosts", "estimate", "◆", "title"]
    rows = {sid: next(ln for ln in lines if f" {sid} " in ln) for sid in plan.by_id()}
    for sid in plan.critical_path:
        assert CRITICAL_MARK in rows[sid], sid
    assert CRITICAL_MARK not in rows["check-tmp"]
    assert re.search(r"^\s+1\s+announce\s+preparation\s+manual\s+-\s+1m\s", text, re.M)
    assert re.search(r"^\s+3\s+start-service\s+service\s+local\s+-\s+5s \(2s–30s\)", text, re.M)
    assert f"{CRITICAL_MARK} on the critical path" in text


def test_the_summary_holds_the_plan_against_the_rto(plan: Plan) -> None:
    text = shown(plan_summary(plan))
    assert text.startswith("7 steps in 5 waves, 0 hosts, 3 phases\n")
    # the cold prior's heavy tail puts this plan's P90 (4.7× its likely path) just over 10m
    roomy = shown(plan_summary(dataclasses.replace(plan, rto_s=900.0)))
    assert re.search(r"P50 \S+, P90 \S+ against an RTO of 15m: within the RTO at P90", roomy)
    assert "announce → start-service → record-mode → sign-off" in text
    tight = dataclasses.replace(plan, rto_s=30.0)
    assert re.search(
        r"against an RTO of 30s: likely missed, P50 is \S+ over", shown(plan_summary(tight))
    )
    none = dataclasses.replace(plan, rto_s=None)
    assert "(no RTO set)" in shown(plan_summary(none))

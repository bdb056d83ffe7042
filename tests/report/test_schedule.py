"""The plan's P50 schedule read from a journaled plan: each step starts when its last need ends."""

from __future__ import annotations

from runbook.report._schedule import PlannedSlot, likely_s, planned_schedule


def test_steps_start_when_the_last_step_they_need_ends() -> None:
    steps = [
        {"id": "power", "needs": [], "estimate": {"likely_s": 600}},
        {"id": "network", "needs": ["power"], "estimate": {"likely_s": 300}},
        {"id": "storage", "needs": ["power"], "estimate": {"likely_s": 1200}},
        {"id": "mail", "needs": ["network", "storage"], "estimate": {"likely_s": 60}},
        {"id": "announce", "needs": []},  # no estimate: 5 minutes
    ]
    assert planned_schedule(steps) == {
        "power": PlannedSlot(0, 600),
        "network": PlannedSlot(600, 900),
        "storage": PlannedSlot(600, 1800),
        "mail": PlannedSlot(1800, 1860),
        "announce": PlannedSlot(0, 300),
    }
    assert planned_schedule(steps)["storage"].duration_s == 1200


def test_what_a_journal_may_hold_does_not_break_it() -> None:
    steps = [
        {"id": "a", "needs": ["b", "gone"], "estimate": {"likely_s": 10}},
        {"id": "b", "needs": ["a"], "estimate": {"likely_s": 20}},  # a cycle: counts as 0
        {"id": "c", "estimate": "15m"},
    ]
    slots = planned_schedule(steps)
    assert set(slots) == {"a", "b", "c"}
    assert slots["c"] == PlannedSlot(0, 300)
    assert likely_s({"estimate": {"likely_s": "soon"}}) == 300


def test_a_ten_thousand_step_chain() -> None:
    steps = [{"id": "s0", "needs": [], "estimate": {"likely_s": 1}}] + [
        {"id": f"s{i}", "needs": [f"s{i - 1}"], "estimate": {"likely_s": 1}}
        for i in range(1, 10_000)
    ]
    assert planned_schedule(steps)["s9999"] == PlannedSlot(9999, 10_000)

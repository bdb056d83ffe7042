"""A conditional step counts by its `chance` in the plan and the forecast until its `when`
is decided, then by fact: the Geo-failover case of a plan that looked "likely missed"
because every optional branch was counted in full."""

from __future__ import annotations

import json
from pathlib import Path

from engine_helpers import cli, events, write

PLAYBOOK = """
playbook: failover
title: Failover with an optional repair
rto: 2h
steps:
  - id: promote
    local: true
    run: "true"
    estimate: 30m
  - id: check
    needs: [promote]
    local: true
    run: "true"
    estimate: 10m
  - id: repair
    needs: [check]
    when: "not steps['check'].ok"
    CHANCE
    local: true
    run: "true"
    estimate: 3h
  - id: announce
    needs: [repair]
    local: true
    run: "true"
    estimate: 5m
"""


def _plan(folder: Path, chance: str) -> dict[str, object]:
    pb = write(folder / f"pb-{len(chance)}.yml", PLAYBOOK.replace("CHANCE", chance))
    r = cli(folder / "state.db", "plan", str(pb), "--format", "json")
    assert r.returncode == 0, r.stderr
    plan: dict[str, object] = json.loads(r.stdout)
    return plan


def test_the_planned_p50_drops_when_an_optional_branch_has_a_chance(tmp_path: Path) -> None:
    full = _plan(tmp_path, "# no chance: counted in full")
    likely = _plan(tmp_path, "chance: 10%")
    assert float(full["p50_s"]) > 3 * 3600  # type: ignore[arg-type]
    assert float(likely["p50_s"]) < 1.5 * 3600  # type: ignore[arg-type]
    repair = next(s for s in likely["steps"] if s["id"] == "repair")  # type: ignore[attr-defined]
    assert repair["when"] == "not steps['check'].ok" and repair["chance"] == 0.1


def test_plan_lists_the_conditional_steps_counted_in_full(tmp_path: Path) -> None:
    pb = write(tmp_path / "pb.yml", PLAYBOOK.replace("CHANCE", "# none"))
    r = cli(tmp_path / "state.db", "plan", str(pb))
    assert r.returncode == 0, r.stderr
    assert "1 conditional step counted in full (no `chance:`): repair" in " ".join(r.stdout.split())


def test_the_live_eta_moves_when_the_condition_is_decided(tmp_path: Path) -> None:
    pb = write(tmp_path / "pb.yml", PLAYBOOK.replace("CHANCE", "chance: 50%"))
    seen = {"skipped": False, "ran": False}
    for seed in range(12):
        state = tmp_path / f"state-{seed}.db"
        r = cli(state, "rehearse", str(pb), "--speed", "max", "--seed", str(seed))
        assert r.returncode == 0, r.stderr
        evs = events(state)
        decided = next(
            i
            for i, e in enumerate(evs)
            if e.step == "repair" and e.type in ("step_skipped", "step_started")
        )
        before = next(e for e in reversed(evs[:decided]) if e.type == "eta")
        after = next(e for e in evs[decided:] if e.type == "eta")
        if evs[decided].type == "step_skipped":
            seen["skipped"] = True
            assert evs[decided].data["reason"] == "when"
            # the 3h branch, in half the sampled futures before, is in none now: the
            # pessimistic end of the band comes in by hours
            moved = _at(after.data, "p90") - _at(before.data, "p90")
            assert moved < -2 * 3600, (seed, moved)
        else:
            seen["ran"] = True
            # it runs: in every sampled future now, the likely finish moves out
            moved = _at(after.data, "p50") - _at(before.data, "p50")
            assert moved > 3600, (seed, moved)
        if all(seen.values()):
            break
    assert all(seen.values()), seen


def _at(data: dict[str, object], key: str) -> float:
    from runbook.clock import parse_iso

    return parse_iso(str(data[key]))

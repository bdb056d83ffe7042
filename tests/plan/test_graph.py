"""The dependency graph on its own: located checks, one stable order, waves, the longest chain."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from runbook.errors import InputError
from runbook.model import Estimate, Location, Step
from runbook.plan._graph import (
    critical_path,
    cycle_issues,
    graph_issues,
    topological_order,
    waves_of,
)


def step(sid: str, needs: Sequence[str] = (), likely: float = 60.0, line: int = 1) -> Step:
    return Step(
        id=sid,
        title=sid,
        phase="main",
        kind="local",
        location=Location("restore.yml", line, 5),
        needs=tuple(sorted(needs)),
        run="true",
        estimate=Estimate.single(likely),
        field_locations={"needs": Location("restore.yml", line + 1, 12)},
    )


def test_duplicate_ids_and_unknown_needs_are_located_with_a_fix() -> None:
    steps = [
        step("power", line=1),
        step("storage", ["powr"], line=5),
        step("power", line=9),
        step("network", ["nowhere-near"], line=13),
    ]
    issues = [str(i) for i in graph_issues(steps)]
    assert issues == [
        "restore.yml:9:5: error: duplicate step id 'power' (first at restore.yml:1:5)",
        "restore.yml:6:12: error: step 'storage' needs unknown step 'powr' (did you mean 'power'?)",
        "restore.yml:14:12: error: step 'network' needs unknown step 'nowhere-near' "
        "(no step has this id)",
    ]


def test_a_cycle_is_printed_as_its_path_at_its_first_step() -> None:
    steps = [
        step("a", ["c"], line=1),
        step("b", ["a"], line=5),
        step("c", ["b"], line=9),
        step("d", ["d"], line=13),  # a step that needs itself
        step("e", line=17),
    ]
    assert [i.message for i in cycle_issues(steps)] == [
        "dependency cycle: a → c → b → a (each step needs the next)",
        "dependency cycle: d → d (each step needs the next)",
    ]
    assert str(cycle_issues(steps)[0].location) == "restore.yml:2:12"
    with pytest.raises(InputError, match=r"a → c → b → a"):
        topological_order(steps)
    assert topological_order(steps, strict=False) == ["e"]


def test_no_cycle_no_issue() -> None:
    assert cycle_issues([step("a"), step("b", ["a"])]) == []


def test_the_order_is_stable_smallest_ready_id_first() -> None:
    steps = [step("zeta"), step("alpha", ["zeta"]), step("mid"), step("beta", ["mid", "zeta"])]
    order = topological_order(steps)
    assert order == ["mid", "zeta", "alpha", "beta"]
    assert topological_order(list(reversed(steps))) == order


def test_a_step_runs_one_wave_after_the_latest_of_its_needs() -> None:
    steps = [
        step("power"),
        step("network", ["power"]),
        step("storage", ["power"]),
        step("directory", ["network"]),
        step("mail", ["directory", "storage"]),
        step("announce"),
    ]
    waves = waves_of(steps, topological_order(steps))
    assert waves == {
        "announce": 0,
        "power": 0,
        "network": 1,
        "storage": 1,
        "directory": 2,
        "mail": 3,
    }


def test_the_critical_path_is_the_longest_chain_of_likely_estimates() -> None:
    steps = [
        step("power", likely=600),
        step("network", ["power"], likely=300),
        step("storage", ["power"], likely=1200),
        step("mail", ["network", "storage"], likely=60),
        step("side", likely=1000),
    ]
    path, total = critical_path(steps, topological_order(steps))
    assert path == ("power", "storage", "mail")
    assert total == 1860


def test_critical_path_ties_go_to_the_smaller_id_and_empty_is_empty() -> None:
    steps = [step("b", likely=100), step("a", likely=100)]
    assert critical_path(steps, topological_order(steps)) == (("a",), 100)
    assert critical_path([], []) == ((), 0.0)

"""The Monte Carlo replays a plan wave by wave: the same finish times as step by step."""

from __future__ import annotations

import random
from dataclasses import replace
from typing import Any

import numpy as np

from runbook.forecast._sim import Graph, simulate


def _plan(rng: random.Random, n: int) -> list[dict[str, Any]]:
    steps = []
    for i in range(n):
        earlier = [f"s{j:03d}" for j in range(i)]
        needs = rng.sample(earlier, rng.randint(0, min(i, 4)))
        steps.append({"id": f"s{i:03d}", "needs": needs})
    return steps


def test_wave_by_wave_equals_step_by_step_with_done_and_running_steps() -> None:
    rng = random.Random(18)
    draws = np.random.default_rng(18)
    for _ in range(200):
        n = rng.randint(1, 40)
        graph = Graph.from_plan({"steps": _plan(rng, n)})
        assert graph.waves is not None
        in_order = replace(graph, waves=None)  # the step-by-step replay
        samples = rng.choice([1, 9, 64])
        durations = draws.random((n, samples)) * 100
        durations[draws.random((n, samples)) < 0.05] = np.inf  # a stuck step
        done = draws.random(n) < rng.choice([0.0, 0.3])
        running = {i: draws.random(samples) * 50 for i in range(n) if draws.random() < 0.1}
        weights = np.full(samples, 1.0 / samples)
        a = simulate(graph, durations, running, done, weights)
        b = simulate(in_order, durations, running, done, weights)
        assert np.array_equal(a.end, b.end)
        assert np.array_equal(a.critical, b.critical)


def test_a_plan_whose_waves_disagree_with_its_needs_is_replayed_step_by_step() -> None:
    steps = [{"id": "a", "needs": [], "wave": 0}, {"id": "b", "needs": ["a"], "wave": 0}]
    graph = Graph.from_plan({"steps": steps})
    assert graph.waves is None
    res = simulate(graph, np.array([[2.0], [3.0]]), {}, np.zeros(2, bool), np.ones(1))
    assert res.end.tolist() == [5.0]

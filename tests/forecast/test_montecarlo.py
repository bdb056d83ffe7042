"""The Monte Carlo forecaster: known answers on small plans."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from runbook.forecast._model import History
from runbook.forecast._montecarlo import MonteCarloForecaster, planned
from runbook.forecast._observe import Observations, StepObs
from runbook.forecast._reference import ReferenceRun

START = 1_000_000.0
# A team whose earlier runs (of other playbooks) all kept to their plans: the prior of a
# run-wide slowdown then sits on the plan. Without any, a plan is expected to run late.
ON_PLAN_TEAM = History(reference=tuple(ReferenceRun(f"r{i}", "live", 0.0, 50) for i in range(30)))


def _step(sid: str, needs: list[str], est: float = 600.0, **kw: Any) -> dict[str, Any]:
    return {
        "id": sid,
        "phase": kw.get("phase", "restore"),
        "kind": kw.get("kind", "local"),
        "needs": needs,
        "estimate": {"min_s": est, "likely_s": est, "max_s": est, "given": True},
    }


def _chain(n: int, est: float = 600.0, rto: float | None = None) -> dict[str, Any]:
    steps = [_step(f"s{i:02d}", [f"s{i - 1:02d}"] if i else [], est) for i in range(n)]
    return {"playbook": "chain", "steps": steps, "phases": ["restore"], "rto_s": rto}


def _chain_obs(n_done: int, actual: float, now_running: float | None = None) -> Observations:
    """The first `n_done` steps of a chain took `actual` each; the next one runs since."""
    steps = {f"s{i:02d}": StepObs("done", work_s=actual, finished_seq=i + 1) for i in range(n_done)}
    if now_running is not None:
        steps[f"s{n_done:02d}"] = StepObs("running", started=START + n_done * actual)
    return Observations(START, steps)


def test_every_step_on_plan_keeps_p50_on_the_plan() -> None:
    plan = _chain(12)
    fc = MonteCarloForecaster(plan, ON_PLAN_TEAM)
    plan_end = START + 12 * 600.0
    errors = []
    for k in range(12):
        now = START + k * 600.0
        f = fc.forecast_observed(_chain_obs(k, 600.0, now_running=now), now)
        assert f.p90_ts >= f.p50_ts >= now
        errors.append(abs(f.p50_ts - plan_end) / (12 * 600.0))
    # Before any evidence the P50 leans late (durations overrun more than they underrun);
    # each step on plan pulls it onto the plan.
    assert errors[0] < 0.1
    assert all(e <= errors[0] for e in errors)
    assert max(errors[-4:]) < 0.01
    # evidence that matches the plan teaches no slowdown
    post = fc.posterior(_chain_obs(11, 600.0))
    assert abs(post.mean[0]) < 0.02


def test_a_uniform_2x_slowdown_is_learned_after_a_few_steps() -> None:
    plan = _chain(20)
    fc = MonteCarloForecaster(plan)
    now = START + 5 * 1200.0
    post = fc.posterior(_chain_obs(5, 1200.0))
    assert abs(post.mean[0] + post.mean[1] - math.log(2.0)) < 0.15
    f = fc.forecast_observed(_chain_obs(5, 1200.0, now_running=now), now)
    truth = 15 * 1200.0
    assert abs(f.remaining_p50_s - truth) < 0.15 * truth
    assert f.remaining_p90_s >= truth  # the range covers what will happen


def test_an_operators_expect_moves_the_eta_by_the_difference() -> None:
    plan = _chain(3)
    fc = MonteCarloForecaster(plan)
    now = START + 900.0  # s00 took 600 s, s01 runs for 300 s

    def with_expect(remaining: float) -> float:
        obs = _chain_obs(1, 600.0, now_running=now)
        steps = dict(obs.steps)
        steps["s01"] = StepObs("running", started=START + 600.0, expect_remaining_s=remaining,
                               expect_ts=now)  # fmt: skip
        return fc.forecast_observed(Observations(START, steps), now).p50_ts

    short, long = with_expect(1000.0), with_expect(4000.0)
    assert abs((long - short) - 3000.0) < 0.05 * 3000.0
    assert abs(long - (now + 4000.0 + 600.0)) < 0.1 * 4600.0
    # the operator's word ages: 1000 s later, the same statement leaves ~3000 s for s01
    obs = _chain_obs(1, 600.0, now_running=now)
    steps = dict(obs.steps)
    steps["s01"] = StepObs("running", started=START + 600.0, expect_remaining_s=4000.0,
                           expect_ts=now)  # fmt: skip
    later = fc.forecast_observed(Observations(START, steps), now + 1000.0)
    assert abs(later.p50_ts - long) < 0.1 * 4000.0


def test_an_overdue_step_remaining_time_grows_instead_of_reaching_zero() -> None:
    plan = _chain(2)
    fc = MonteCarloForecaster(plan)
    rem = []
    for elapsed in (300.0, 1200.0, 2400.0, 4800.0, 20000.0):
        obs = Observations(START, {"s00": StepObs("running", started=START)})
        rem.append(fc.forecast_observed(obs, START + elapsed).remaining_p50_s - 0.0)
    # remaining of s00 alone: subtract s01 (not known exactly, but it is the same draws)
    assert all(r > 600.0 for r in rem)
    assert rem[2] < rem[3] < rem[4]


def test_same_evidence_same_answer() -> None:
    plan = _chain(8)
    obs = _chain_obs(3, 700.0, now_running=START + 2100.0)
    a = MonteCarloForecaster(plan).forecast_observed(obs, START + 2500.0)
    b = MonteCarloForecaster(plan).forecast_observed(obs, START + 2500.0)
    assert a == b


def test_concurrency_limit_queues_steps() -> None:
    steps = [_step(f"x{i}", []) for i in range(10)]
    plan = {"playbook": "fan", "steps": steps, "phases": ["restore"]}
    unlimited = planned(plan, ON_PLAN_TEAM)
    two = planned(plan, ON_PLAN_TEAM, concurrency=2)
    assert 3000.0 * 0.85 < two.remaining_p50_s < 3000.0 * 1.2
    assert unlimited.remaining_p50_s < 1500.0


def test_rto_risk_and_critical_path() -> None:
    steps = [
        _step("power", []),
        _step("short", ["power"], 60.0),
        _step("long", ["power"], 7200.0),
        _step("apps", ["short", "long"]),
    ]
    plan = {"playbook": "p", "steps": steps, "phases": ["restore"], "rto_s": 100000.0}
    f = planned(plan)
    assert f.critical_path == ("power", "long", "apps")
    # an RTO 12× the plan: not impossible with a heavy-tailed slowdown, but rare
    assert f.rto_risk is not None and f.rto_risk < 0.03
    tight = planned({**plan, "rto_s": 1000.0})
    assert tight.rto_risk is not None and tight.rto_risk > 0.99


def test_phase_departure_stays_mostly_in_its_phase() -> None:
    steps = [_step(f"a{i}", [f"a{i - 1}"] if i else [], phase="storage") for i in range(6)]
    steps += [_step(f"b{i}", [f"b{i - 1}" if i else "a5"], phase="apps") for i in range(6)]
    plan = {"playbook": "p", "steps": steps, "phases": ["storage", "apps"]}
    fc = MonteCarloForecaster(plan, ON_PLAN_TEAM)
    obs = Observations(
        START, {f"a{i}": StepObs("done", work_s=1800.0, finished_seq=i) for i in range(6)}
    )
    post = fc.posterior(obs)
    storage, apps = post.mean[0] + post.mean[1], post.mean[0] + post.mean[2]
    assert storage > math.log(2.4)  # the storage phase ran 3× slow
    assert 0.0 < apps < storage - 0.2  # the rest is expected slower, but not as slow


def test_a_stuck_step_does_not_make_every_step_slow() -> None:
    plan = _chain(20)
    fc = MonteCarloForecaster(plan)
    steps = {f"s{i:02d}": StepObs("done", work_s=600.0, finished_seq=i) for i in range(8)}
    steps["s08"] = StepObs("done", work_s=600.0 * 10, finished_seq=9)
    post = fc.posterior(Observations(START, steps))
    assert post.mean[0] < math.log(1.3)


def test_planned_spread_by_kind() -> None:
    manual = planned(
        {"steps": [_step("m", [], kind="manual")], "phases": ["restore"]}, ON_PLAN_TEAM
    )
    local = planned({"steps": [_step("l", [])], "phases": ["restore"]}, ON_PLAN_TEAM)
    assert manual.remaining_p90_s / manual.remaining_p50_s > local.remaining_p90_s / (
        local.remaining_p50_s
    )
    assert np.isclose(manual.remaining_p50_s, 600.0, rtol=0.1)


def test_a_calm_night_narrows_the_band_a_stuck_step_keeps_it_wide() -> None:
    plan = _chain(40)
    fc = MonteCarloForecaster(plan)
    now = START + 20 * 600.0
    calm = _chain_obs(20, 600.0, now_running=now)
    steps = dict(calm.steps)
    steps["s05"] = StepObs("done", work_s=6000.0, finished_seq=6)  # one step took 10×
    troubled = Observations(START, steps)
    # Each step on plan makes a troubled night less likely; one stuck step makes it likely.
    shares = [fc.posterior(_chain_obs(k, 600.0)).troubled for k in (0, 5, 10, 20)]
    assert shares == sorted(shares, reverse=True) and shares[-1] < 0.15
    assert fc.posterior(troubled).troubled > 0.9
    quiet = fc.forecast_observed(calm, now)
    fc._last = None
    rough = fc.forecast_observed(troubled, now)
    truth = 20 * 600.0
    # The calm night's band is tight around what is left; the other keeps room for more.
    assert truth <= quiet.remaining_p90_s < 1.2 * truth
    assert abs(quiet.remaining_p50_s - truth) < 0.05 * truth
    assert rough.remaining_p90_s > 1.5 * quiet.remaining_p90_s

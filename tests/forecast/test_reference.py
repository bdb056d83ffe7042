"""The reference class (the team's other playbooks), operator latency, overdue running steps."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from runbook.app._history import forecaster_for
from runbook.forecast._learn import Finished, learn
from runbook.forecast._model import History, PastRun
from runbook.forecast._montecarlo import MonteCarloForecaster
from runbook.forecast._observe import Observations, StepObs
from runbook.forecast._reference import COLD_EFFECT, ReferenceRun, reference_prior, reference_run
from runbook.journal._store import Journal

T0 = 1_700_000_000.0


def _plan(playbook: str, n: int = 6, kind: str = "local") -> dict[str, Any]:
    est = {"min_s": 600.0, "likely_s": 600.0, "max_s": 600.0, "given": True}
    steps = [
        {
            "id": f"s{i}",
            "phase": "p",
            "kind": kind,
            "needs": [f"s{i - 1}"] if i else [],
            "estimate": est,
        }
        for i in range(n)
    ]
    return {"playbook": playbook, "steps": steps, "phases": ["p"], "rto_s": None}


def _record(journal: Journal, playbook: str, mode: str, factor: float, wait: float = 0.0) -> None:
    """A finished run of `playbook` whose every step took `factor` × its 10-minute estimate."""
    kind = "manual" if wait else "local"
    plan = _plan(playbook, kind=kind)
    t = T0 + 86400.0 * len(journal.run_ids())
    run = journal.new_run(playbook, mode, t)  # type: ignore[arg-type]
    journal.append(run, "run_started", ts=t, data={"mode": mode, "plan": plan, "options": {}})
    for s in plan["steps"]:
        sid, work = s["id"], 600.0 * factor
        journal.append(run, "step_started", ts=t, step=sid, data={"attempt": 1, "kind": kind})
        if wait:
            journal.append(run, "manual_waiting", ts=t, step=sid, data={})
            journal.append(run, "manual_claimed", ts=t + wait, step=sid, data={"operator": "a"})
            t += wait
            data = {"answer": "done", "wait_s": wait, "work_s": work}
            journal.append(run, "manual_answered", ts=t + work, step=sid, data=data)
        t += work
        journal.append(run, "step_succeeded", ts=t, step=sid, data={"duration_s": work})
    journal.append(run, "run_finished", ts=t, data={"result": "succeeded"})


def _p50(fc: MonteCarloForecaster) -> float:
    return fc.forecast_observed(Observations(started=T0), T0).remaining_p50_s


def test_a_new_playbook_takes_the_slowdown_of_the_teams_other_playbooks(tmp_path: Path) -> None:
    with Journal(tmp_path / "state.db") as journal:
        for _ in range(4):
            _record(journal, "network", "rehearsal", 2.5)
        slow_team = forecaster_for(journal, _plan("restore"), run_id=None, mode="rehearsal")
    with Journal(tmp_path / "other.db") as journal:
        for _ in range(4):
            _record(journal, "network", "rehearsal", 1.0)
        on_plan_team = forecaster_for(journal, _plan("restore"), run_id=None, mode="rehearsal")
    cold = MonteCarloForecaster(_plan("restore"))
    # the team's plans ran 2.5× their estimates: so will this one's, before any step ends
    assert 2.0 < math.exp(slow_team.models.run_effect_prior) < 2.5
    assert abs(on_plan_team.models.run_effect_prior) < 0.15
    assert _p50(slow_team) > 1.8 * _p50(on_plan_team)
    # with nothing in the journal, a plan is expected to run somewhat late, not on time
    assert _p50(on_plan_team) < _p50(cold) < _p50(slow_team)


def test_rehearsals_count_less_than_live_nights_for_a_live_run() -> None:
    live = ReferenceRun("a", "live", math.log(2.0), 20)
    rehearsal = ReferenceRun("b", "rehearsal", 0.0, 20)
    mean, _ = reference_prior((live, rehearsal), "live")
    assert mean > (math.log(2.0) + COLD_EFFECT) / 3  # the plain mean of the three
    # a spread team is less sure than a tight one; nothing at all is the least sure
    _, tight = reference_prior(tuple(ReferenceRun(f"r{i}", "live", 0.7, 20) for i in range(8)), "")
    _, cold = reference_prior((), "live")
    assert tight < cold


def test_operator_latency_from_earlier_live_nights_is_added_to_manual_steps(
    tmp_path: Path,
) -> None:
    with Journal(tmp_path / "state.db") as journal:
        for _ in range(2):
            _record(journal, "network", "live", 1.0, wait=1200.0)  # 20 minutes before a claim
        live = forecaster_for(journal, _plan("restore", kind="manual"), run_id=None, mode="live")
        rehearsal = forecaster_for(
            journal, _plan("restore", kind="manual"), run_id=None, mode="rehearsal"
        )
    # six manual steps in a chain, each waiting ~20 minutes for someone at night ...
    assert _p50(live) - _p50(rehearsal) > 6 * 1200.0 * 0.6
    # ... a rehearsal answers on its own clock: no latency
    plain = MonteCarloForecaster(_plan("restore", kind="manual"), History(), mode="rehearsal")
    assert abs(_p50(rehearsal) - _p50(plain)) < 0.25 * _p50(plain)


def test_a_step_waiting_for_an_operator_is_a_wait_then_the_work() -> None:
    plan = _plan("restore", n=1, kind="manual")
    waits = History((PastRun("a", "live", {"s0": 600.0}, (900.0, 1100.0, 1000.0)),))
    fc = MonteCarloForecaster(plan, waits, mode="live")
    now = T0 + 1800.0  # unclaimed for 30 minutes: the rest of the wait, then 10 of work
    obs = Observations(T0, {"s0": StepObs("running", started=T0, unclaimed=True)})
    left = fc.forecast_observed(obs, now).remaining_p50_s
    assert left > 600.0


def test_a_running_step_far_past_its_estimate_raises_the_run_wide_slowdown() -> None:
    plan = _plan("restore", n=10)
    fc = MonteCarloForecaster(plan, History(reference=(ReferenceRun("r", "live", 0.0, 50),)))
    before = learn(fc.models, []).mean[0]
    # three steps under way have each run 2× their 10-minute estimate and still go on:
    # the steps to come are expected slower too, before any of them ends
    overdue = learn(fc.models, [], running=[Finished(i, 1200.0) for i in range(3)]).mean[0]
    assert overdue > before + 0.3
    # one alone, far over, is more likely a stuck step: it moves the rest less
    one = learn(fc.models, [], running=[Finished(0, 1800.0)]).mean[0]
    assert before < one < overdue
    # one still within its estimate says nothing yet
    assert abs(learn(fc.models, [], running=[Finished(0, 300.0)]).mean[0] - before) < 1e-9
    # and the forecast uses it
    obs = Observations(T0, {"s0": StepObs("running", started=T0)})
    assert fc._running(obs, T0 + 1800.0, None) == [Finished(0, 1800.0)]


def _grouped_plan(playbook: str) -> dict[str, Any]:
    """Six storage steps (owner: san-team) and six application steps, 10 minutes each."""
    est = {"min_s": 600.0, "likely_s": 600.0, "max_s": 600.0, "given": True}
    steps = [
        {
            "id": f"{phase}{i}",
            "phase": phase,
            "owner": "san-team" if phase == "storage" else None,
            "kind": "local",
            "needs": [],
            "estimate": est,
        }
        for phase in ("storage", "apps")
        for i in range(6)
    ]
    return {"playbook": playbook, "steps": steps, "phases": ["storage", "apps"], "rto_s": None}


def test_a_phase_the_team_always_underestimates_is_expected_slower_in_a_new_playbook() -> None:
    # the team's other playbook: storage took 3× its estimates, the applications 1×
    other = _grouped_plan("other")
    took = {s["id"]: 1800.0 if s["phase"] == "storage" else 600.0 for s in other["steps"]}
    ref = reference_run("r1", "live", other, took)
    assert ref is not None
    fc = MonteCarloForecaster(_grouped_plan("new"), History(reference=(ref,)))
    mu = dict(zip(fc.models.ids, fc.models.mu, strict=True))
    # the new playbook's storage steps are expected slower than its application steps,
    # though not the whole 3×: six steps of one run are held toward the run-wide factor
    gap = mu["storage0"] - mu["apps0"]
    assert 0.2 < gap < math.log(3.0)
    # a group with too few steps behind it moves nothing
    few = {k: v for k, v in took.items() if k in ("storage0", "storage1", "apps0", "apps1")}
    thin = reference_run("r2", "live", other, few)
    assert thin is not None
    fc = MonteCarloForecaster(_grouped_plan("new"), History(reference=(thin,)))
    assert fc.models.mu[0] == fc.models.mu[-1]


def test_an_unclaimed_step_of_a_team_that_never_claims_is_being_worked_on() -> None:
    # A team that answers manual steps without claiming them (a wait of 0, the whole span
    # counted as work): a step unclaimed for 5 minutes is most likely being worked on, so
    # what is left is the rest of its 10 minutes of work, not a wait and then all of it.
    plan = _plan("restore", n=1, kind="manual")
    now = T0 + 300.0
    obs = Observations(T0, {"s0": StepObs("running", started=T0, unclaimed=True)})

    def left(waits: tuple[float, ...]) -> float:
        history = History((PastRun("a", "live", {"s0": 600.0}, waits),))
        return (
            MonteCarloForecaster(plan, history, mode="live")
            .forecast_observed(obs, now)
            .remaining_p50_s
        )

    never = left((0.0,) * 11 + (600.0,))
    always = left((900.0, 1100.0, 1000.0))
    assert never < 600.0 < always

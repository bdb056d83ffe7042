"""History from earlier runs (real journal) and what the forecaster learns from it."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from runbook.app._history import forecaster_for, load_history
from runbook.events._fold import fold
from runbook.forecast._model import History, PastRun, StepModels, build_models
from runbook.forecast._montecarlo import MonteCarloForecaster
from runbook.forecast._observe import observe_events, observe_state
from runbook.journal._store import Journal

T0 = 1_700_000_000.0


def _plan() -> dict[str, Any]:
    def step(sid: str, needs: list[str], kind: str = "local") -> dict[str, Any]:
        est = {"min_s": 600.0, "likely_s": 600.0, "max_s": 600.0, "given": True}
        return {"id": sid, "phase": "p", "kind": kind, "needs": needs, "estimate": est}

    steps = [step("power", [], "manual"), step("storage", ["power"]), step("apps", ["storage"])]
    return {"playbook": "restore", "steps": steps, "phases": ["p"], "rto_s": 7200.0}


def _record_run(journal: Journal, mode: str, work: dict[str, float], finish: bool = True) -> str:
    plan = _plan()
    t = T0 + 86400.0 * len(journal.run_ids())  # one run a day: runs() lists them in order
    run = journal.new_run("restore", mode, t)  # type: ignore[arg-type]
    journal.append(run, "run_started", ts=t, data={"mode": mode, "plan": plan, "options": {}})
    for sid, d in work.items():
        journal.append(run, "step_started", ts=t, step=sid, data={"attempt": 1})
        if sid == "power":
            journal.append(run, "manual_waiting", ts=t, step=sid, data={})
            journal.append(run, "manual_claimed", ts=t + 100, step=sid, data={"operator": "ana"})
            journal.append(
                run,
                "manual_answered",
                ts=t + 100 + d,
                step=sid,
                data={"answer": "done", "wait_s": 100.0, "work_s": d},
            )
            t += 100
        t += d
        journal.append(run, "step_succeeded", ts=t, step=sid, data={"duration_s": d})
    if finish:
        journal.append(run, "run_finished", ts=t, data={"result": "succeeded"})
    return run


def test_history_reads_work_times_per_run_and_mode(tmp_path: Path) -> None:
    with Journal(tmp_path / "state.db") as journal:
        _record_run(journal, "rehearsal", {"power": 500.0, "storage": 1200.0, "apps": 600.0})
        live = _record_run(journal, "live", {"power": 700.0, "storage": 2400.0})
        _record_run(journal, "dry-run", {"power": 1.0})
        current = _record_run(journal, "live", {"power": 650.0}, finish=False)
        hist = load_history(journal, "restore", exclude=current)
    assert [r.mode for r in hist.runs] == ["rehearsal", "live"]
    assert hist.runs[0].durations == {"power": 500.0, "storage": 1200.0, "apps": 600.0}
    # a manual step's work, not the 100 s it waited for an operator
    assert hist.runs[1].durations == {"power": 700.0, "storage": 2400.0}
    assert hist.runs[1].run_id == live


def test_forecaster_for_a_run_uses_its_playbooks_history(tmp_path: Path) -> None:
    with Journal(tmp_path / "state.db") as journal:
        for _ in range(4):
            _record_run(journal, "rehearsal", {"power": 600.0, "storage": 1800.0, "apps": 600.0})
        fc = forecaster_for(journal, _plan(), run_id=None, mode="rehearsal")
    assert fc.models.learned == {"power": 4, "storage": 4, "apps": 4}
    on_plan = History(
        tuple(
            PastRun(f"r{k}", "rehearsal", {"power": 600.0, "storage": 600.0, "apps": 600.0})
            for k in range(4)
        )
    )
    fresh = MonteCarloForecaster(_plan(), on_plan, mode="rehearsal")
    # storage took 3× its estimate every time: the forecast before a run knows it (against
    # the same playbook rehearsed on plan), shrunk toward the plan while runs are few
    i = fc.models.ids.index("storage")
    assert 2.0 < math.exp(fc.models.mu[i]) / 600.0 < 3.0
    assert fc.forecast_observed(observe_events([]), T0).remaining_p50_s > (
        fresh.forecast_observed(observe_events([]), T0).remaining_p50_s + 600.0
    )


def test_run_wide_slowness_is_removed_before_learning_a_steps_own_speed() -> None:
    plan = _plan()
    slow = PastRun("r1", "live", {"power": 1200.0, "storage": 1200.0, "apps": 1200.0})
    models = build_models(plan, History((slow, slow)), mode="live")
    plain = build_models(plan)
    # every step 2× in that run: it says the run was slow, not that any step is
    assert max(abs(models.mu - plain.mu)) < 1e-9
    assert models.run_effect_prior > 0.3  # ...and that live runs of this playbook run slow


def test_rehearsal_history_counts_less_for_a_live_run() -> None:
    plan = _plan()
    runs = tuple(
        PastRun(f"r{i}", "rehearsal", {"power": 600.0, "storage": 2400.0, "apps": 600.0})
        for i in range(3)
    )
    live = build_models(plan, History(runs), mode="live")
    rehearsal = build_models(plan, History(runs), mode="rehearsal")
    i = live.ids.index("storage")
    assert 0.0 < live.mu[i] - math.log(600.0) < rehearsal.mu[i] - math.log(600.0)


def test_runstate_and_events_give_the_same_forecast(tmp_path: Path) -> None:
    with Journal(tmp_path / "state.db") as journal:
        run = _record_run(journal, "live", {"power": 900.0, "storage": 700.0}, finish=False)
        start = T0 + 1700.0  # power waited 100 s, then 900 + 700 s of work
        journal.append(run, "step_started", ts=start, step="apps", data={"attempt": 1})
        events = journal.events(run)
    fc = MonteCarloForecaster(_plan())
    now = start + 200.0
    from_state = fc.forecast(fold(events), now)
    from_events = MonteCarloForecaster(_plan()).forecast_observed(observe_events(events), now)
    assert from_state == from_events
    assert from_state.critical_path == ("apps",)
    assert observe_state(fold(events)).steps["power"].work_s == 900.0


def _fleet(n: int) -> dict[str, Any]:
    """n independent local steps, each estimated at 600 s."""
    est = {"min_s": 600.0, "likely_s": 600.0, "max_s": 600.0, "given": True}
    steps = [
        {"id": f"s{i:02d}", "phase": "p", "kind": "local", "needs": [], "estimate": est}
        for i in range(n)
    ]
    return {"playbook": "fleet", "steps": steps, "phases": ["p"]}


def _rehearsals(spread: float, stuck: str | None = None) -> History:
    """Three rehearsals: step i takes 2^(i/11)× the plan (s11: 2×), each run ×/÷ `spread`."""
    runs = []
    for k, factor in enumerate((1.0, spread, 1.0 / spread)):
        durations = {f"s{i:02d}": 600.0 * 2.0 ** (i / 11) for i in range(12)}
        # the run's scatter falls on different steps each time, not on the whole run
        durations = {s: d * (factor if (i + k) % 3 else 1.0) for i, (s, d) in
                     enumerate(durations.items())}  # fmt: skip
        if stuck is not None and k == 0:
            durations[stuck] *= 10.0
        runs.append(PastRun(f"r{k}", "rehearsal", durations))
    return History(tuple(runs))


def test_repeatable_runs_move_a_step_further_than_scattered_ones() -> None:
    plan = _fleet(12)
    steady = build_models(plan, _rehearsals(1.05), mode="rehearsal")
    scattered = build_models(plan, _rehearsals(2.0), mode="rehearsal")
    i = steady.ids.index("s11")  # took 2× the plan in every rehearsal (give or take)

    def learned(m: StepModels) -> float:  # the step's own speed and the runs' common one
        return math.exp(m.mu[i] + m.run_effect_prior) / 600.0

    # runs that repeat closely say the plan is wrong about the step: believed almost fully
    assert learned(steady) > 1.75
    # runs that scatter by 2× could have landed there by chance: held nearer the plan
    assert learned(scattered) < learned(steady) - 0.1
    # and the next run's spread is what the runs showed, not the plan's default
    assert steady.sigma[i] < 0.15 < scattered.sigma[i]


def test_a_step_stuck_in_one_rehearsal_does_not_widen_every_step() -> None:
    plan = _fleet(12)
    clean = build_models(plan, _rehearsals(1.05), mode="rehearsal")
    stuck = build_models(plan, _rehearsals(1.05, stuck="s03"), mode="rehearsal")
    others = [i for i, s in enumerate(clean.ids) if s != "s03"]
    assert max(abs(stuck.sigma[others] - clean.sigma[others])) < 0.02

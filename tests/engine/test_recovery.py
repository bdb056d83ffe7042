"""What resume does per step and host (SPEC §4 crash safety), decided from the fold alone.

Journals are written by hand as an engine leaves them when it stops; no subprocess.
"""

from __future__ import annotations

from typing import Any

from audit_helpers import MemoryChain
from journal_helpers import T0, plan, plan_step

from runbook.engine._recovery import StepResume, analyse
from runbook.events import Event, fold
from runbook.model import Location, Step

HOSTS = ("h1", "h2", "h3", "h4")


def _step(sid: str, kind: str = "remote", **fields: Any) -> Step:
    return Step(sid, sid, "main", kind, Location("restore.yml", 1, 1), run="restart", **fields)  # type: ignore[arg-type]


class Run:
    """A run's journal written by hand, one event a second, hash-chained."""

    def __init__(self, *steps: dict[str, Any], mode: str = "live") -> None:
        self.chain = MemoryChain()
        self.t = T0
        self.add("run_started", mode=mode, operator="lead", plan=plan(*steps))

    def add(self, type: str, step: str | None = None, host: str | None = None, **data: Any) -> Run:
        self.t += 1
        self.chain.append("RUN", type, ts=self.t, step=step, host=host, data=data)
        return self

    def actions(self, host: str | None, *actions: str, attempt: int = 1) -> Run:
        for action in actions:
            self.add("host_started", "a", host, attempt=attempt, action=action)
        return self

    @property
    def events(self) -> list[Event]:
        return self.chain.events

    def resume(self, **steps: Step) -> dict[str, StepResume]:
        return analyse(fold(self.events), self.events, steps)


def _in_flight(mode: str = "live") -> Run:
    """Step a on four hosts when the engine stopped: h1 done, h2 failed, h3 in `run`,
    h4 in `until` after its `run` (same engine)."""
    run = Run(plan_step("a", hosts=HOSTS), mode=mode)
    run.add("step_started", "a", attempt=1, hosts=list(HOSTS))
    run.actions("h1", "run").add("host_succeeded", "a", "h1", attempt=1, skipped=False)
    run.actions("h2", "run").add("host_failed", "a", "h2", attempt=1, reason="exit", message="x")
    run.actions("h3", "run")
    run.actions("h4", "run", "until")
    return run


def test_a_run_in_flight_is_uncertain_and_its_step_decides_how_to_find_out() -> None:
    run = _in_flight()
    plain = run.resume(a=_step("a"))["a"]
    assert (plain.status, plain.decision, plain.uncertain) == ("running", "ask", ["h3"])
    assert plain.hosts_ok == {"h1"} and plain.failed == {"h2": ("exit", "x")}
    assert plain.todo == ["h3", "h4"] and plain.modes == {"h4": "after_run"}

    assert run.resume(a=_step("a", idempotent=True))["a"].decision == "rerun"
    skip_if = run.resume(a=_step("a", skip_if="test -e /done"))["a"]
    assert (skip_if.decision, skip_if.modes) == ("verify", {"h4": "after_run"})
    verify = run.resume(a=_step("a", verify="check"))["a"]
    assert verify.decision == "verify"
    assert verify.modes == {"h4": "after_run", "h3": "verify_only"}


def test_a_run_is_uncertain_again_when_the_engine_that_checked_it_stopped_too() -> None:
    run = _in_flight().add("run_resumed", decisions={"a": "verify"})
    run.actions("h3", "verify")  # a verify-only check by the second engine, which crashes
    r = run.resume(a=_step("a", verify="check"))["a"]
    assert r.uncertain == ["h3"] and r.modes == {"h4": "after_run", "h3": "verify_only"}
    # h4's run was seen to end by the first engine: that stays known after a crash
    run.add("run_resumed", decisions={"a": "verify"}).actions("h4", "verify")
    assert run.resume(a=_step("a", verify="check"))["a"].modes["h4"] == "after_run"


def test_a_due_retry_starts_and_failures_count_against_retries() -> None:
    run = Run(plan_step("a", hosts=("h1", "h2")))
    run.add("step_started", "a", attempt=1, hosts=["h1", "h2"])
    run.actions("h1", "run").add("host_succeeded", "a", "h1", attempt=1, skipped=True)
    run.actions("h2", "run").add("host_failed", "a", "h2", attempt=1, reason="exit")
    run.add("step_retrying", "a", attempt=1, delay_s=30.0, failed_hosts=["h2"])
    r = run.resume(a=_step("a", retries=2))["a"]
    assert (r.status, r.attempt, r.failures, r.hosts_ok, r.decision) == (
        "retry",
        1,
        1,
        {"h1"},
        None,
    )


def test_steps_not_in_flight_come_back_as_they_stood() -> None:
    run = Run(
        plan_step("a", kind="local"),
        plan_step("b", needs=("a",), kind="local"),
        plan_step("m", kind="manual"),
        plan_step("n", kind="manual"),
    )
    run.add("step_started", "a", attempt=1, hosts=[]).actions(None, "run")
    run.add("host_failed", "a", None, attempt=1, reason="exit")
    run.add("step_failed", "a", attempts=1, failed_hosts=[], reason="exit 1")
    run.add("step_blocked", "b", by=["a"])
    run.add("step_started", "m", attempt=1, hosts=[])  # stopped before anyone was asked
    run.add("step_started", "n", attempt=1, hosts=[]).add("manual_waiting", "n")
    run.add("manual_claimed", "n", operator="carol")
    steps = {s: _step(s, "local") for s in ("a", "b")} | {s: _step(s, "manual") for s in "mn"}
    r = run.resume(**steps)
    assert (r["a"].status, r["b"].status, r["b"].blocked_by) == ("failed", "blocked", ("a",))
    assert (r["m"].status, r["n"].status) == ("pending", "waiting")
    run.add("operator_retry", "a", operator="bob")
    r = run.resume(**steps)
    assert (r["a"].status, r["a"].failures, r["b"].status) == ("pending", 0, "pending")


def test_a_local_steps_host_is_the_control_machine_and_a_rehearsal_reruns() -> None:
    run = Run(plan_step("a", kind="local"), mode="rehearsal")
    run.add("step_started", "a", attempt=1, hosts=[]).actions(None, "run")
    r = run.resume(a=_step("a", "local"))["a"]
    assert (r.todo, r.uncertain, r.decision) == ([None], [], "rerun")
    live = Run(plan_step("a", kind="local"))
    live.add("step_started", "a", attempt=1, hosts=[]).actions(None, "run", "verify")
    r = live.resume(a=_step("a", "local", verify="check"))["a"]
    assert (r.todo, r.modes, r.decision) == ([None], {None: "after_run"}, "rerun")
    # the events argument is not read: the fold holds what resume needs
    assert analyse(fold(live.events), [], {"a": _step("a", "local")}) == live.resume(
        a=_step("a", "local")
    )

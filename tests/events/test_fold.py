"""The fold's history: attempts, retries, hosts done, engine lives, the output tail.

Journals are written by hand, event by event, as the engine writes them; no subprocess.
"""

from __future__ import annotations

from typing import Any

from audit_helpers import MemoryChain
from journal_helpers import T0, plan, plan_step

from runbook.events import TAIL_CHARS, TAIL_LINES, Event, RunState, fold, keep_tail


class Run:
    """A run's journal written by hand, one event a second, hash-chained."""

    def __init__(self, *steps: dict[str, Any], mode: str = "live") -> None:
        self.chain = MemoryChain()
        self.t = T0
        the_plan = plan(*steps)
        self.add("run_started", playbook="restore", mode=mode, operator="lead", plan=the_plan)

    def add(self, type: str, step: str | None = None, host: str | None = None, **data: Any) -> Run:
        self.t += 1
        self.chain.append("RUN", type, ts=self.t, step=step, host=host, data=data)
        return self

    def host(self, step: str, host: str | None, *actions: str, attempt: int = 1) -> Run:
        for action in actions:
            self.add("host_started", step, host, attempt=attempt, action=action, command=action)
        return self

    @property
    def events(self) -> list[Event]:
        return self.chain.events

    def state(self) -> RunState:
        return fold(self.events)


def _remote(sid: str = "a", hosts: tuple[str, ...] = ("h1", "h2")) -> dict[str, Any]:
    return plan_step(sid, hosts=hosts)


def test_failed_attempts_count_against_retries_and_a_retry_resets_them() -> None:
    run = Run(_remote())
    run.add("step_started", "a", attempt=1, hosts=["h1", "h2"]).host("a", "h1", "run")
    run.add("host_succeeded", "a", "h1", attempt=1, duration_s=1.0, skipped=False)
    run.host("a", "h2", "run").add("host_failed", "a", "h2", attempt=1, reason="exit")
    run.add("step_retrying", "a", attempt=1, delay_s=30.0, failed_hosts=["h2"])
    a = run.state().steps["a"]
    assert (a.failures, a.retry_wait, a.retry_due) == (1, True, run.t + 30.0)
    assert a.status == "running" and a.hosts_done == {"h1"}

    # the engine starts the retry on the hosts not done yet
    run.add("step_started", "a", attempt=2, hosts=["h2"]).host("a", "h2", "run", attempt=2)
    run.add("host_failed", "a", "h2", attempt=2, reason="exit", exit_code=1)
    run.add("step_failed", "a", attempts=2, failed_hosts=["h2"], reason="1 of 2 hosts failed")
    a = run.state().steps["a"]
    assert (a.failures, a.retry_wait, a.status) == (1, False, "failed")
    assert list(a.host_states) == ["h2"] and a.hosts_done == {"h1"}
    assert [(x.number, x.outcome, list(x.hosts)) for x in a.history] == [
        (1, "retrying", ["h1", "h2"]),
        (2, "failed", ["h2"]),
    ]

    run.add("operator_retry", "a", operator="bob", note="fixed")
    a = run.state().steps["a"]
    assert (a.failures, a.status, a.hosts_done) == (0, "pending", {"h1"})


def test_a_retry_lifts_the_blocks_the_failure_caused() -> None:
    run = Run(plan_step("a", hosts=("h1",)), plan_step("b", needs=("a",), hosts=("h1",)))
    run.add("step_started", "a", attempt=1, hosts=["h1"]).host("a", "h1", "run")
    run.add("host_failed", "a", "h1", attempt=1, reason="exit")
    run.add("step_failed", "a", attempts=1, failed_hosts=["h1"], reason="failed")
    run.add("step_blocked", "b", by=["a"])
    b = run.state().steps["b"]
    assert (b.status, b.blocked_by, b.blocked_at) == ("blocked", ("a",), run.t)
    run.add("operator_retry", "a", operator="bob")
    b = run.state().steps["b"]
    assert (b.status, b.blocked_by, b.blocked_at) == ("pending", (), None)


def test_a_run_ended_only_if_the_same_engine_moved_past_it() -> None:
    run = Run(plan_step("a", hosts=("h1", "h2", "h3"))).add(
        "step_started", "a", attempt=1, hosts=["h1", "h2", "h3"]
    )
    run.host("a", "h1", "skip_if", "run", "until")  # run ended: until followed in life 0
    run.host("a", "h2", "skip_if", "run")  # in flight when the engine stopped
    run.host("a", "h3", "skip_if")
    s = run.state()
    h1, h2, h3 = (s.steps["a"].host_states[h] for h in ("h1", "h2", "h3"))
    assert (s.life, h1.action, h1.run_standing(0), h1.in_flight) == (0, "until", "done", True)
    assert (h2.run_life, h2.run_standing(0)) == (0, "running")
    assert (h3.action, h3.run_standing(0)) == ("skip_if", None)

    # a crash: the next engine checks h2 with verify alone, and stops too
    run.add("run_resumed", operator="lead", decisions={"a": "verify"})
    resumed = run.t
    run.host("a", "h2", "verify")
    s = run.state()
    h2 = s.steps["a"].host_states["h2"]
    assert (s.life, h2.action, h2.action_life, h2.run_life) == (1, "verify", 1, 0)
    assert h2.run_standing(s.life) == "uncertain"  # verify in another life proves nothing
    run.add("run_interrupted", reason="SIGTERM")
    s = run.state()
    assert [(x.started, x.interrupted) for x in s.lives] == [(T0 + 1, None), (resumed, run.t)]


def test_attempt_history_keeps_every_attempt_and_an_abandoned_one() -> None:
    run = Run(plan_step("m", kind="manual"))
    run.add("step_started", "m", attempt=1, hosts=[]).add("manual_waiting", "m")
    run.add("run_resumed")  # a manual step not yet asked when its engine stopped: asked again
    run.add("step_started", "m", attempt=2, hosts=[]).add("manual_waiting", "m")
    run.add("manual_answered", "m", answer="fail", operator="ann", wait_s=1.0, work_s=0.0)
    m = run.state().steps["m"]
    assert [(a.number, a.life, a.outcome, a.finished_life) for a in m.history] == [
        (1, 0, "abandoned", 1),
        (2, 1, "failed", 1),
    ]
    assert m.history[0].finished == m.history[1].started


def test_one_output_tail_rule_bounds_characters_and_lines() -> None:
    assert keep_tail("", "x" * (TAIL_CHARS + 5)) == ("x" * TAIL_CHARS, True)
    lines = "".join(f"{i}\n" for i in range(TAIL_LINES + 3))
    tail, cut = keep_tail("", lines)
    assert cut and tail.splitlines()[0] == "3" and len(tail.splitlines()) == TAIL_LINES
    assert keep_tail("a\n", "b\n") == ("a\nb\n", False)

    run = Run(_remote(hosts=("h1", "h2")))
    run.add("step_started", "a", attempt=1, hosts=["h1", "h2"]).host("a", "h1", "run")
    run.add("host_output", "a", "h1", stream="stdout", text="fine\n", truncated=False)
    run.host("a", "h2", "run")
    run.add("host_output", "a", "h2", stream="stderr", text="boom\n", truncated=True)
    run.add("host_succeeded", "a", "h1", attempt=1, duration_s=1.0, skipped=False)
    run.add("host_failed", "a", "h2", attempt=1, reason="exit", exit_code=True)
    hs = run.state().steps["a"].host_states
    assert (hs["h1"].tail, hs["h1"].tail_cut) == ("", False)  # nobody shows a success's output
    assert (hs["h2"].tail, hs["h2"].tail_cut, hs["h2"].exit_code) == ("boom\n", True, None)


def test_a_later_attempt_without_its_step_started_starts_the_host_afresh() -> None:
    run = Run(_remote(hosts=("h1",))).add("step_started", "a", attempt=1, hosts=["h1"])
    run.host("a", "h1", "run").add("host_output", "a", "h1", text="first try\n")
    run.add("host_failed", "a", "h1", attempt=1, reason="exit")
    run.add("step_retrying", "a", attempt=1, delay_s=0.0, failed_hosts=["h1"])
    run.host("a", "h1", "run", attempt=2).add("host_output", "a", "h1", text="second\n")
    run.add("step_succeeded", "a", attempts=2)
    a = run.state().steps["a"]
    h1 = a.host_states["h1"]
    assert (h1.attempt, h1.tail, h1.status) == (2, "second\n", "running")
    assert h1.previous is not None and h1.previous.status == "failed"
    # the retry's start was never journaled: the step's outcome is its only attempt's
    assert [(x.number, x.outcome) for x in a.history] == [(1, "succeeded")]


def test_the_fold_never_raises_on_damaged_events() -> None:
    odd = [
        Event("RUN", 1, "not a time", "run_started", None, None, {"plan": ["not", "a", "plan"]}),
        Event("RUN", 2, "2026-11-18T12:00:00.000Z", "step_started", "x", None, {"attempt": "2"}),
        Event("RUN", 3, "2026-11-18T12:00:01.000Z", "host_started", "x", "h", {"attempt": True}),
        Event("RUN", 4, "2026-11-18T12:00:02.000Z", "host_output", "x", "h", {"text": 7}),
        Event("RUN", 5, "2026-11-18T12:00:03.000Z", "step_blocked", "y", None, {"by": "a"}),
        Event("RUN", 6, "2026-11-18T12:00:04.000Z", "step_failed", "x", None, []),  # type: ignore[arg-type]
        Event("RUN", 7, "2026-11-18T12:00:05.000Z", "step_retrying", "x", None, {"delay_s": "9"}),
        Event("RUN", 8, "2026-11-18T12:00:06.000Z", "from_the_future", "x", None, {}),
    ]
    s = fold(odd)
    x = s.steps["x"]
    assert (x.attempts, x.kind, x.planned, x.host_states["h"].tail) == (1, "remote", False, "7")
    assert (x.status, x.failures, s.steps["y"].blocked_by) == ("failed", 1, ())
    assert s.last_ts is not None and s.last_type == "from_the_future"

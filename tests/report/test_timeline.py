"""The report timeline, in-process, from journals written by hand.

What a step and a host are is the fold's; the timeline adds the human lines, the failed
attempts with their output, and how the Gantt draws each attempt.
"""

from __future__ import annotations

from typing import Any

from audit_helpers import MemoryChain
from journal_helpers import T0, plan, plan_step

from runbook.events import TAIL_LINES
from runbook.report._records import Segment
from runbook.report._timeline import Timeline, build_timeline


class Run:
    """A run's journal written by hand, one event a second, hash-chained."""

    def __init__(self, *steps: dict[str, Any]) -> None:
        self.chain = MemoryChain()
        self.t = T0 - 1  # run_started at T0, each event a second after the one before
        self.add("run_started", mode="live", operator="lead", plan=plan(*steps))

    def add(self, type: str, step: str | None = None, host: str | None = None, **data: Any) -> Run:
        self.t += 1
        self.chain.append("RUN", type, ts=self.t, step=step, host=host, data=data)
        return self

    def timeline(self) -> Timeline:
        return build_timeline(self.chain.events)


def _texts(tl: Timeline, step: str) -> list[str]:
    return [e.text for e in tl.entries if e.step == step]


def test_failed_attempts_keep_their_output_and_the_step_its_outcome() -> None:
    run = Run(plan_step("a", hosts=("h1", "h2")), plan_step("b", needs=("a",), hosts=("h1",)))
    run.add("step_started", "a", attempt=1, hosts=["h1", "h2"])
    for h in ("h1", "h2"):
        run.add("host_started", "a", h, attempt=1, action="run")
    run.add("host_succeeded", "a", "h1", attempt=1, duration_s=2.0, skipped=False)
    noise = "".join(f"line {i}\n" for i in range(TAIL_LINES + 10))
    run.add("host_output", "a", "h2", stream="stderr", text=noise + "disk full\n")
    run.add("host_failed", "a", "h2", attempt=1, reason="exit", exit_code=1, message="exit 1")
    run.add("step_retrying", "a", attempt=1, delay_s=30.0, failed_hosts=["h2"])
    run.add("step_started", "a", attempt=2, hosts=["h2"])
    run.add("host_started", "a", "h2", attempt=2, action="run")
    run.add("host_failed", "a", "h2", attempt=2, reason="timeout", message="timed out")
    run.add("step_failed", "a", attempts=2, failed_hosts=["h2"], reason="1 of 2 hosts failed")
    run.add("step_blocked", "b", by=["a"])
    tl = run.timeline()

    first, second = tl.failures
    assert (first.host, first.attempt, first.reason, first.exit_code) == ("h2", 1, "exit", 1)
    assert first.truncated and first.output.endswith("disk full\n")
    assert len(first.output.splitlines()) == TAIL_LINES
    assert (second.attempt, second.reason, second.output) == (2, "timeout", "")
    assert _texts(tl, "a") == [
        "started",
        "failed on h2 (exit 1): exit 1",
        "attempt 1 failed on h2; retrying in 30s",
        "started (attempt 2)",
        "failed on h2 (timeout): timed out",
        "step failed: 1 of 2 hosts failed",
    ]
    assert _texts(tl, "b") == ["blocked by a"]
    a = tl.steps["a"]
    assert (a.status, a.attempts, tl.steps["b"].status) == ("failed", 2, "blocked")
    h1, h2 = a.hosts["h1"], a.hosts["h2"]
    assert (h1.result, h1.attempts, h1.start) == ("succeeded", 1, T0 + 2)
    assert (h2.result, h2.attempts, h2.start, h2.end) == ("failed", 2, T0 + 3, T0 + 10)
    # The failed try's bar runs to the retry's start; the retry's to the step's outcome.
    assert a.segments == [
        Segment(T0 + 1, T0 + 8, "interrupted"),
        Segment(T0 + 8, T0 + 11, "failed"),
    ]


def test_a_step_failure_no_host_explains_is_recorded_for_the_step() -> None:
    run = Run(plan_step("sync", kind="local"), plan_step("ok", kind="manual"))
    run.add("step_started", "sync", attempt=1, hosts=[])
    run.add("host_started", "sync", None, attempt=1, action="run")
    run.add("run_interrupted", reason="SIGTERM")
    run.add("run_resumed", operator="lead", decisions={"sync": "ask"})
    run.add("step_failed", "sync", attempts=1, reason="interrupted: needs an operator decision")
    run.add("step_started", "ok", attempt=1, hosts=[]).add("manual_waiting", "ok")
    run.add("manual_answered", "ok", answer="fail", operator="ann", note="no power")
    tl = run.timeline()
    assert [(f.step, f.host, f.reason, f.message) for f in tl.failures] == [
        ("sync", None, "interrupted: needs an operator decision", ""),
        ("ok", None, "operator answered fail", "no power"),
    ]
    # Its bar stops at the interruption: what came after the resume is not drawn again.
    assert tl.steps["sync"].segments == [Segment(T0 + 1, T0 + 3, "interrupted")]
    assert tl.steps["ok"].segments == [Segment(T0 + 6, T0 + 8, "failed")]
    assert tl.status == "running"
    assert "run resumed; in-flight steps: sync: ask" in [e.text for e in tl.entries]


def test_a_crash_leaves_the_bar_open_until_the_outcome() -> None:
    run = Run(plan_step("a", hosts=("h1",)))
    run.add("step_started", "a", attempt=1, hosts=["h1"])
    run.add("host_started", "a", "h1", attempt=1, action="run")
    run.add("run_resumed", operator="lead", decisions={"a": "rerun"})  # no run_interrupted
    run.add("host_started", "a", "h1", attempt=1, action="run")
    run.add("host_succeeded", "a", "h1", attempt=1, duration_s=1.0, skipped=False)
    run.add("step_succeeded", "a", attempts=1, duration_s=5.0)
    a = run.timeline().steps["a"]
    assert a.segments == [Segment(T0 + 1, T0 + 6, "succeeded")]
    assert (a.hosts["h1"].start, a.hosts["h1"].result) == (T0 + 2, "succeeded")


def test_who_and_why_are_the_last_decision_and_a_claim_shows_its_holder() -> None:
    run = Run(plan_step("m", kind="manual"), plan_step("n", kind="manual"))
    run.add("step_started", "m", attempt=1, hosts=[]).add("manual_waiting", "m")
    run.add("manual_answered", "m", answer="fail", operator="ann", note="not yet")
    run.add("step_failed", "m", attempts=1, reason="operator: not yet")
    run.add("operator_retry", "m", operator="bob")  # no note: ann's is not bob's
    run.add("step_started", "n", attempt=1, hosts=[]).add("manual_waiting", "n")
    run.add("manual_claimed", "n", operator="carol")
    tl = run.timeline()
    m, n = tl.steps["m"], tl.steps["n"]
    assert (m.status, m.operator, m.note) == ("pending", "bob", None)
    assert (n.status, n.operator) == ("claimed", "carol")
    assert [e.text for e in tl.decisions] == ["answered fail", "retry requested", "claimed"]

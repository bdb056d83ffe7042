"""The summary a run ends with: counts in words, the RTO told honestly, the next command."""

from __future__ import annotations

from typing import Any

from audit_helpers import MemoryChain
from journal_helpers import T0, plan, plan_step

from runbook.events import Event, fold
from runbook.report import run_summary

Ev = tuple[float, str, str | None, dict[str, Any]]


def _events(*events: Ev, rto_s: float | None = 3600.0, mode: str = "live") -> list[Event]:
    chain = MemoryChain()
    the_plan = plan(
        plan_step("a", hosts=("h1", "h2")),
        plan_step("b", needs=("a",), hosts=("h1",)),
        plan_step("c", kind="local"),
        rto_s=rto_s,
    )
    chain.append("RUN", "run_started", ts=T0, data={"mode": mode, "plan": the_plan})
    for at, type, step, data in events:
        body = {k: v for k, v in data.items() if k != "host"}
        chain.append("RUN", type, ts=T0 + at, step=step, host=data.get("host"), data=body)
    return chain.events


def _ok(step: str, at: float) -> list[Ev]:
    return [
        (at - 10, "step_started", step, {"attempt": 1}),
        (at, "step_succeeded", step, {"attempts": 1, "duration_s": 10.0}),
    ]


A_FAILS: list[Ev] = [
    (1, "step_started", "a", {"attempt": 1, "hosts": ["h1", "h2"]}),
    (2, "host_started", "a", {"host": "h2", "attempt": 1, "action": "run"}),
    (3, "host_output", "a", {"host": "h2", "text": "one\ntwo\n\nthree\nfour\nfive\nsix\n"}),
    (4, "host_failed", "a", {"host": "h2", "reason": "exit", "exit_code": 3, "message": ""}),
    (5, "step_failed", "a", {"attempts": 1, "failed_hosts": ["h2"], "reason": "h2: exit 3"}),
    (5, "step_blocked", "b", {"by": ["a"]}),
    *_ok("c", 20),
    (30, "run_finished", None, {"result": "failed"}),
]


def test_a_failed_run_names_the_failure_its_output_and_the_retry() -> None:
    s = run_summary(fold(_events(*A_FAILS)), T0 + 999)
    assert s.result == "failed" and s.duration_s == 30.0  # the clock stops at the end
    assert s.counts_text == "1 succeeded, 1 failed, 1 blocked"
    assert (s.rto_word, s.rto_text) == (
        "not met yet",
        "RTO 1h00m: not met yet (59m30s left before the deadline)",
    )
    [failed] = s.failed
    assert failed.id == "a" and failed.holds_up == 1
    [host] = failed.hosts
    assert host.label == "h2" and host.text == "exit (exit 3)"
    assert host.last_lines == ("two", "three", "four", "five", "six")  # blank lines dropped
    assert s.next_commands[0] == "runbook retry RUN a --resume"
    assert s.lines()[0] == "== run RUN failed in 30s: 1 succeeded, 1 failed, 1 blocked"


def test_never_met_for_a_run_that_did_not_succeed_even_before_the_deadline() -> None:
    for events in (A_FAILS, [*A_FAILS[:-1], (30, "run_finished", None, {"result": "aborted"})]):
        s = run_summary(fold(_events(*events)), T0 + 30)
        assert s.rto_word == "not met yet" and "met with" not in s.rto_text


def test_a_failed_run_past_its_deadline_missed_it() -> None:
    late = [(t * 100 if t > 1 else t, ty, st, d) for t, ty, st, d in A_FAILS]
    s = run_summary(fold(_events(*late, rto_s=600.0)), T0 + 5000)
    assert s.rto_word == "missed"
    assert s.rto_text == "RTO 10m: missed by 40m (not restored)"


def test_a_run_that_succeeded_met_or_missed_its_rto() -> None:
    done: list[Ev] = [*_ok("a", 100), *_ok("b", 200), *_ok("c", 300)]
    met = fold(_events(*done, (300, "run_finished", None, {"result": "succeeded"})))
    s = run_summary(met, T0 + 300)
    assert (s.result, s.rto_word) == ("succeeded", "met")
    assert s.rto_text == "RTO 1h00m: met with 55m to spare"
    assert s.counts_text == "3 succeeded"
    assert s.next_commands == ("runbook export RUN --format html -o RUN.html",)
    late = fold(_events(*done, (300, "run_finished", None, {"result": "succeeded"}), rto_s=240))
    assert run_summary(late, T0 + 300).rto_text == "RTO 4m: missed by 1m"


def test_an_interrupted_run_says_resume_and_a_rehearsal_says_rehearsal() -> None:
    events = [
        *_ok("c", 20),
        (25, "step_started", "a", {"attempt": 1}),
        (26, "run_interrupted", None, {"reason": "SIGINT"}),
    ]
    s = run_summary(fold(_events(*events, mode="rehearsal")), T0 + 500)
    assert s.result == "interrupted" and s.duration_s == 26.0
    assert s.counts_text == "1 succeeded, 1 running, 1 not started"
    assert s.next_commands == ("runbook resume RUN",)
    assert s.lines()[0].startswith("== rehearsal RUN interrupted in 26s")


def test_a_local_step_names_this_machine_never_a_blank() -> None:
    events: list[Ev] = [
        (1, "step_started", "c", {"attempt": 1}),
        (
            2,
            "host_failed",
            "c",
            {"host": "", "reason": "exit", "exit_code": 1, "message": "run exited 1"},
        ),
        (3, "step_failed", "c", {"attempts": 1, "reason": "exit 1"}),
        (4, "run_finished", None, {"result": "failed"}),
    ]
    [failed] = run_summary(fold(_events(*events, rto_s=None)), T0 + 4).failed
    assert [h.label for h in failed.hosts] == ["this machine"]
    assert "     this machine: run exited 1" in run_summary(fold(_events(*events)), T0).lines()


def test_a_run_whose_engine_stopped_without_an_end_is_not_still_running() -> None:
    events: list[Ev] = [*_ok("c", 20), (25, "step_started", "a", {"attempt": 1})]
    watched = run_summary(fold(_events(*events)), T0 + 60)
    assert watched.result == "running" and watched.next_commands[-1] == "runbook status RUN"
    ended = run_summary(fold(_events(*events)), T0 + 60, engine_stopped=True)
    assert ended.result == "stopped" and ended.duration_s == 25.0
    assert ended.next_commands == ("runbook resume RUN",)


def test_a_host_failure_is_said_once() -> None:
    from runbook.report import failure_text

    assert failure_text("exit", "run exited 3", 3) == "run exited 3"
    assert failure_text("exit", "", 3) == "exit (exit 3)"
    assert failure_text("unreachable", "no route to host", None) == "unreachable: no route to host"
    assert failure_text("timeout", "timeout after 1m", None) == "timeout after 1m"
    assert failure_text(None, None, None) == "failed"


def test_a_waiting_step_that_asks_a_value_is_answered_with_it() -> None:
    events: list[Ev] = [
        (1, "step_started", "c", {"attempt": 1}),
        (2, "manual_waiting", "c", {"instructions": "Pick", "input": {"choices": ["a", "b"]}}),
    ]
    s = run_summary(fold(_events(*events)), T0 + 5)
    assert s.waiting == ("c",)
    assert s.next_commands == ("runbook confirm RUN c --value a|b", "runbook status RUN")

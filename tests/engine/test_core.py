"""The engine's decisions in-process: inputs in, events and actions out, no I/O.

Real playbooks are loaded and planned; the core is fed command completions, timer
firings and journal events by hand, as the loop would feed them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from runbook.app import RunRequest, prepare
from runbook.engine import EngineOptions, RenderedWork, TimerHeap
from runbook.engine._core import RunCore
from runbook.engine._jobs import Completion
from runbook.engine._outbox import Ask, Confirm, Emit, Start
from runbook.engine._reactions import answered, react
from runbook.engine._recovery import StepResume
from runbook.engine._start import start_fresh, start_resumed
from runbook.events import Event
from runbook.executors import CommandResult

CHAIN = """\
playbook: chain
steps:
  - id: a
    local: true
    run: "true"
    retries: {retries}
    retry_delay: 30s
  - id: b
    needs: [a]
    local: true
    run: "true"
  - id: c
    needs: [b]
    local: true
    run: "true"
"""


def make_core(tmp_path: Path, text: str, **options: Any) -> tuple[RunCore, TimerHeap]:
    pb = tmp_path / "pb.yml"
    pb.write_text(text)
    inv = tmp_path / "hosts.ini"
    inv.write_text("[web]\nweb1 ansible_host=127.0.0.1\nweb2 ansible_host=127.0.0.1\n")
    forks = options.pop("forks", 50)
    manual = options.pop("manual", None)
    prepared = prepare(RunRequest(pb, (inv,), forks=forks), {})
    hosts = prepared.resolved.inventory.hosts
    work = RenderedWork(prepared.steps, prepared.step_hosts, hosts, prepared.values, "r1", "live")
    timers = TimerHeap()
    core = RunCore(
        plan=prepared.plan,
        steps=prepared.steps,
        work=work,
        timers=timers,
        redactor=prepared.redactor,
        options=EngineOptions(operator="op", forks=forks, **options),
        manual_duration=(lambda sid: 60.0) if manual else None,
    )
    return core, timers


def emitted(core: RunCore) -> list[tuple[str, str | None, str | None]]:
    """The events the core decided since the last call (type, step, host)."""
    return [(e.type, e.step, e.host) for e in core.out.drain() if isinstance(e, Emit)]


def started(core: RunCore, now: float) -> list[Completion]:
    """Start what may start; each started command as a completion that exits `rc` later."""
    core.start_work(now)
    out = core.out.items
    starts = [item for item in out if isinstance(item, Start)]
    return [
        Completion(job, cmd.action, CommandResult(0, 1.0)) for s in starts for job, cmd in s.taken
    ]


def finish(c: Completion, rc: int) -> Completion:
    return Completion(c.job, c.action, CommandResult(rc, 1.0))


def test_a_chain_runs_step_by_step_and_ends_succeeded(tmp_path: Path) -> None:
    core, _ = make_core(tmp_path, CHAIN.format(retries=0))
    start_fresh(core, 0.0)
    for step in ("a", "b", "c"):
        (c,) = started(core, 1.0)
        assert emitted(core) == [("step_started", step, None), ("host_started", step, None)]
        core.completed(finish(c, 0), 2.0)
        assert emitted(core) == [("host_succeeded", step, None), ("step_succeeded", step, None)]
    assert not core.busy() and not core.can_start()
    assert core.result() == "succeeded"


def test_a_failure_blocks_dependents_and_a_retry_lifts_the_block(tmp_path: Path) -> None:
    core, _ = make_core(tmp_path, CHAIN.format(retries=0))
    start_fresh(core, 0.0)
    (c,) = started(core, 1.0)
    core.out.drain()
    core.completed(finish(c, 3), 2.0)
    assert emitted(core) == [
        ("host_failed", "a", None),
        ("step_failed", "a", None),
        ("step_blocked", "b", None),
        ("step_blocked", "c", None),
    ]
    assert core.result() == "failed" and not core.busy()
    retry = Event("r1", 9, "t", "operator_retry", "a", None, {}, "", "")
    react(core, retry, 3.0)
    assert [core.table[s].status for s in "abc"] == ["ready", "pending", "pending"]
    (c,) = started(core, 4.0)
    assert emitted(core)[0] == ("step_started", "a", None)


def test_a_failed_attempt_waits_its_retry_delay_then_runs_again(tmp_path: Path) -> None:
    core, timers = make_core(tmp_path, CHAIN.format(retries=1))
    start_fresh(core, 0.0)
    (c,) = started(core, 0.0)
    core.out.drain()
    core.completed(finish(c, 1), 10.0)
    assert emitted(core)[-1] == ("step_retrying", "a", None)
    assert timers.next_at() == 40.0  # retry_delay 30s after the failure
    core.fire_due(39.0)
    assert core.table["a"].status == "retry_wait"
    core.fire_due(40.0)
    assert emitted(core) == [("step_started", "a", None)]
    assert core.table["a"].attempt == 2


def test_forks_bound_the_commands_running_at_once(tmp_path: Path) -> None:
    text = "playbook: fan\nsteps:\n  - id: s\n    hosts: web\n    run: 'true'\n"
    core, _ = make_core(tmp_path, text, forks=1)
    start_fresh(core, 0.0)
    first = started(core, 0.0)
    assert [c.job.host for c in first] == ["web1"]  # web2 waits for the one slot
    core.out.drain()
    core.completed(finish(first[0], 0), 1.0)
    second = started(core, 1.0)
    assert [c.job.host for c in second] == ["web2"]


def test_a_rehearsed_manual_step_is_answered_through_the_journal(tmp_path: Path) -> None:
    text = "playbook: m\nsteps:\n  - id: call\n    manual: Call the NOC.\n"
    core, timers = make_core(tmp_path, text, auto_answer=True, manual=True)
    start_fresh(core, 0.0)
    core.start_work(0.0)
    assert emitted(core) == [("step_started", "call", None), ("manual_waiting", "call", None)]
    core.fire_due(timers.next_at() or 0.0)
    assert core.out.drain() == [Confirm("call", "done", "", "rehearsal")]


def test_an_operator_answer_to_a_terminal_question_goes_through_the_journal(
    tmp_path: Path,
) -> None:
    text = "playbook: m\nsteps:\n  - id: call\n    manual: Call the NOC.\n"
    core, _ = make_core(tmp_path, text)
    core.can_ask = True
    start_fresh(core, 0.0)
    core.start_work(0.0)
    (ask,) = [i for i in core.out.drain() if isinstance(i, Ask)]
    assert ask.question.choices == ("done", "skip", "fail")
    answered(core, "call", "done", "", "op", 5.0)
    assert core.out.drain() == [Confirm("call", "done", "", "op")]


def test_resume_without_a_terminal_fails_an_uncertain_step_instead_of_rerunning_it(
    tmp_path: Path,
) -> None:
    core, _ = make_core(tmp_path, CHAIN.format(retries=0))
    decisions = {
        "a": StepResume("running", attempt=1, todo=[None], uncertain=[None], decision="ask"),
        "b": StepResume("pending"),
        "c": StepResume("pending"),
    }
    start_resumed(core, decisions, {"a": 0.0}, {}, "op", 100.0)
    assert emitted(core) == [
        ("run_resumed", None, None),
        ("step_failed", "a", None),
        ("step_blocked", "b", None),
        ("step_blocked", "c", None),
    ]
    assert core.table["a"].status == "failed"

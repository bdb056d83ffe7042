"""The run state fold: what status, resume and the forecaster read."""

from __future__ import annotations

from pathlib import Path

from journal_helpers import T0, plan, plan_step, start_run

from runbook.events._event import Event
from runbook.events._fold import TAIL_CHARS, RunState, fold, manual_times
from runbook.journal._store import Journal


def _run(tmp_path: Path) -> tuple[Journal, str]:
    j = Journal(tmp_path / "state.db")
    p = plan(
        plan_step("power", kind="manual", phase="power"),
        plan_step("net", needs=("power",), hosts=("sw1", "sw2"), phase="network"),
        plan_step("dns", needs=("net",), hosts=("dns1",), phase="directory"),
        plan_step("mail", needs=("dns",), hosts=("mx1",), phase="apps"),
        plan_step("wiki", needs=("dns",), hosts=("w1",), phase="apps"),
    )
    return j, start_run(j, p)


def test_a_started_run_lists_every_planned_step_as_pending(tmp_path: Path) -> None:
    j, run_id = _run(tmp_path)
    s = j.state(run_id)
    assert (s.run_id, s.playbook, s.mode, s.status, s.rto_s) == (
        run_id,
        "restore",
        "live",
        "running",
        8 * 3600.0,
    )
    assert list(s.steps) == ["power", "net", "dns", "mail", "wiki"]
    assert s.counts()["pending"] == 5
    assert [(p.name, p.total, p.done) for p in s.phases()] == [
        ("power", 1, 0),
        ("network", 1, 0),
        ("directory", 1, 0),
        ("apps", 2, 0),
    ]
    assert s.holds_up("net") == ["dns", "mail", "wiki"]
    assert s.waiting_on("dns") == ["net"]


def test_manual_wait_and_work_are_kept_apart(tmp_path: Path) -> None:
    j, run_id = _run(tmp_path)
    j.append(run_id, "step_started", ts=T0 + 10, step="power", data={"attempt": 1})
    j.append(run_id, "manual_waiting", ts=T0 + 10, step="power", data={"instructions": "call"})
    s = j.state(run_id).steps["power"]
    assert s.status == "waiting" and s.instructions == "call"
    j.append(run_id, "manual_claimed", ts=T0 + 70, step="power", data={"operator": "bob"})
    s = j.state(run_id).steps["power"]
    assert (s.status, s.claimed_by) == ("claimed", "bob")
    assert manual_times(s, T0 + 370) == (60.0, 300.0, True)
    j.append(
        run_id,
        "manual_answered",
        ts=T0 + 370,
        step="power",
        data={"answer": "done", "operator": "bob", "note": "ok"},
    )
    state = j.state(run_id)
    s = state.steps["power"]
    assert (s.status, s.answer, s.wait_s, s.work_s, s.note) == (
        "succeeded",
        "done",
        60.0,
        300.0,
        "ok",
    )
    assert state.waiting_on("net") == []


def test_an_unclaimed_answer_counts_the_whole_span_as_work(tmp_path: Path) -> None:
    j, run_id = _run(tmp_path)
    j.append(run_id, "manual_waiting", ts=T0 + 10, step="power", data={})
    s = j.state(run_id).steps["power"]
    assert manual_times(s, T0 + 130) == (0.0, 120.0, False)


def test_failure_blocks_and_operator_decisions_release(tmp_path: Path) -> None:
    j, run_id = _run(tmp_path)
    j.append(
        run_id,
        "step_skipped",
        ts=T0,
        step="power",
        data={"reason": "operator", "operator": "a", "note": "n"},
    )
    j.append(
        run_id, "step_started", ts=T0 + 1, step="net", data={"attempt": 1, "hosts": ["sw1", "sw2"]}
    )
    j.append(
        run_id,
        "host_started",
        ts=T0 + 1,
        step="net",
        host="sw1",
        data={"attempt": 1, "action": "run", "command": "x"},
    )
    j.append(
        run_id,
        "host_output",
        ts=T0 + 2,
        step="net",
        host="sw1",
        data={"stream": "stdout", "text": "a" * TAIL_CHARS + "END", "truncated": False},
    )
    j.append(
        run_id,
        "host_succeeded",
        ts=T0 + 3,
        step="net",
        host="sw2",
        data={"attempt": 1, "duration_s": 2.0, "skipped": True},
    )
    j.append(
        run_id,
        "host_failed",
        ts=T0 + 4,
        step="net",
        host="sw1",
        data={
            "attempt": 1,
            "duration_s": 3.0,
            "reason": "exit",
            "exit_code": 3,
            "message": "exit 3",
        },
    )
    j.append(
        run_id,
        "step_failed",
        ts=T0 + 4,
        step="net",
        data={"duration_s": 3.0, "attempts": 1, "failed_hosts": ["sw1"], "reason": "exit"},
    )
    for sid in ("dns", "mail", "wiki"):
        j.append(run_id, "step_blocked", ts=T0 + 4, step=sid, data={"by": ["net"]})
    state = j.state(run_id)
    net = state.steps["net"]
    assert net.status == "failed" and net.failed_hosts == ("sw1",)
    sw1, sw2 = net.host_states["sw1"], net.host_states["sw2"]
    assert (sw1.status, sw1.exit_code, sw2.status) == ("failed", 3, "skipped")
    assert len(sw1.tail) == TAIL_CHARS and sw1.tail.endswith("END") and sw1.tail_cut
    assert [s.id for s in state.with_status("blocked")] == ["dns", "mail", "wiki"]

    j.append(run_id, "operator_retry", ts=T0 + 5, step="net", data={"operator": "bob"})
    state = j.state(run_id)
    assert state.steps["net"].status == "pending" and state.steps["net"].retry_pending
    assert state.counts()["blocked"] == 0

    j.append(run_id, "step_started", ts=T0 + 6, step="net", data={"attempt": 2})
    j.append(run_id, "step_failed", ts=T0 + 7, step="net", data={"attempts": 2})
    j.append(run_id, "step_blocked", ts=T0 + 7, step="dns", data={"by": ["net"]})
    j.append(
        run_id,
        "step_skipped",
        ts=T0 + 8,
        step="net",
        data={"reason": "operator", "operator": "bob", "note": "patched by hand"},
    )
    state = j.state(run_id)
    assert state.steps["net"].status == "skipped" and state.steps["net"].attempts == 2
    assert state.steps["dns"].status == "pending"
    assert state.steps["net"].note == "patched by hand"


def test_run_status_follows_interruptions_resumes_and_the_end(tmp_path: Path) -> None:
    j, run_id = _run(tmp_path)
    j.append(run_id, "run_interrupted", ts=T0 + 1, data={"reason": "SIGINT"})
    assert j.state(run_id).status == "interrupted"
    j.append(run_id, "run_resumed", ts=T0 + 2, data={"operator": "a"})
    assert j.state(run_id).status == "running"
    j.append(run_id, "eta", ts=T0 + 2, data={"p50": "x", "rto_risk": 0.2})
    j.append(run_id, "run_finished", ts=T0 + 3, data={"result": "failed", "counts": {}})
    state = j.state(run_id)
    assert (state.status, state.is_finished, state.finished) == ("failed", True, T0 + 3)
    assert state.eta is not None and state.eta["rto_risk"] == 0.2
    j.append(run_id, "run_resumed", ts=T0 + 4, data={})
    assert j.state(run_id).status == "running" and j.state(run_id).finished is None


def test_expectations_count_down(tmp_path: Path) -> None:
    j, run_id = _run(tmp_path)
    j.append(
        run_id,
        "operator_expect",
        ts=T0 + 100,
        step="dns",
        data={"remaining_s": 600.0, "note": "rebuilding", "operator": "eve"},
    )
    e = j.state(run_id).steps["dns"].expect
    assert e is not None and e.remaining_at(T0 + 400) == 300.0 and e.remaining_at(T0 + 9999) == 0


def test_apply_one_by_one_equals_fold_and_odd_events_are_ignored(tmp_path: Path) -> None:
    j, run_id = _run(tmp_path)
    j.append(run_id, "step_started", ts=T0 + 1, step="unplanned", data={})
    j.append(
        run_id,
        "host_key_accepted",
        ts=T0 + 1,
        host="sw1",
        data={"key_type": "ssh-ed25519", "fingerprint": "SHA256:x"},
    )
    events = j.events(run_id)
    incremental = RunState()
    for e in events:
        incremental.apply(e)
    assert incremental == fold(events)
    assert incremental.steps["unplanned"].status == "running"
    odd = Event(run_id, 99, "2026-11-18T12:00:00.000Z", "from_the_future", None, None, {})
    incremental.apply(odd)
    assert incremental.last_seq == 99 and incremental.status == "running"

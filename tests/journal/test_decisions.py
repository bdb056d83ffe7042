"""Operator decisions through the core functions, on a real journal."""

from __future__ import annotations

from pathlib import Path

import pytest
from journal_helpers import T0, plan, plan_step, start_run

from runbook.clock import VirtualClock, iso
from runbook.errors import InputError, StateError
from runbook.journal._decisions import claim, confirm, expect, operator_name, retry, skip
from runbook.journal._store import Journal


def _run(tmp_path: Path) -> tuple[Journal, str]:
    j = Journal(tmp_path / "state.db")
    p = plan(
        plan_step("power", kind="manual", phase="power"),
        plan_step("net", needs=("power",), hosts=("sw1",)),
        plan_step("dns", needs=("net",), hosts=("dns1",)),
        plan_step("mail", needs=("dns",), hosts=("mx1",)),
        plan_step("apps", kind="manual", needs=("mail",)),
    )
    run_id = start_run(j, p)
    j.append(run_id, "step_started", ts=T0 + 1, step="power", data={"attempt": 1})
    j.append(run_id, "manual_waiting", ts=T0 + 60, step="power", data={"instructions": "call"})
    return j, run_id


def _fail_net(j: Journal, run_id: str, ts: float) -> None:
    j.append(run_id, "step_started", ts=ts, step="net", data={"attempt": 1})
    j.append(run_id, "step_failed", ts=ts, step="net", data={"failed_hosts": ["sw1"]})
    j.append(run_id, "step_blocked", ts=ts, step="dns", data={"by": ["net"]})
    j.append(run_id, "step_blocked", ts=ts, step="mail", data={"by": ["net"]})


def test_claim_then_confirm_records_wait_and_work(tmp_path: Path) -> None:
    j, run_id = _run(tmp_path)
    got = claim(j, run_id, "power", operator="bob", clock=VirtualClock(T0 + 120))
    assert got.events[0].type == "manual_claimed" and "bob claimed step power" in got.message
    with pytest.raises(StateError, match="already claimed by bob"):
        claim(j, run_id, "power", operator="alice", clock=VirtualClock(T0 + 130))
    done = confirm(
        j,
        run_id,
        "power",
        answer="done",
        note="NOC says ok",
        operator="alice",
        clock=VirtualClock(T0 + 420),
    )
    data = done.events[0].data
    assert (data["answer"], data["wait_s"], data["work_s"], data["claimed"]) == (
        "done",
        60.0,
        300.0,
        True,
    )
    assert data["operator"] == "alice" and data["note"] == "NOC says ok"
    assert not done.engine_live
    assert done.message.endswith(f"recorded; continue with: runbook resume {run_id}")
    with pytest.raises(StateError, match=r"already answered \(done\) by alice"):
        confirm(
            j,
            run_id,
            "power",
            answer="skip",
            note=None,
            operator="bob",
            clock=VirtualClock(T0 + 500),
        )


def test_confirm_refuses_what_is_not_waiting(tmp_path: Path) -> None:
    j, run_id = _run(tmp_path)
    clock = VirtualClock(T0 + 100)
    with pytest.raises(StateError, match="did you mean 'power'"):
        confirm(j, run_id, "powr", answer="done", note=None, operator="a", clock=clock)
    with pytest.raises(StateError, match="net is a remote step and is pending"):
        confirm(j, run_id, "net", answer="done", note=None, operator="a", clock=clock)
    with pytest.raises(StateError, match="only manual steps wait for an operator"):
        claim(j, run_id, "net", operator="a", clock=clock)
    with pytest.raises(StateError, match="step apps is pending, not waiting for an answer"):
        confirm(j, run_id, "apps", answer="done", note=None, operator="a", clock=clock)


def test_confirm_without_claim_and_a_skip_answer(tmp_path: Path) -> None:
    j, run_id = _run(tmp_path)
    got = confirm(
        j,
        run_id,
        "power",
        answer="skip",
        note="not ours",
        operator="a",
        clock=VirtualClock(T0 + 160),
    )
    assert (got.events[0].data["wait_s"], got.events[0].data["work_s"]) == (0.0, 100.0)
    assert j.state(run_id).steps["power"].status == "skipped"


def test_time_never_runs_backwards_for_a_run_ahead_of_the_clock(tmp_path: Path) -> None:
    j, run_id = _run(tmp_path)
    j.append(run_id, "manual_claimed", ts=T0 + 3600, step="power", data={"operator": "rehearsal"})
    got = confirm(
        j, run_id, "power", answer="done", note=None, operator="a", clock=VirtualClock(T0)
    )
    assert got.events[0].ts == iso(T0 + 3600)
    assert got.events[0].data["work_s"] == 0.0


def test_retry_a_failed_step_and_a_blocked_one(tmp_path: Path) -> None:
    j, run_id = _run(tmp_path)
    clock = VirtualClock(T0 + 500)
    with pytest.raises(StateError, match="net is pending; only a failed or blocked"):
        retry(j, run_id, "net", operator="a", note=None, clock=clock)
    _fail_net(j, run_id, T0 + 400)
    got = retry(j, run_id, "mail", operator="a", note="cable swapped", clock=clock)
    assert [(e.type, e.step) for e in got.events] == [("operator_retry", "net")]
    assert "mail is blocked by net" in got.message
    state = j.state(run_id)
    assert [state.steps[s].status for s in ("net", "dns", "mail", "apps")] == ["pending"] * 4


def test_skip_needs_a_note_and_releases_blocked_steps(tmp_path: Path) -> None:
    j, run_id = _run(tmp_path)
    _fail_net(j, run_id, T0 + 400)
    clock = VirtualClock(T0 + 500)
    with pytest.raises(InputError, match="--note"):
        skip(j, run_id, "net", note="  ", operator="a", clock=clock)
    with pytest.raises(StateError, match=r"confirm .* power --skip"):
        skip(j, run_id, "power", note="x", operator="a", clock=clock)
    got = skip(j, run_id, "net", note="done by hand", operator="a", clock=clock)
    assert got.events[0].data == {"reason": "operator", "operator": "a", "note": "done by hand"}
    assert j.state(run_id).steps["dns"].status == "pending"


def test_a_failed_run_stays_open_to_retry_and_skip_but_not_to_answers(tmp_path: Path) -> None:
    j, run_id = _run(tmp_path)
    _fail_net(j, run_id, T0 + 400)
    j.append(run_id, "run_finished", ts=T0 + 401, data={"result": "failed"})
    clock = VirtualClock(T0 + 500)
    with pytest.raises(StateError, match=f"run {run_id} finished \\(failed\\) at"):
        confirm(j, run_id, "power", answer="done", note=None, operator="a", clock=clock)
    assert retry(j, run_id, "net", operator="a", note=None, clock=clock).events


def test_a_succeeded_run_refuses_everything(tmp_path: Path) -> None:
    j, run_id = _run(tmp_path)
    j.append(run_id, "run_finished", ts=T0 + 401, data={"result": "succeeded"})
    with pytest.raises(StateError, match=r"finished \(succeeded\) at 2026-11-18T11:13:21.000Z"):
        skip(j, run_id, "net", note="x", operator="a", clock=VirtualClock(T0 + 500))


def test_the_last_answer_of_a_run_tells_the_late_operator_who_answered(tmp_path: Path) -> None:
    # Two operators confirm the last step at once: the first answer finishes the run, the
    # second is told who answered, not only that the run is over.
    j, run_id = _run(tmp_path)
    confirm(
        j, run_id, "power", answer="done", note=None, operator="ann", clock=VirtualClock(T0 + 90)
    )
    j.append(run_id, "run_finished", ts=T0 + 91, data={"result": "succeeded"})
    with pytest.raises(StateError) as err:
        confirm(
            j,
            run_id,
            "power",
            answer="done",
            note=None,
            operator="bob",
            clock=VirtualClock(T0 + 92),
        )
    assert str(err.value) == (
        "step power was already answered (done) by ann at 2026-11-18T11:08:10.000Z; "
        f"run {run_id} finished (succeeded) at 2026-11-18T11:08:11.000Z"
    )


def test_expect_on_running_or_waiting_steps(tmp_path: Path) -> None:
    j, run_id = _run(tmp_path)
    clock = VirtualClock(T0 + 500)
    got = expect(j, run_id, "power", 1200.0, note="NOC calls back", operator="eve", clock=clock)
    assert got.events[0].data == {
        "remaining_s": 1200.0,
        "note": "NOC calls back",
        "operator": "eve",
    }
    assert "20m more" in got.message
    with pytest.raises(StateError, match="net is pending; expect applies"):
        expect(j, run_id, "net", 60.0, note=None, operator="eve", clock=clock)


def test_a_live_engine_is_told_apart_from_none(tmp_path: Path) -> None:
    j, run_id = _run(tmp_path)
    _fail_net(j, run_id, T0 + 400)
    with j.engine_lock(run_id):
        got = retry(j, run_id, "net", operator="a", note=None, clock=VirtualClock(T0 + 500))
    assert got.engine_live and "resume" not in got.message
    assert "the running engine picks it up" in got.message


def test_operator_name_precedence() -> None:
    assert operator_name("  carol ", {"RUNBOOK_OPERATOR": "dave"}) == "carol"
    assert operator_name(None, {"RUNBOOK_OPERATOR": "dave"}) == "dave"
    assert operator_name(None, {}) != ""

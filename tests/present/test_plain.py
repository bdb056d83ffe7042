"""The plain view (stdout not a terminal): one line per committed event, escapes made visible."""

from __future__ import annotations

import io
from pathlib import Path

from runbook.events import Event, fold
from runbook.journal import Journal
from runbook.present._plain import PlainListener, describe

T0 = 1_795_000_000.0  # 2026-11-18 11:06:40 UTC


def journaled(tmp_path: Path) -> list[Event]:
    with Journal(tmp_path / "state.db") as j:
        run = j.new_run("restore", "live", T0)
        add = j.append
        add(
            run,
            "run_started",
            ts=T0,
            data={"playbook": "restore", "mode": "live", "operator": "ana"},
        )
        add(run, "step_started", ts=T0 + 1, step="mail", data={"attempt": 1, "hosts": ["mx-01"]})
        add(
            run,
            "host_started",
            ts=T0 + 1,
            step="mail",
            host="mx-01",
            data={"action": "run", "command": "postfix start"},
        )
        add(
            run,
            "host_output",
            ts=T0 + 2,
            step="mail",
            host="mx-01",
            data={"stream": "stdout", "text": "\x1b[31mred\x1b[0m\nqueue ok\n", "truncated": True},
        )
        add(
            run,
            "host_failed",
            ts=T0 + 3,
            step="mail",
            host="mx-01",
            data={"reason": "exit", "message": "exit 1"},
        )
        add(run, "step_failed", ts=T0 + 3, step="mail", data={"reason": "1 of 1 host(s) failed"})
        add(
            run,
            "manual_waiting",
            ts=T0 + 4,
            step="sign-off",
            data={"instructions": "Call\n the  NOC"},
        )
        add(
            run,
            "run_finished",
            ts=T0 + 5,
            data={"result": "failed", "counts": {"succeeded": 3, "failed": 1, "skipped": 0}},
        )
        return j.events(run)


def lines(events: list[Event], verbosity: int = 0) -> list[str]:
    out = io.StringIO()
    listener = PlainListener(out, verbosity)
    for n, e in enumerate(events, 1):
        listener.event(e, fold(events[:n]))
    return out.getvalue().splitlines()


def test_one_line_per_event_each_with_a_result_word(tmp_path: Path) -> None:
    events = journaled(tmp_path)
    run_id = events[0].run_id
    assert lines(events) == [
        "11:06:40 run_started       restore (live) by ana",
        "11:06:41 step_started     mail attempt 1 on 1 host(s)",
        # Without -v, no commands and no output, but a failed host's error is shown.
        "11:06:43 host_failed      mail@mx-01 failed (exit): exit 1",
        "11:06:43   mail@mx-01 | ^[[31mred^[[0m",  # caret notation, as `cat -v`
        "11:06:43   mail@mx-01 | queue ok",
        "11:06:43 step_failed      mail failed: 1 of 1 host(s) failed",
        "11:06:44 manual_waiting   sign-off Call the NOC  "
        f"[answer: runbook confirm {run_id} sign-off]",
        "11:06:45 run_finished      failed (failed 1, succeeded 3)",  # as journaled: keys sorted
    ]


def test_verbose_shows_the_commands_and_their_output(tmp_path: Path) -> None:
    events = journaled(tmp_path)
    assert lines(events, verbosity=1)[2:7] == [
        "11:06:41 host_started     mail@mx-01 run: postfix start",
        "11:06:42   mail@mx-01 | ^[[31mred^[[0m",
        "11:06:42   mail@mx-01 | queue ok",
        "11:06:42   mail@mx-01 | [... output truncated ...]",
        "11:06:43 host_failed      mail@mx-01 failed (exit): exit 1",
    ]


def test_the_run_ends_with_its_summary(tmp_path: Path) -> None:
    events = journaled(tmp_path)
    run_id = events[0].run_id
    out = io.StringIO()
    listener = PlainListener(out)
    for n, e in enumerate(events, 1):
        listener.event(e, fold(events[:n]))
    listener.close()
    # The summary's facts are the last lines of the output.
    assert out.getvalue().splitlines()[-10:] == [
        f"== run {run_id} failed in 5s: 1 failed, 1 waiting for an operator",
        "   no RTO set",
        "   failed: mail: 1 of 1 host(s) failed",
        "     mx-01: exit 1",
        "       | ^[[31mred^[[0m",
        "       | queue ok",
        "   waiting for an operator: sign-off",
        f"   next: runbook retry {run_id} mail --resume",
        f"     or: runbook skip {run_id} mail --note TEXT",
        f"     or: runbook logs {run_id} mail",
    ]


def test_quiet_keeps_what_needs_someone(tmp_path: Path) -> None:
    assert [line.split()[1] for line in lines(journaled(tmp_path), verbosity=-1)] == [
        "step_failed",
        "manual_waiting",
        "run_finished",
    ]


def test_a_closed_pipe_does_not_stop_the_run(tmp_path: Path) -> None:
    out = io.StringIO()
    out.close()
    events = journaled(tmp_path)
    PlainListener(out).event(events[0], fold(events[:1]))  # no exception


def test_a_step_whose_hosts_decided_at_run_time_are_none_says_so(tmp_path: Path) -> None:
    with Journal(tmp_path / "state.db") as j:
        run = j.new_run("restore", "live", T0)
        data = {"attempt": 1, "hosts": [], "pattern": ""}
        j.append(run, "step_started", ts=T0, step="vms", data=data)
        many = {"attempt": 1, "hosts": [f"vm{i}" for i in range(7)], "pattern": "vms"}
        j.append(run, "step_started", ts=T0, step="apps", data=many)
        events = j.events(run)
    assert [describe(e) for e in events] == [
        "attempt 1 (no host from hosts '')",  # was "attempt 1 ( from hosts '')"
        "attempt 1 on 7 host(s) (vm0, vm1, vm2, vm3, vm4 … from hosts 'vms')",
    ]

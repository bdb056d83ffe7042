"""The live board and the manual prompt in a real pseudo-terminal."""

from __future__ import annotations

import io
from pathlib import Path

import pexpect
from engine_helpers import events, of_type, spawn_tty, write

PLAYBOOK = """
playbook: pty
title: Prompt while another step runs
rto: 1h
vars: {out: OUT}
steps:
  - id: call-noc
    title: Call the NOC
    phase: power
    manual: "Call the NOC and ask about room A."
    estimate: 5m
  - id: background
    title: Runs while the prompt waits
    phase: power
    local: true
    run: "sleep 0.5; echo background >> {{ vars.out }}; echo tick"
  - id: after
    title: After the answer
    phase: apps
    needs: [call-noc]
    local: true
    run: "echo after >> {{ vars.out }}"
"""


def test_manual_prompt_answered_while_a_local_step_runs(tmp_path: Path) -> None:
    out = tmp_path / "out.txt"
    pb = write(tmp_path / "pb.yml", PLAYBOOK.replace("OUT", str(out)))
    child = spawn_tty(tmp_path, "run", str(pb))
    child.expect(r"run \d{8}-\d{4}-[0-9a-f]{4}")
    child.expect("Call the NOC and ask about room A")
    child.expect("Answer done / skip / fail: ")
    # The other step ran to its end while the prompt was waiting for us.
    for _ in range(100):
        if out.exists() and "background" in out.read_text():
            break
        child.expect([pexpect.TIMEOUT], timeout=0.1)
    assert out.read_text().split() == ["background"]
    child.sendline("d")
    child.expect("Note")
    child.sendline("room A is energised")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    assert out.read_text().split() == ["background", "after"]
    evs = events(tmp_path / "state.db")
    answer = of_type(evs, "manual_answered", "call-noc")[0].data
    assert answer["answer"] == "done" and answer["note"] == "room A is energised"
    assert answer["operator"] == "tester"
    assert of_type(evs, "step_succeeded", "background")[0].seq < answer_seq(evs)


def answer_seq(evs: list) -> int:  # type: ignore[type-arg]
    return of_type(evs, "manual_answered")[0].seq


def test_prompt_withdrawn_when_confirmed_elsewhere(tmp_path: Path) -> None:
    from engine_helpers import cli

    out = tmp_path / "out.txt"
    pb = write(tmp_path / "pb.yml", PLAYBOOK.replace("OUT", str(out)))
    child = spawn_tty(tmp_path, "run", str(pb))
    child.expect("Answer done / skip / fail: ")
    r = cli(tmp_path / "state.db", "confirm", "latest", "call-noc", "--operator", "alice")
    assert r.returncode == 0, r.stderr
    child.expect("no answer needed here")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    answer = of_type(events(tmp_path / "state.db"), "manual_answered")[0].data
    assert answer["operator"] == "alice"


def test_ctrl_c_journals_the_interruption_and_exits_130(tmp_path: Path) -> None:
    pb = write(
        tmp_path / "pb.yml",
        """
        playbook: long
        title: Long
        steps:
          - id: long
            title: Long
            phase: p
            local: true
            run: "sleep 60"
        """,
    )
    child = spawn_tty(tmp_path, "run", str(pb))
    child.expect("long")
    for _ in range(100):
        if of_type(events(tmp_path / "state.db"), "host_started"):
            break
        child.expect([pexpect.TIMEOUT], timeout=0.1)
    child.sendintr()
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 130
    evs = events(tmp_path / "state.db")
    assert evs[-1].type == "run_interrupted" and evs[-1].data["reason"] == "SIGINT"


MARKDOWN = PLAYBOOK.replace(
    'manual: "Call the NOC and ask about room A."',
    'manual: "Call the NOC and ask about **room A** (`rack-7`)."',
)
ANSI = r"(?:\x1b\[[0-9;]*m)*"


def test_the_prompt_renders_markdown_shows_steps_that_finish_and_ends_with_the_summary(
    tmp_path: Path,
) -> None:
    out = tmp_path / "out.txt"
    pb = write(tmp_path / "pb.yml", MARKDOWN.replace("OUT", str(out)))
    child = spawn_tty(tmp_path, "run", str(pb))
    child.expect(r"run (\d{8}-\d{4}-[0-9a-f]{4})")
    run_id = child.match.group(1)
    # Markdown rendered: no asterisks or backticks left on the screen.
    child.expect(f"Call the NOC and ask about {ANSI}room A{ANSI} \\({ANSI}rack-7{ANSI}\\)")
    child.expect("Answer done / skip / fail: ")
    # A step that finishes while the question is open is shown as it finishes.
    child.expect(r"background: succeeded in \d+s")
    child.expect("Answer done / skip / fail: ")  # the prompt is put back under it
    child.sendline("done")
    child.expect("Note")
    child.sendline("")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    screen = child.before
    end = screen[screen.rindex("== run") :]
    assert end.startswith(f"== run {run_id} succeeded in ")
    assert ": 3 succeeded" in end and "RTO 1h00m: met with" in end
    assert f"next: runbook export {run_id} --format html" in end
    # The last board drawn before it says no step is still running or waiting.
    last_board = screen[: screen.rindex("== run")].rsplit("ETA", 1)[-1]
    assert "waiting for an operator" not in last_board and "running" not in last_board


def test_ctrl_c_at_the_prompt_ends_with_the_resume_command(tmp_path: Path) -> None:
    out = tmp_path / "out.txt"
    pb = write(tmp_path / "pb.yml", PLAYBOOK.replace("OUT", str(out)))
    child = spawn_tty(tmp_path, "run", str(pb))
    child.expect(r"run (\d{8}-\d{4}-[0-9a-f]{4})")
    run_id = child.match.group(1)
    child.expect("Answer done / skip / fail: ")
    child.sendintr()
    child.expect(f"== run {run_id} interrupted in ")
    child.expect(f"next: runbook resume {run_id}")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 130


FAILING = """
playbook: pty-fail
steps:
  - id: break
    local: true
    run: "echo checking the array; echo disk 3 is gone >&2; exit 3"
"""


def test_a_failed_commands_error_is_shown_live_and_v_shows_the_commands(tmp_path: Path) -> None:
    pb = write(tmp_path / "pb.yml", FAILING)
    child = spawn_tty(tmp_path, "run", str(pb))
    child.logfile_read = seen = io.StringIO()
    child.expect(r"✗ break@this machine failed \(exit: run exited 3\)")
    child.expect("break@this machine \\| checking the array")
    child.expect("break@this machine \\| disk 3 is gone")
    child.expect("== run ")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 1
    assert "break run: echo checking" not in seen.getvalue()  # the command: only with -v

    verbose = spawn_tty(tmp_path, "-v", "run", str(pb))
    verbose.expect("break run: echo checking the array; echo disk 3 is gone >&2; exit 3")
    verbose.expect("break \\| checking the array")
    verbose.expect(pexpect.EOF)
    verbose.close()
    assert verbose.exitstatus == 1

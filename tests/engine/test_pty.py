"""Questions only an operator at a terminal can answer: the `--step` gate, and an
interrupted step nothing else can decide about, both in a real pseudo-terminal."""

from __future__ import annotations

import signal
import time
from pathlib import Path

import pexpect
from engine_helpers import alive, events, of_type, spawn, spawn_tty, step_status, write

GATED = """
playbook: gated
title: Ask before each automated step
vars: {out: OUT}
steps:
  - id: first
    title: First
    phase: p
    local: true
    run: "echo first >> {{ vars.out }}"
  - id: second
    title: Second
    phase: p
    needs: [first]
    local: true
    run: "echo second >> {{ vars.out }}"
  - id: third
    title: Third
    phase: p
    needs: [second]
    local: true
    run: "echo third >> {{ vars.out }}"
"""


def _answer(child: pexpect.spawn, key: str, note: str) -> None:
    """A key answers the console's selected question; Enter sends it with its note."""
    child.send(key)
    child.expect("note for the journal")
    child.send(note + "\r")


def test_step_gate_runs_skips_and_aborts_as_answered(tmp_path: Path) -> None:
    out = tmp_path / "out.txt"
    pb = write(tmp_path / "pb.yml", GATED.replace("OUT", str(out)))
    child = spawn_tty(tmp_path, "run", str(pb), "--step")
    child.expect("next step first")
    child.expect(f"run: echo first >> {out}")  # the operator sees what will run
    child.expect(r"\[r\] run")
    _answer(child, "r", "")
    child.expect("next step second")
    _answer(child, "s", "done by hand")
    child.expect("next step third")
    _answer(child, "a", "")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 1
    assert out.read_text().split() == ["first"]
    evs = events(tmp_path / "state.db")
    assert step_status(evs) == {"first": "succeeded", "second": "skipped", "third": "pending"}
    skipped = of_type(evs, "step_skipped", "second")[0].data
    assert skipped["reason"] == "operator" and skipped["note"] == "done by hand"
    assert skipped["operator"] == "tester"
    assert evs[-1].type == "run_finished" and evs[-1].data["result"] == "aborted"
    assert not of_type(evs, "step_started", "third")


UNCERTAIN = """
playbook: uncertain
title: Killed in the middle of a step nothing can check
vars: {out: OUT}
steps:
  - id: reload
    title: Reload the config (not safe twice, no check)
    phase: p
    local: true
    run: "echo reload >> {{ vars.out }}; sleep 120"
  - id: after
    title: After
    phase: p
    needs: [reload]
    local: true
    run: "echo after >> {{ vars.out }}"
"""


def test_resume_asks_at_the_terminal_about_an_uncertain_step(tmp_path: Path) -> None:
    out = tmp_path / "out.txt"
    pb = write(tmp_path / "pb.yml", UNCERTAIN.replace("OUT", str(out)))
    state = tmp_path / "state.db"
    proc = spawn(state, "run", str(pb))
    deadline = time.monotonic() + 30
    while not (out.exists() and "reload" in out.read_text()):
        assert time.monotonic() < deadline, "the step never started"
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=30)

    child = spawn_tty(tmp_path, "resume", "latest")
    child.expect("interrupted step reload")
    child.expect("`run` was in progress on the control machine")
    child.expect(r"\[r\] rerun")
    _answer(child, "s", "it reloaded, checked by hand")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    assert out.read_text().split() == ["reload", "after"]  # not run a second time
    evs = events(state)
    assert of_type(evs, "run_resumed")[0].data["decisions"] == {"reload": "ask"}
    skipped = of_type(evs, "step_skipped", "reload")[0].data
    assert skipped["note"] == "it reloaded, checked by hand"
    assert step_status(evs) == {"reload": "skipped", "after": "succeeded"}
    # The `sleep` the killed engine left behind was ended before the question was put.
    killed = of_type(evs, "run_resumed")[0].data["orphans_killed"]
    assert len(killed) == 1 and not alive(killed[0]["pgid"])

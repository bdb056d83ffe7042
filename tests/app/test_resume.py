"""Resume after an interruption: rehearsals pick up on their virtual clock, and commands a
SIGKILLed engine left running are ended before anything is decided."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

from engine_helpers import alive, cli, events, of_type, spawn, step_status, wait_for, write

from runbook.clock import parse_iso

REHEARSAL = """
playbook: rehearsal-resume
title: Interrupted rehearsal
steps:
  - id: one
    title: One
    phase: p
    local: true
    run: "touch MUST_NOT_EXIST"
    estimate: 10m
  - id: two
    title: Two
    phase: p
    needs: [one]
    local: true
    run: "touch MUST_NOT_EXIST"
    estimate: 10m
  - id: three
    title: Three, by hand
    phase: p
    needs: [two]
    manual: Look at it.
    estimate: 10m
"""


def test_an_interrupted_rehearsal_resumes_on_its_virtual_clock(tmp_path: Path) -> None:
    never = tmp_path / "ran"
    pb = write(tmp_path / "pb.yml", REHEARSAL.replace("MUST_NOT_EXIST", str(never)))
    state = tmp_path / "state.db"
    proc = spawn(state, "rehearse", str(pb), "--speed", "1200", "--seed", "3")
    wait_for(state, lambda e: bool(of_type(e, "host_started", "two")))
    proc.send_signal(signal.SIGTERM)
    proc.communicate(timeout=30)
    assert proc.returncode == 130
    assert step_status(events(state))["two"] == "running"

    r = cli(state, "resume", "latest")
    assert r.returncode == 0, r.stdout + r.stderr
    evs = events(state)
    resumed = of_type(evs, "run_resumed")[0]
    assert resumed.data["in_flight"] == ["two"]
    assert resumed.data["decisions"] == {"two": "rerun"}  # nothing ran: nothing to ask
    assert len(of_type(evs, "step_started", "one")) == 1  # what finished stays finished
    assert of_type(evs, "manual_answered", "three")[0].data["operator"] == "rehearsal"
    times = [parse_iso(e.ts) for e in evs]
    assert times == sorted(times)
    assert parse_iso(evs[-1].ts) - parse_iso(evs[0].ts) >= 30 * 60  # virtual minutes
    assert not never.exists()
    assert evs[-1].data["result"] == "succeeded"
    assert cli(state, "verify", "latest").returncode == 0


ORPHAN = """
playbook: orphan
title: A command outlives its engine
steps:
  - id: long
    title: Long, not safe to run twice, nothing checks it
    phase: p
    local: true
    run: "echo $$ > PIDFILE; sleep 120"
  - id: after
    title: After
    phase: p
    needs: [long]
    local: true
    run: "true"
"""


def test_resume_ends_commands_a_killed_engine_left_running(tmp_path: Path) -> None:
    pidfile = tmp_path / "pid"
    pb = write(tmp_path / "pb.yml", ORPHAN.replace("PIDFILE", str(pidfile)))
    state = tmp_path / "state.db"
    proc = spawn(state, "run", str(pb))
    deadline = time.monotonic() + 30
    while not (pidfile.exists() and pidfile.read_text().strip()):
        assert time.monotonic() < deadline, "the command never started"
        time.sleep(0.05)
    pid = int(pidfile.read_text())
    proc.kill()  # SIGKILL: no chance to clean up
    proc.communicate(timeout=30)
    try:
        assert alive(pid)  # the orphan: its own process group, nobody watching it

        r = cli(state, "resume", "latest")  # no terminal: nobody can decide about `long`
        assert r.returncode == 1, r.stdout + r.stderr
        assert not alive(pid)
        evs = events(state)
        killed = of_type(evs, "run_resumed")[0].data["orphans_killed"]
        assert [k["pgid"] for k in killed] == [pid]
        assert "sleep 120" in killed[0]["command"]
        assert step_status(evs)["long"] == "failed"
        failed = of_type(evs, "step_failed", "long")[0].data
        assert "needs an operator decision" in failed["reason"]
    finally:
        if alive(pid):
            os.killpg(pid, signal.SIGKILL)


def test_resume_refuses_a_host_gone_from_the_inventory_naming_step_and_host(
    tmp_path: Path,
) -> None:
    """A host the run planned for a step not started yet was removed from the inventory:
    `resume` says which, before journaling anything (it used to stop half-way with a
    template error, "'host' is undefined"); skipping that step lets the run go on."""
    state = tmp_path / "state.db"
    inv = write(
        tmp_path / "inv.yml",
        """
        all:
          hosts:
            web1: {ansible_host: 127.0.0.1, ansible_port: 1}
            web2: {ansible_host: 127.0.0.1, ansible_port: 1}
        """,
    )
    pb = write(
        tmp_path / "pb.yml",
        """
        playbook: gone
        title: A host leaves the inventory
        steps:
          - {id: first, title: First, local: true, run: "exit 3"}
          - {id: web, title: Web, hosts: all, needs: [first], run: "echo {{ host.name }}"}
        """,
    )
    assert cli(state, "run", str(pb), "-i", str(inv)).returncode == 1
    inv.write_text(
        inv.read_text().replace("    web2: {ansible_host: 127.0.0.1, ansible_port: 1}\n", "")
    )
    assert cli(state, "skip", "latest", "first", "--note", "done by hand").returncode == 0
    before = len(events(state))
    r = cli(state, "resume", "latest")
    assert r.returncode == 2, r.stdout + r.stderr
    assert "no longer in the inventory (web: web2)" in r.stderr, r.stderr
    assert "Traceback" not in r.stdout + r.stderr
    assert len(events(state)) == before
    assert cli(state, "skip", "latest", "web", "--note", "web2 is gone").returncode == 0
    r = cli(state, "resume", "latest")
    assert r.returncode == 0, r.stdout + r.stderr

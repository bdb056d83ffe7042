"""A remote command outlives its killed engine (closing SSH kills nothing on the host);
`resume` ends it before deciding what was in flight, and journals what it ended."""

from __future__ import annotations

import time
import uuid
from pathlib import Path

import sshd
from engine_helpers import alive, cli, events, of_type, spawn, step_status, write

from runbook.errors import NoJournal, StateError

A_ORPHAN = 26  # the shared server's address for this module


def _remote_pid(state: Path, deadline: float) -> int:
    """The remote shell's pid, from the step's first output line (`pid=NNN`)."""
    while time.monotonic() < deadline:
        try:
            evs = events(state)
        except (NoJournal, StateError):  # the engine has not created it, or its run, yet
            evs = []
        text = "".join(e.data.get("text", "") for e in of_type(evs, "host_output"))
        for line in text.splitlines():
            if line.startswith("pid="):
                return int(line[4:])
        time.sleep(0.1)
    raise AssertionError("the remote command never reported its pid")


def test_resume_ends_remote_commands_a_killed_engine_left_running(
    sshd_server: sshd.Sshd, ssh_env: dict[str, str], tmp_path: Path
) -> None:
    token = str(300 + uuid.uuid4().int % 600)  # a sleep length no other test uses
    inv = tmp_path / "hosts.yml"
    inv.write_text(sshd_server.inventory_of({"db01": sshd_server.addresses[A_ORPHAN]}))
    pb = write(
        tmp_path / "pb.yml",
        f"""
        playbook: remote-orphan
        title: A remote command outlives its engine
        steps:
          - id: rebuild
            title: Long, not safe to run twice
            hosts: db01
            run: "echo pid=$$; sleep {token}"
        """,
    )
    state = tmp_path / "state.db"
    engine = spawn(state, "run", str(pb), "-i", str(inv), extra_env=ssh_env)
    try:
        pid = _remote_pid(state, time.monotonic() + 30)
        engine.kill()  # SIGKILL: its SSH connection just closes
        engine.communicate(timeout=30)
        time.sleep(0.5)
        assert alive(pid), "the remote command should outlive its engine"

        r = cli(state, "resume", "latest", extra_env=ssh_env)
        assert r.returncode == 1, r.stdout[-2000:] + r.stderr[-2000:]  # `rebuild`: a decision
        assert not sshd.wait_gone(f"sleep {token}"), "the orphan is still running"
        assert "ended 1 command(s) the dead engine left running (db01)" in r.stdout
        evs = events(state)
        killed = of_type(evs, "run_resumed")[0].data["orphans_killed"]
        assert [(k["host"], k["pgid"]) for k in killed] == [("db01", pid)]
        assert f"sleep {token}" in killed[0]["command"]
        assert step_status(evs)["rebuild"] == "failed"
    finally:
        if engine.poll() is None:
            engine.kill()
        sshd.kill_matching(f"sleep {token}")

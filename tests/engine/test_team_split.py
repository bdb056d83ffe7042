"""Several live engines on one run (team mode, PostgreSQL): each claims steps one by one
and follows the others' through the journal; one that dies has its steps taken over.
Real engines (`runbook run` / `runbook join` processes), the real private cluster, short
leases (3 s); what is asserted is what an operator relies on: every step ran exactly
once (an idempotent one in flight at a death: at most twice), both engines did work,
the run ended once, the chain verifies."""

from __future__ import annotations

import json
import signal
import time
from pathlib import Path

from engine_helpers import cli, events, of_type, spawn, wait_for, write

from runbook.clock import parse_iso

LEASE = "3s"
SHARED = """
playbook: shared
title: Four independent steps, then one
steps:
  - {id: a1, title: A1, phase: p, local: true, run: "sleep 3; echo a1 >> OUT"}
  - {id: a2, title: A2, phase: p, local: true, run: "sleep 3; echo a2 >> OUT"}
  - {id: a3, title: A3, phase: p, local: true, run: "sleep 3; echo a3 >> OUT"}
  - {id: a4, title: A4, phase: p, local: true, run: "sleep 3; echo a4 >> OUT"}
  - {id: last, title: Last, phase: p, local: true, needs: [a1, a2, a3, a4], run: "echo last >> OUT"}
"""


def _finish(proc: object, timeout: float = 90) -> tuple[int, str]:
    stdout, stderr = proc.communicate(timeout=timeout)  # type: ignore[attr-defined]
    return proc.returncode, stdout + stderr  # type: ignore[attr-defined]


def _start_two(pg_url: str, tmp_path: Path, text: str) -> tuple[Path, object, object, str]:
    """`run` one step at a time, and `join` beside it as soon as its first step runs."""
    out = tmp_path / "out.txt"
    delay = tmp_path / "delay"
    delay.write_text("60")  # a_once's first run lasts until the test says otherwise
    pb = write(tmp_path / "pb.yml", text.replace("OUT", str(out)).replace("DELAY", str(delay)))
    first = spawn(pg_url, "run", str(pb), "--lease", LEASE, "--concurrency", "1", cwd=tmp_path)
    evs = wait_for(pg_url, lambda e: bool(of_type(e, "host_started")), timeout=90)
    run_id = evs[0].run_id
    second = spawn(pg_url, "join", run_id, "--lease", LEASE, "--concurrency", "1", cwd=tmp_path)
    return out, first, second, run_id


def test_two_live_engines_share_a_run_each_step_once(pg_url: str, tmp_path: Path) -> None:
    out, first, second, run_id = _start_two(pg_url, tmp_path, SHARED)
    assert _finish(first)[0] == 0
    assert _finish(second)[0] == 0
    evs = events(pg_url, run_id)
    joined = [e.data["engine"] for e in of_type(evs, "engine_joined")]
    assert len(joined) == 2
    claimed = {e.step: e.data["engine"] for e in of_type(evs, "work_claimed")}
    assert sorted(claimed) == ["a1", "a2", "a3", "a4", "last"]
    assert set(claimed.values()) == set(joined)  # both engines ran steps
    assert sorted(out.read_text().split()) == ["a1", "a2", "a3", "a4", "last"]
    assert [e.data["result"] for e in of_type(evs, "run_finished")] == ["succeeded"]
    assert sorted(e.data["engine"] for e in of_type(evs, "engine_left")) == sorted(joined)
    assert cli(pg_url, "verify", run_id).returncode == 0


KILLED = """
playbook: killed
title: A non-idempotent step in flight on the engine that dies
steps:
  - id: a_once
    title: Not safe to run twice; skip_if tells whether it ran
    phase: p
    local: true
    skip_if: "grep -qx a_once OUT"
    run: "sleep $(cat DELAY); echo a_once >> OUT"
  - {id: b_twice, title: B, phase: p, local: true, idempotent: true,
     run: "sleep 4; echo b_twice >> OUT"}
  - {id: c_after, title: C, phase: p, local: true, needs: [a_once, b_twice],
     run: "echo c_after >> OUT"}
"""


def test_a_killed_engine_of_two_has_its_steps_taken_over_never_twice(
    pg_url: str, tmp_path: Path
) -> None:
    out, first, second, run_id = _start_two(pg_url, tmp_path, KILLED)
    wait_for(pg_url, lambda e: bool(of_type(e, "host_started", "b_twice")), timeout=90)
    first.kill()  # type: ignore[attr-defined]  # mid a_once, while the other runs b_twice
    killed_at = time.time()
    (tmp_path / "delay").write_text("1")  # a second run of a_once would be quick
    _finish(first)
    code, text = _finish(second)
    assert code == 0, text
    evs = events(pg_url, run_id)
    dead, alive = (e.data["engine"] for e in of_type(evs, "engine_joined"))
    (ended,) = [e.data for e in of_type(evs, "engine_left") if e.data["engine"] == dead]
    assert ended["reason"] == "lease expired" and ended["ended_by"] == alive
    a_once = of_type(evs, "work_claimed", "a_once")
    assert [(c.data["engine"], c.data["fence"]) for c in a_once] == [(dead, 1), (alive, 2)]
    assert a_once[1].data["from"] == dead and a_once[1].data["decision"] == "verify"
    # its `sleep` was ended first (only its: the other engine's b_twice ran on)
    assert "sleep" in a_once[1].data["orphans_killed"][0]["command"]
    assert parse_iso(a_once[1].ts) - killed_at <= 3 + 10
    assert sorted(out.read_text().split()) == ["a_once", "b_twice", "c_after"]
    assert [e.data["result"] for e in of_type(evs, "run_finished")] == ["succeeded"]
    assert cli(pg_url, "verify", run_id).returncode == 0


COPIES = """
playbook: copies
title: A file put on the hosts
steps:
  - {id: wait, title: Wait, phase: p, local: true, run: "sleep 60"}
  - id: push
    title: Push the config
    phase: p
    needs: [wait]
    hosts: all
    copy: {src: files/app.conf, dest: /tmp/app.conf}
"""


def test_join_refuses_a_copy_src_file_that_differs(pg_url: str, tmp_path: Path) -> None:
    (tmp_path / "files").mkdir()
    conf = tmp_path / "files" / "app.conf"
    conf.write_text("port=1\n")
    inv = write(tmp_path / "hosts.yml", "all:\n  hosts:\n    web1: {ansible_host: 127.0.0.1}\n")
    pb = write(tmp_path / "copies.yml", COPIES)
    engine = spawn(pg_url, "run", str(pb), "-i", str(inv), "--lease", LEASE, cwd=tmp_path)
    evs = wait_for(pg_url, lambda e: bool(of_type(e, "host_started", "wait")), timeout=90)
    engine.terminate()  # type: ignore[attr-defined]
    assert _finish(engine)[0] == 130  # interrupted: no engine works on it now
    conf.write_text("port=2\n")  # the playbook's file is as it was; the copied one is not
    refused = cli(pg_url, "join", evs[0].run_id, cwd=tmp_path)
    assert refused.returncode == 2, refused.stdout + refused.stderr
    assert "copy.src" in refused.stderr and "differs" in refused.stderr


def test_ctrl_c_on_one_of_two_engines_hands_its_steps_over_at_once(
    pg_url: str, tmp_path: Path
) -> None:
    out, first, second, run_id = _start_two(pg_url, tmp_path, KILLED)
    wait_for(pg_url, lambda e: bool(of_type(e, "host_started", "b_twice")), timeout=90)
    (tmp_path / "delay").write_text("1")  # a second run of a_once would be quick
    first.send_signal(signal.SIGINT)  # type: ignore[attr-defined]  # mid a_once
    assert _finish(first)[0] == 130
    code, text = _finish(second)
    assert code == 0, text
    evs = events(pg_url, run_id)
    gone, stays = (e.data["engine"] for e in of_type(evs, "engine_joined"))
    (left,) = [e.data for e in of_type(evs, "engine_left") if e.data["engine"] == gone]
    assert left["reason"] == "SIGINT" and left["released"] == ["a_once"]
    assert not of_type(evs, "run_interrupted")  # the other engine went on
    taken = of_type(evs, "work_claimed", "a_once")[-1].data
    assert (taken["engine"], taken["from"], taken["fence"]) == (stays, gone, 2)
    assert sorted(out.read_text().split()) == ["a_once", "b_twice", "c_after"]
    assert [e.data["result"] for e in of_type(evs, "run_finished")] == ["succeeded"]


ZONES = """
playbook: zones
title: A step across two zones
steps:
  - {id: first, title: First, phase: p, local: true, idempotent: true,
     run: "sleep $(cat DELAY)"}
  - {id: both, title: Both zones, phase: p, needs: [first], hosts: "web1,db1", run: "true"}
"""


def test_a_step_no_live_engine_reaches_waits_and_status_names_its_hosts(
    pg_url: str, tmp_path: Path
) -> None:
    delay = tmp_path / "delay"
    delay.write_text("60")
    inv = write(
        tmp_path / "hosts.yml",
        "all:\n  hosts:\n    web1: {ansible_host: 127.0.0.1, ansible_port: 1}\n"
        "    db1: {ansible_host: 127.0.0.1, ansible_port: 1}\n",
    )
    pb = write(tmp_path / "zones.yml", ZONES.replace("DELAY", str(delay)))
    engine = spawn(pg_url, "run", str(pb), "-i", str(inv), "--lease", LEASE, cwd=tmp_path)
    evs = wait_for(pg_url, lambda e: bool(of_type(e, "host_started", "first")), timeout=90)
    engine.terminate()  # type: ignore[attr-defined]
    assert _finish(engine)[0] == 130
    delay.write_text("0")
    # The only engine now reaches web1 alone: `both` is for an engine that reaches db1.
    joined = spawn(pg_url, "join", evs[0].run_id, "--limit", "web1", "--lease", LEASE, cwd=tmp_path)
    try:
        wait_for(pg_url, lambda e: bool(of_type(e, "step_succeeded", "first")), timeout=90)
        doc = json.loads(cli(pg_url, "status", "latest", "--format", "json").stdout)
        (both,) = [s for s in doc["steps"] if s["id"] == "both"]
        assert both["status"] == "pending" and both["unclaimable"]["hosts"] == ["db1"]
        text = cli(pg_url, "status", "latest").stdout
        assert "both" in text and "no live engine reaches db1" in text, text
    finally:
        joined.terminate()  # type: ignore[attr-defined]
        assert _finish(joined)[0] == 130
    evs = events(pg_url, evs[0].run_id)
    assert of_type(evs, "engine_joined")[-1].data["reach"] == ["web1"]
    assert not of_type(evs, "work_claimed", "both")

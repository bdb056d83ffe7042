"""Group commit: `Journal.append_many` stores a batch as one chain link after another."""

from __future__ import annotations

from pathlib import Path

import pytest
from engine_helpers import cli, events, of_type, write

from runbook.clock import parse_iso
from runbook.errors import StateError
from runbook.journal._chain import verify_chain
from runbook.journal._rows import Draft
from runbook.journal._store import Journal


def test_a_batch_chains_exactly_like_single_appends(tmp_path: Path) -> None:
    with Journal(tmp_path / "state.db") as j:
        run = j.new_run("pb", "live", 1000.0)
        j.append(run, "run_started", ts=1000.0, data={"playbook": "pb"})
        batch = j.append_many(
            run,
            [
                Draft("step_started", 1001.0, "a", None, {"attempt": 1}),
                Draft("host_started", 1001.0, "a", "h1", {"action": "run", "command": "true"}),
                Draft("host_succeeded", 999.0, "a", "h1", {"duration_s": 0.5}),  # clock skew
            ],
        )
        j.append(run, "step_succeeded", ts=1002.0, step="a", data={"attempts": 1})
        stored = j.events(run)
    assert [e.seq for e in stored] == [1, 2, 3, 4, 5]
    assert stored[1:4] == batch  # what the engine holds is what was stored
    assert verify_chain(stored).ok
    times = [parse_iso(e.ts) for e in stored]
    assert times == sorted(times)  # an earlier time is raised to the last one, as in append


def test_a_batch_is_stored_whole_or_not_at_all(tmp_path: Path) -> None:
    with Journal(tmp_path / "state.db") as j:
        run = j.new_run("pb", "live", 1000.0)
        j.append(run, "run_started", ts=1000.0)
        with pytest.raises(ValueError, match="unknown journal event type"):
            j.append_many(run, [Draft("step_started", 1001.0, "a"), Draft("bogus", 1001.0)])
        with pytest.raises(StateError):
            j.append_many("no-such-run", [Draft("eta", 1001.0)])
        assert j.append_many(run, []) == []
        assert [e.type for e in j.events(run)] == ["run_started"]


def test_a_wide_fan_out_commits_in_batches_and_verifies(tmp_path: Path) -> None:
    steps = "".join(
        f"""
  - id: s{i}
    title: Step {i}
    phase: p
    local: true
    run: "echo {i}"
"""
        for i in range(40)
    )
    pb = write(tmp_path / "pb.yml", f"playbook: wide\ntitle: Wide\nsteps:{steps}")
    state = tmp_path / "state.db"
    r = cli(state, "run", str(pb))
    assert r.returncode == 0, r.stderr
    evs = events(state)
    seq = {(e.type, e.step): e.seq for e in evs}
    for i in range(40):
        s = f"s{i}"
        assert seq[("step_started", s)] < seq[("host_started", s)] < seq[("host_output", s)]
        assert seq[("host_output", s)] < seq[("host_succeeded", s)] < seq[("step_succeeded", s)]
    assert len(of_type(evs, "step_succeeded")) == 40
    assert cli(state, "verify", "latest").returncode == 0

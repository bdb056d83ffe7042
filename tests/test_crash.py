"""Crash safety (docs/commands.md: resume): SIGKILL the engine at many points, resume each time.

The engine reads RUNBOOK_TEST_KILL_AFTER_EVENT=N in one place and kills itself with
SIGKILL right after committing its Nth event of the process, i.e. at the worst moment:
the transition is journaled, the action it announces has not happened yet. Every step
appends its id to a file; after all the crashes, steps that may not run twice appear
exactly once and the hash chain verifies after every resume.
"""

from __future__ import annotations

import random
from collections import Counter
from pathlib import Path

from engine_helpers import cli, events, write

from runbook.events._event import GENESIS_HASH, event_hash
from runbook.events._fold import fold

PLAYBOOK = """
playbook: crash
title: Crash and resume
defaults: {timeout: 30s, retry_delay: 0s}
steps:
  - id: s1-ask
    title: No check at all, an operator decides
    phase: one
    local: true
    run: "echo s1-ask >> LINES"
  - id: s2-skip-if
    title: skip_if decides
    phase: two
    needs: [s1-ask]
    local: true
    skip_if: "grep -qx s2-skip-if LINES"
    run: "echo s2-skip-if >> LINES"
  - id: s3-verify
    title: verify decides
    phase: two
    needs: [s1-ask]
    local: true
    run: "echo s3-verify >> LINES"
    verify: "grep -qx s3-verify LINES"
  - id: s4-idempotent
    title: Safe to run again
    phase: two
    needs: [s1-ask]
    local: true
    idempotent: true
    run: "echo s4-idempotent >> LINES"
  - id: s5-until
    title: Polls until
    phase: three
    needs: [s2-skip-if, s3-verify]
    local: true
    run: "echo s5-until >> LINES"
    until: "grep -qx s5-until LINES"
    every: 0.05s
    verify: "grep -qx s5-until LINES"
  - id: s6-ask
    title: Another operator decision
    phase: three
    needs: [s4-idempotent]
    local: true
    run: "echo s6-ask >> LINES"
  - id: s7-last
    title: The end
    phase: four
    needs: [s5-until, s6-ask]
    local: true
    skip_if: "grep -qx s7-last LINES"
    run: "echo s7-last >> LINES"
"""
EXACTLY_ONCE = ("s1-ask", "s2-skip-if", "s3-verify", "s5-until", "s6-ask", "s7-last")


def _chain_ok(evs: list) -> None:  # type: ignore[type-arg]
    prev = GENESIS_HASH
    for i, e in enumerate(evs, 1):
        assert e.seq == i and e.prev_hash == prev and event_hash(e) == e.hash, e
        prev = e.hash


def _decide(state: Path, lines: Path) -> None:
    """What an operator does with steps left failed by a crash: look, then skip or retry."""
    st = fold(events(state))
    for sid, s in st.steps.items():
        if s.status != "failed":
            continue
        reason = str(s.reason or "") + " ".join(
            str(h.message or "") for h in s.host_states.values()
        )
        assert "interrupted" in reason or "operator decision" in reason, (sid, reason)
        done = sid in lines.read_text().split() if lines.exists() else False
        if done:
            assert cli(state, "skip", "latest", sid, "--note", "it ran").returncode == 0
        else:
            assert cli(state, "retry", "latest", sid).returncode == 0


def _drive(folder: Path, rng: random.Random) -> int:
    """One run, killed again and again until it finishes; returns how many kills."""
    folder.mkdir()
    lines = folder / "lines"
    pb = write(folder / "pb.yml", PLAYBOOK.replace("LINES", str(lines)))
    state = folder / "state.db"
    kills = 0
    args = ["run", str(pb)]
    for attempt in range(60):
        kill_env = (
            {"RUNBOOK_TEST_KILL_AFTER_EVENT": str(rng.randint(2, 10))} if attempt < 40 else {}
        )
        r = cli(state, *args, extra_env=kill_env)
        args = ["resume", "latest"]
        if r.returncode == -9:
            kills += 1
        else:
            assert r.returncode in (0, 1), r.stderr
        if not state.exists() or not _has_run(state):
            args = ["run", str(pb)]  # killed before the run existed: start again
            continue
        evs = events(state)
        _chain_ok(evs)
        if fold(evs).status == "succeeded":
            break
        _decide(state, lines)  # the operator looks at `status` after each crash
    else:
        raise AssertionError("the run never finished")
    counts = Counter(lines.read_text().split())
    for sid in EXACTLY_ONCE:
        assert counts[sid] == 1, (sid, counts)
    assert counts["s4-idempotent"] >= 1
    assert cli(state, "verify", "latest").returncode == 0
    return kills


def _has_run(state: Path) -> bool:
    try:
        return bool(events(state))
    except Exception:
        return False


def test_sigkill_at_many_points_then_resume(tmp_path: Path) -> None:
    rng = random.Random(20261129)
    kills = 0
    for n in range(10):
        if kills >= 30:
            break
        kills += _drive(tmp_path / f"run{n}", rng)
    assert kills >= 30

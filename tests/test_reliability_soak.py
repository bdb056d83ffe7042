"""Long runs: a big rehearsal, and a real run of many local steps with failures, retries,
operator retries and SIGKILL crashes in the middle, resumed until done. Nothing is lost,
nothing with effects runs twice unasked, and the hash chain verifies.

Default sizes keep `make test` quick (500-step rehearsal, 60 local steps); the sizes of
issue 7 (5,000 and 500) run with --runslow. Wall times are printed (`-s`).
"""

from __future__ import annotations

import random
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pytest
from engine_helpers import cli, events, of_type

from runbook.events._event import GENESIS_HASH, Event, event_hash
from runbook.events._fold import fold


def _chain_ok(evs: list[Event]) -> None:
    prev = GENESIS_HASH
    for n, e in enumerate(evs, 1):
        assert e.seq == n and e.prev_hash == prev and event_hash(e) == e.hash, e
        prev = e.hash


def _needs(rng: random.Random, i: int, width: int) -> str:
    """`needs: [...]` on up to three earlier steps, mostly recent ones (long chains with
    wide waves); nothing for the first steps."""
    if i < 4:
        return ""
    picked = sorted({i - rng.randint(1, min(i, 12)) for _ in range(rng.randint(1, 3))})
    return "needs: [" + ", ".join(f"s{j:0{width}d}" for j in picked) + "], "


# -- rehearsal -------------------------------------------------------------------------


def _rehearsal_playbook(folder: Path, n: int, seed: int) -> tuple[Path, Path]:
    rng = random.Random(seed)
    inv = folder / "hosts.ini"
    inv.write_text(
        "[web]\nweb[01:20].example.test\n[db]\ndb[1:4].example.test\n[all:vars]\nansible_user=ops\n"
    )
    lines = ["playbook: big-rehearsal", "title: Big rehearsal", "rto: 3d", "steps:"]
    for i in range(n):
        needs = _needs(rng, i, 5)
        kind = rng.random()
        body = (
            "manual: 'Check the room.'"
            if kind < 0.1
            else "hosts: web, run: 'systemctl restart app', parallel: 5"
            if kind < 0.3
            else "hosts: db, run: 'pg_isready'"
            if kind < 0.4
            else "local: true, run: 'true'"
        )
        est = rng.choice(["2m", "10m", "{min: 1m, likely: 5m, max: 30m}"])
        lines.append(
            f"  - {{id: s{i:05d}, title: Step {i}, phase: p{i // 250}, {needs}"
            f"{body}, estimate: {est}}}"
        )
    pb = folder / "pb.yml"
    pb.write_text("\n".join(lines) + "\n")
    return pb, inv


def _rehearse(tmp_path: Path, n: int) -> None:
    pb, inv = _rehearsal_playbook(tmp_path, n, seed=n)
    state = tmp_path / "state.db"
    t0 = time.monotonic()
    r = cli(
        state, "rehearse", str(pb), "-i", str(inv), "--speed", "max", "--seed", "7", timeout=1200
    )
    took = time.monotonic() - t0
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    evs = events(state)
    _chain_ok(evs)
    print(f"\nrehearsal of {n} steps: {took:.1f}s wall, {len(evs)} events")
    assert len(of_type(evs, "step_succeeded")) == n
    assert fold(evs).status == "succeeded"
    assert len(of_type(evs, "eta")) >= 2
    assert cli(state, "verify", "latest").returncode == 0


def test_rehearsal_of_500_steps(tmp_path: Path) -> None:
    _rehearse(tmp_path, 500)


@pytest.mark.slow
def test_rehearsal_of_5000_steps(tmp_path: Path) -> None:
    _rehearse(tmp_path, 5000)


# -- a real run with failures, retries and crashes ---------------------------------------


@dataclass(frozen=True)
class Spec:
    """One generated step: how many of its first runs fail, and how resume decides."""

    id: str
    fails_first: int  # its first N runs exit 1
    decide: str  # "verify" | "idempotent" | "ask"


def _real_playbook(folder: Path, n: int, seed: int) -> tuple[Path, Path, list[Spec]]:
    rng = random.Random(seed)
    marks = folder / "marks"
    lines = [
        "playbook: soak",
        "title: Soak",
        "defaults: {timeout: 30s, retries: 2, retry_delay: 0s}",
        "steps:",
    ]
    specs = []
    for i in range(n):
        sid = f"s{i:04d}"
        fails = rng.choices([0, 1, 3], weights=[80, 15, 5])[0]
        decide = rng.choices(["verify", "idempotent", "ask"], weights=[60, 30, 10])[0]
        if decide == "ask":
            fails = 0  # an operator decides those from the marks file: keep it readable
        specs.append(Spec(sid, fails, decide))
        count = f"$(grep -cx {sid} {marks})"
        extra = ""
        if decide == "verify":
            extra = f", verify: 'test {count} -gt {fails}'"
        elif decide == "idempotent":
            extra = ", idempotent: true"
        needs = _needs(rng, i, 4)
        lines.append(
            f"  - {{id: {sid}, title: Step {i}, phase: p{i // 50}, {needs}"
            f"local: true, run: 'echo {sid} >> {marks}; echo working on {sid}; sleep 0.02; "
            f"test {count} -gt {fails}'{extra}}}"
        )
    pb = folder / "pb.yml"
    pb.write_text("\n".join(lines) + "\n")
    return pb, marks, specs


def _operator_pass(state: Path, marks: Path, specs: dict[str, Spec]) -> int:
    """What the operator does after each stop: retry failed steps, or skip a step with no
    check of its own that did its work before a crash. Returns how many decisions."""
    st = fold(events(state))
    ran = Counter(marks.read_text().split()) if marks.exists() else Counter()
    made = 0
    for sid, s in sorted(st.steps.items()):
        if s.status != "failed":
            continue
        interrupted = "interrupted" in str(s.reason or "")
        if interrupted and specs[sid].decide == "ask" and ran[sid]:
            r = cli(state, "skip", "latest", sid, "--note", "its work was done before the crash")
        else:
            r = cli(state, "retry", "latest", sid)
        assert r.returncode == 0, r.stderr
        made += 1
    return made


def _soak(tmp_path: Path, n: int, crashes: int) -> None:
    pb, marks, specs = _real_playbook(tmp_path, n, seed=n)
    state = tmp_path / "state.db"
    rng = random.Random(n)
    args = ["run", str(pb)]
    kills = decisions = rounds = 0
    t0 = time.monotonic()
    while True:
        rounds += 1
        assert rounds < 40 + n // 5, "the run never finished"
        extra = {}
        if kills < crashes:  # die after a random commit of this invocation
            extra = {"RUNBOOK_TEST_KILL_AFTER_EVENT": str(rng.randint(10, max(20, n)))}
        r = cli(state, *args, extra_env=extra, timeout=600)
        args = ["resume", "latest"]
        evs = events(state)
        _chain_ok(evs)
        if r.returncode == -9:
            kills += 1
            continue
        assert r.returncode in (0, 1), r.stdout[-2000:] + r.stderr[-2000:]
        if fold(evs).status == "succeeded":
            break
        decisions += _operator_pass(state, marks, {x.id: x for x in specs})
    took = time.monotonic() - t0
    evs = events(state)
    ran = Counter(marks.read_text().split())
    starts = Counter(e.step for e in of_type(evs, "host_started") if e.data["action"] == "run")
    retries = len(of_type(evs, "step_retrying"))
    print(
        f"\nsoak of {n} local steps: {took:.1f}s wall, {len(evs)} events, {kills} crashes, "
        f"{retries} automatic retries, {decisions} operator decisions, {rounds} invocations"
    )
    assert kills >= 1  # the last invocations may finish before their kill point
    st = fold(evs)
    assert st.status == "succeeded"
    for spec in specs:
        assert st.steps[spec.id].status in ("succeeded", "skipped"), spec
        assert ran[spec.id] <= starts[spec.id], ("ran without a committed start", spec)
        if spec.decide == "verify":
            assert ran[spec.id] == spec.fails_first + 1, (spec, ran[spec.id])
        elif spec.decide == "ask":
            assert ran[spec.id] == 1, (spec, ran[spec.id])
        else:
            assert ran[spec.id] >= spec.fails_first + 1, (spec, ran[spec.id])
    assert retries >= 1 and any(s.fails_first for s in specs)
    assert cli(state, "verify", "latest").returncode == 0


def test_60_local_steps_with_failures_retries_and_crashes(tmp_path: Path) -> None:
    _soak(tmp_path, 60, crashes=2)


@pytest.mark.slow
def test_500_local_steps_with_failures_retries_and_crashes(tmp_path: Path) -> None:
    _soak(tmp_path, 500, crashes=4)

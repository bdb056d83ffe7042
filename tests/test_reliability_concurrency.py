"""Concurrency: operators racing for the same manual step get exactly one winner and the
others are told who won; `status --watch`, `status` and `export` reading during a busy
run never block it (docs/journal.md; WAL readers, one BEGIN IMMEDIATE per decision).

Timing is printed, never asserted (run with `-s` to see the numbers).
"""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from pathlib import Path

from engine_helpers import cli, env, events, of_type, spawn, wait_for, write

from runbook.clock import RealClock
from runbook.errors import StateError
from runbook.events._event import GENESIS_HASH, event_hash
from runbook.journal._decisions import claim, confirm
from runbook.journal._store import Journal

MANUAL_STEPS = 12
RACERS = 4


def _manual_playbook(tmp_path: Path) -> Path:
    steps = "".join(
        f"  - {{id: m{i:02d}, title: Manual {i}, phase: ops, manual: 'Do thing {i}.'}}\n"
        for i in range(MANUAL_STEPS)
    )
    return write(tmp_path / "pb.yml", "playbook: race\ntitle: Race\nsteps:\n" + steps)


def _race(state: Path, run_id: str, step: str, action: str) -> list[tuple[str, str]]:
    """RACERS threads, each with its own connection, act on `step` at one instant."""
    barrier = threading.Barrier(RACERS)
    results: list[tuple[str, str]] = []
    lock = threading.Lock()

    def racer(n: int) -> None:
        who = f"{action}-op{n}"
        with Journal(state, create=False) as j:
            barrier.wait()
            try:
                if action == "claim":
                    claim(j, run_id, step, operator=who, clock=RealClock())
                else:
                    confirm(
                        j, run_id, step, answer="done", note=None, operator=who, clock=RealClock()
                    )
                outcome = ("won", who)
            except StateError as err:
                outcome = ("lost", str(err))
        with lock:
            results.append(outcome)

    threads = [threading.Thread(target=racer, args=(n,)) for n in range(RACERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return results


def _cli_race(state: Path, args: list[str], operators: list[str]) -> list[tuple[int, str]]:
    """The same command from several terminals at once (real processes)."""
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "runbook", "--state", str(state), *args, "--operator", op],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env(),
            cwd=state.parent,
        )
        for op in operators
    ]
    out = []
    for p in procs:
        o, e = p.communicate(timeout=60)
        out.append((p.returncode, o + e))
    return out


def test_racing_operators_get_one_winner_and_are_told_who(tmp_path: Path) -> None:
    pb = _manual_playbook(tmp_path)
    state = tmp_path / "state.db"
    engine = spawn(state, "run", str(pb))  # no terminal: every step waits for `confirm`
    try:
        evs = wait_for(state, lambda e: len(of_type(e, "manual_waiting")) == MANUAL_STEPS)
        run_id = evs[0].run_id
        # From real terminals: one step claimed by three at once, then answered by three.
        claims = _cli_race(state, ["claim", "latest", "m00"], ["ann", "bob", "cyd"])
        winners = [out for code, out in claims if code == 0]
        assert len(winners) == 1, claims
        who = next(op for op in ("ann", "bob", "cyd") if f"{op} claimed" in winners[0])
        for code, out in claims:
            if code != 0:
                assert code == 2 and f"already claimed by {who}" in out, out
                assert "Traceback" not in out
        answers = _cli_race(state, ["confirm", "latest", "m00"], ["dan", "eve", "fay"])
        assert [c for c, _ in answers].count(0) == 1, answers
        done_by = next(
            op for (c, out), op in zip(answers, ("dan", "eve", "fay"), strict=True) if c == 0
        )
        for code, out in answers:
            if code != 0:
                assert code == 2 and f"already answered (done) by {done_by}" in out, out
        # In-process, a tighter race on every other step: claim, then confirm.
        for i in range(1, MANUAL_STEPS):
            step = f"m{i:02d}"
            for action in ("claim", "confirm"):
                results = _race(state, run_id, step, action)
                won = [w for kind, w in results if kind == "won"]
                assert len(won) == 1, (step, action, results)
                losses = [m for kind, m in results if kind == "lost"]
                assert len(losses) == RACERS - 1
                verb = "claimed" if action == "claim" else "answered (done)"
                assert all(f"already {verb} by {won[0]}" in m for m in losses), losses
        engine.communicate(timeout=60)
    finally:
        if engine.poll() is None:
            engine.kill()
            engine.communicate()
    assert engine.returncode == 0
    evs = events(state)
    for i in range(MANUAL_STEPS):
        step = f"m{i:02d}"
        assert len(of_type(evs, "manual_claimed", step)) == 1
        assert len(of_type(evs, "manual_answered", step)) == 1
        assert len(of_type(evs, "step_succeeded", step)) == 1
    prev = GENESIS_HASH
    for n, e in enumerate(evs, 1):
        assert e.seq == n and e.prev_hash == prev and event_hash(e) == e.hash
        prev = e.hash


_COUNTS = threading.Lock()
BUSY = 100  # local steps, each writing output, in parallel chains


def _busy_playbook(tmp_path: Path) -> Path:
    lines = ["playbook: busy", "title: Busy run", "steps:"]
    for i in range(BUSY):
        needs = f", needs: [s{i - 4:03d}]" if i >= 4 else ""
        lines.append(
            f"  - {{id: s{i:03d}, title: Step {i}, phase: p{i % 4}, local: true{needs}, "
            "run: 'for n in 1 2 3 4 5 6 7 8; do echo line $n of $$; done; sleep 0.05'}"
        )
    return write(tmp_path / "busy.yml", "\n".join(lines) + "\n")


def _read_until(
    state: Path, run: subprocess.Popen[str], args: list[str], counts: dict[str, int]
) -> None:
    """One reader terminal: the same command again and again while the run goes on."""
    while run.poll() is None:
        r = cli(state, *args)
        with _COUNTS:
            counts[args[0]] += 1
            counts["failures"] += r.returncode != 0


def _timed_run(folder: Path, readers: bool) -> tuple[float, dict[str, int]]:
    folder.mkdir()
    pb = _busy_playbook(folder)
    state = folder / "state.db"
    counts = {"status": 0, "export": 0, "watch_lines": 0, "failures": 0}
    t0 = time.monotonic()
    run = spawn(state, "run", str(pb))
    watch: subprocess.Popen[str] | None = None
    try:
        if readers:
            wait_for(state, lambda e: bool(of_type(e, "step_started")))
            watch = spawn(state, "status", "latest", "--watch")
            threads = [
                threading.Thread(target=_read_until, args=(state, run, args, counts))
                for args in (
                    ["status", "latest", "--format", "json"],
                    ["export", "latest", "--format", "jsonl"],
                    ["export", "latest", "--format", "html"],
                )
            ]
            for t in threads:
                t.start()
            for t in threads:
                t.join(120)
        run.communicate(timeout=120)
        elapsed = time.monotonic() - t0
        if watch is not None:
            out, _ = watch.communicate(timeout=30)  # --watch ends with the run
            counts["watch_lines"] = len(out.splitlines())
            counts["failures"] += watch.returncode != 0
    finally:
        for p in (run, watch):
            if p is not None and p.poll() is None:
                p.kill()
                p.communicate()
    assert run.returncode == 0
    return elapsed, counts


def test_readers_never_block_a_busy_run(tmp_path: Path) -> None:
    alone, _ = _timed_run(tmp_path / "alone", readers=False)
    watched, counts = _timed_run(tmp_path / "watched", readers=True)
    print(
        f"\nbusy run of {BUSY} local steps: {alone:.2f}s alone, {watched:.2f}s with readers "
        f"({counts['status']} status, {counts['export']} exports, "
        f"{counts['watch_lines']} --watch lines)"
    )
    assert counts["failures"] == 0, counts
    assert counts["status"] >= 1 and counts["export"] >= 1
    assert counts["watch_lines"] >= BUSY
    evs = events(tmp_path / "watched" / "state.db")
    assert len(of_type(evs, "step_succeeded")) == BUSY

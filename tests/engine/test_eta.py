"""The ETA stays fresh during long steps: every 5 minutes of run time, and on overrun."""

from __future__ import annotations

import json
from pathlib import Path

from engine_helpers import cli, events, of_type, write

from runbook.clock import parse_iso
from runbook.engine._eta import EtaSchedule

PLAYBOOK = """
playbook: long-step
title: One step much longer than its estimate
steps:
  - id: restore
    title: Restore the database
    phase: data
    local: true
    run: "restore-db"
    estimate: 7m
    timeout: 1h
"""


def test_rehearsal_writes_eta_periodically_and_when_a_step_overruns(tmp_path: Path) -> None:
    pb = write(tmp_path / "pb.yml", PLAYBOOK)
    durations = write(tmp_path / "d.yml", "restore: 22m\n")
    state = tmp_path / "state.db"
    # 600x: the 22 virtual minutes take ~2 s, so forecasting stays within its budget.
    r = cli(state, "rehearse", str(pb), "--durations", str(durations), "--speed", "600")
    assert r.returncode == 0, r.stderr
    evs = events(state)
    started = parse_iso(of_type(evs, "step_started", "restore")[0].ts)
    ended = parse_iso(of_type(evs, "step_succeeded", "restore")[0].ts)
    assert ended - started == 22 * 60
    during = [
        parse_iso(e.ts) - started for e in of_type(evs, "eta") if started < parse_iso(e.ts) < ended
    ]
    # The estimate (7m) passed, and 5-minute periods: 5m, 7m (overrun), 12m, 17m.
    assert 420.0 in during
    assert len(during) >= 3
    gaps = [b - a for a, b in zip([0.0, *during], [*during, ended - started], strict=True)]
    assert max(gaps) <= 300.0 + 1.0


def test_schedule_fires_only_for_the_attempt_still_running() -> None:
    eta = EtaSchedule(period_s=300.0)
    eta.written(0.0, 0.0)
    eta.step_started("a", 1, 0.0, (60.0, 120.0))
    assert eta.next_at(active=True) == 60.0
    eta.check(61.0, True, lambda step, attempt: False)  # "a" ended before its estimate
    assert not eta.dirty
    eta.check(121.0, True, lambda step, attempt: step == "a" and attempt == 1)
    assert eta.dirty
    eta.written(121.0, 0.0)
    assert eta.next_at(active=False) is None  # nothing active: no periodic ETA
    assert eta.next_at(active=True) == 421.0
    eta.check(421.0, True, lambda step, attempt: True)
    assert eta.dirty and eta.next_at(active=True) is None  # until this one is written


def test_a_rehearsal_writes_every_eta_whatever_forecasting_costs() -> None:
    small = EtaSchedule(virtual=True, steps=300)
    small.written(0.0, 5.0)  # a slow forecast (a loaded machine) does not thin the next ones
    small.transition()
    assert small.affordable()
    big = EtaSchedule(virtual=True, steps=5000)  # a large plan keeps a real-time budget
    big.written(0.0, 5.0)
    big.transition()
    assert not big.affordable()


def test_the_same_rehearsal_journals_the_same_etas(tmp_path: Path) -> None:
    steps = "".join(
        f"""
  - id: s{i}
    title: Step {i}
    phase: p{i // 5}
    local: true
    run: "true"
    estimate: {{min: 1m, likely: 2m, max: 6m}}
"""
        + (f"    needs: [s{i - 1}]\n" if i % 5 else "")
        for i in range(20)
    )
    pb = write(tmp_path / "pb.yml", "playbook: twice\ntitle: Twice\nsteps:" + steps)
    durations = write(tmp_path / "d.yml", "".join(f"s{i}: {90 + 17 * i}s\n" for i in range(20)))
    runs = []
    for name in ("a", "b"):
        state = tmp_path / f"{name}.db"
        r = cli(state, "rehearse", str(pb), "--durations", str(durations), "--speed", "max")
        assert r.returncode == 0, r.stderr
        evs = events(state)
        start = parse_iso(evs[0].ts)
        runs.append(
            [
                (
                    parse_iso(e.ts) - start,
                    parse_iso(e.data["p50"]) - start,
                    parse_iso(e.data["p90"]) - start,
                )
                for e in of_type(evs, "eta")
            ]
        )
    # an ETA at the start, after every turn of the 20 steps' transitions, and at the end
    assert len(runs[0]) >= 20
    assert runs[0] == runs[1]


RTO_PLAYBOOK = """
playbook: tight
title: Two restores against an RTO
rto: {rto}
steps:
  - id: storage
    title: Bring storage back
    phase: storage
    local: true
    run: "true"
    estimate: 5m
    timeout: 2h
  - id: apps
    title: Start the applications
    phase: apps
    needs: [storage]
    local: true
    run: "true"
    estimate: 5m
    timeout: 2h
"""


def test_the_rto_warning_is_journaled_once_and_shown_by_status(tmp_path: Path) -> None:
    pb = write(tmp_path / "pb.yml", RTO_PLAYBOOK.format(rto="25m"))
    durations = write(tmp_path / "d.yml", "storage: 20m\napps: 20m\n")  # 40m against 25m
    state = tmp_path / "state.db"
    r = cli(state, "rehearse", str(pb), "--durations", str(durations), "--speed", "max")
    assert r.returncode == 0, r.stderr
    evs = events(state)
    start = parse_iso(evs[0].ts)
    warned = [e for e in of_type(evs, "eta") if e.data.get("rto_warning")]
    assert len(warned) == 1  # once, however long the risk stays over 50%
    assert warned[0].data["rto_risk"] > 0.5
    # storage passing its estimate makes the miss likely: told well before the deadline
    assert parse_iso(warned[0].ts) - start <= 25 * 60 - 10 * 60
    assert "RTO WARNING" in r.stdout + r.stderr
    status = cli(state, "status", "latest", "--format", "json")
    assert status.returncode == 0, status.stderr
    assert json.loads(status.stdout)["eta"]["rto_warning_at"] == warned[0].ts
    assert "RTO warning given" in cli(state, "status", "latest").stdout
    # the review exports say when it was given, and how long before the deadline
    md = cli(state, "export", "latest", "--format", "md").stdout
    line = next(x for x in md.splitlines() if x.startswith("| RTO warning |"))
    assert "before the deadline" in line and "risk" in line
    html = cli(state, "export", "latest", "--format", "html").stdout
    assert "RTO warning" in html and "before the deadline" in html


def test_no_rto_warning_when_the_rto_is_comfortable(tmp_path: Path) -> None:
    pb = write(tmp_path / "pb.yml", RTO_PLAYBOOK.format(rto="3h"))
    durations = write(tmp_path / "d.yml", "storage: 5m\napps: 5m\n")
    state = tmp_path / "state.db"
    r = cli(state, "rehearse", str(pb), "--durations", str(durations), "--speed", "max")
    assert r.returncode == 0, r.stderr
    assert not any(e.data.get("rto_warning") for e in of_type(events(state), "eta"))
    doc = json.loads(cli(state, "status", "latest", "--format", "json").stdout)
    assert doc["eta"]["rto_warning_at"] is None
    assert "RTO warning" not in cli(state, "status", "latest").stdout
    for fmt in ("md", "html"):
        assert "RTO warning" not in cli(state, "export", "latest", "--format", fmt).stdout

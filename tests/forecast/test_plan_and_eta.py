"""`runbook plan` and a run's live ETA come from one model: they agree at t = 0."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
FIRST = ROOT / "playbooks" / "first-restore.yml"


def runbook(state: Path, *args: str | Path) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [sys.executable, "-m", "runbook", "--state", str(state), *map(str, args)],
        capture_output=True,
        text=True,
        cwd=state.parent,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return done


def plan_json(state: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(runbook(state, "plan", FIRST, "--format", "json").stdout)
    return data


def etas(state: Path) -> list[dict[str, Any]]:
    out = runbook(state, "export", "latest", "--format", "jsonl").stdout
    events = [json.loads(line) for line in out.splitlines() if line.strip()]
    return [e["data"] for e in events if e["type"] == "eta"]


def test_the_plan_is_the_first_eta_of_a_run(tmp_path: Path) -> None:
    state = tmp_path / "state.db"
    plan = plan_json(state)
    assert not state.exists()  # planning never creates a state file
    runbook(state, "-q", "rehearse", FIRST, "--speed", "max", "--seed", "3")
    first = etas(state)[0]
    assert round(first["remaining_p50_s"]) == plan["p50_s"]
    assert round(first["remaining_p90_s"]) == plan["p90_s"]
    assert plan["critical_path_s"] <= plan["p50_s"] < plan["p90_s"]


def test_the_plan_is_byte_stable_and_learns_from_earlier_runs(tmp_path: Path) -> None:
    state = tmp_path / "state.db"
    before = runbook(state, "plan", FIRST, "--format", "json").stdout
    assert runbook(state, "plan", FIRST, "--format", "json").stdout == before
    # Two rehearsals where every step took 4× its estimate: the next plan knows.
    steps = json.loads(before)["steps"]
    durations = tmp_path / "slow.yml"
    durations.write_text(
        "".join(f"{s['id']}: {4 * s['estimate']['likely_s'] + 1:.0f}s\n" for s in steps)
    )
    for seed in ("1", "2"):
        runbook(state, "-q", "rehearse", FIRST, "--speed", "max", "--durations", durations,
                "--seed", seed)  # fmt: skip
    after = runbook(state, "plan", FIRST, "--format", "json").stdout
    assert runbook(state, "plan", FIRST, "--format", "json").stdout == after
    # Rehearsals weigh a fifth of a live run each (forecast/_model.py REHEARSAL_WEIGHT).
    assert json.loads(after)["p50_s"] > 1.25 * json.loads(before)["p50_s"]

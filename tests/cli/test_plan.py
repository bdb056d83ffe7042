"""`runbook plan` as a user runs it: a real subprocess on the example playbooks."""

from __future__ import annotations

import itertools
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
RESTORE = ROOT / "playbooks" / "datacenter-restore.yml"
FIRST = ROOT / "playbooks" / "first-restore.yml"
INVENTORY = ROOT / "inventory" / "datacenter.yml"


def runbook(*args: str | Path, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "runbook", *map(str, args)],
        capture_output=True,
        text=True,
        cwd=cwd or ROOT,
        timeout=120,
    )


@pytest.fixture(scope="module")
def outputs() -> dict[str, str]:
    """The datacenter example's plan in every format, one run each."""
    out = {}
    for fmt in ("json", "table", "dot", "mermaid"):
        done = runbook("plan", RESTORE, "-i", INVENTORY, "--format", fmt)
        assert done.returncode == 0, done.stderr
        assert "Traceback" not in done.stderr
        out[fmt] = done.stdout
    return out


@pytest.fixture(scope="module")
def restore_json(outputs: dict[str, str]) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(outputs["json"])
    return data


def test_json_plan_of_the_datacenter_example(restore_json: dict[str, Any]) -> None:
    plan = restore_json
    ids = [s["id"] for s in plan["steps"]]
    assert len(ids) == len(set(ids)) >= 55
    assert "dpi-clinical-check" in ids  # from includes/applications.yml
    # Every step in exactly one wave, each wave sorted, each step after all it needs.
    assert sorted(i for w in plan["waves"] for i in w) == sorted(ids)
    assert all(w == sorted(w) for w in plan["waves"])
    wave = {s["id"]: s["wave"] for s in plan["steps"]}
    for s in plan["steps"]:
        assert all(wave[n] < s["wave"] for n in s["needs"])
        assert plan["waves"][s["wave"]].count(s["id"]) == 1
    # Phases in restore order, whatever the order of the files (the include comes first).
    assert plan["phases"][0] == "power"
    assert plan["phases"][-1] == "sign-off"
    assert {"storage", "directory", "virtualization", "applications", "sign-off"} <= set(
        plan["phases"]
    )
    by_id = {s["id"]: s for s in plan["steps"]}
    assert by_id["site-tunnels"]["hosts"] == [f"site-router-{i:02d}" for i in range(1, 39)]
    assert by_id["site-tunnels"]["parallel"] == 10
    assert by_id["dpi-app"]["hosts"] == ["dpi-app-01", "dpi-app-02"]
    assert by_id["open-incident"]["kind"] == "manual"
    assert by_id["dns-resolution"]["kind"] == "local"
    path = plan["critical_path"]
    assert path[0] == "open-incident" and path[-1] == "close-incident"
    for a, b in itertools.pairwise(path):
        assert a in by_id[b]["needs"]
    assert plan["critical_path_s"] == sum(by_id[s]["estimate"]["likely_s"] for s in path)
    assert 0 < plan["critical_path_s"] <= plan["p50_s"] <= plan["p90_s"]
    assert plan["rto_s"] == 8 * 3600
    assert plan["default_estimates"] == []


def test_output_is_byte_identical_across_runs(outputs: dict[str, str]) -> None:
    # dot and mermaid are rendered from the same Plan as json: determinism of the plan
    # itself is checked here, of the renderers in tests/plan/test_plan.py.
    for fmt in ("json", "table"):
        again = runbook("plan", RESTORE, "-i", INVENTORY, "--format", fmt)
        assert again.stdout == outputs[fmt], fmt
        assert again.stdout.endswith("\n")


def test_table_shows_waves_estimates_and_the_summary(tmp_path: Path) -> None:
    pb = tmp_path / "small.yml"
    pb.write_text(
        "playbook: small\n"
        "title: Small restore\n"
        "rto: 30m\n"
        "steps:\n"
        "  - id: power\n"
        "    title: Power is back\n"
        "    phase: power\n"
        "    manual: Check the PDUs.\n"
        "    estimate: {min: 5m, likely: 10m, max: 20m}\n"
        "  - id: guess\n"
        "    title: Step with no estimate\n"
        "    phase: apps\n"
        "    needs: power\n"
        "    local: true\n"
        "    run: 'true'\n"
    )
    done = runbook("plan", pb, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "5m (default)" in out
    assert "10m (5m–20m)" in out
    assert re.search(r"^\s+1\s+power\s+power\s+manual", out, re.M)
    assert re.search(r"^\s+2\s+guess\s+apps\s+local", out, re.M)
    assert "Critical path (15m at likely estimates): power → guess" in out
    assert re.search(r"Planned duration: P50 \S+, P90 \S+ against an RTO of 30m", out)
    assert "1 step without an estimate, 5m assumed: guess" in out
    assert not any(line.endswith(" ") for line in out.splitlines())


def test_first_restore_plans_without_inventory(tmp_path: Path) -> None:
    done = runbook("plan", FIRST, "--format", "json", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    plan = json.loads(done.stdout)
    assert {s["kind"] for s in plan["steps"]} == {"manual", "local"}
    assert all(s["hosts"] == [] for s in plan["steps"])
    assert 5 <= len(plan["steps"]) <= 8


def test_concurrency_one_is_never_faster(restore_json: dict[str, Any]) -> None:
    done = runbook("plan", RESTORE, "-i", INVENTORY, "--format", "json", "--concurrency", "1")
    assert done.returncode == 0, done.stderr
    serial = json.loads(done.stdout)
    assert serial["waves"] == restore_json["waves"]
    assert serial["p50_s"] > restore_json["p50_s"]
    total_likely = sum(s["estimate"]["likely_s"] for s in serial["steps"])
    assert serial["p50_s"] >= 0.9 * total_likely


def test_dot_and_mermaid_of_the_example_are_well_formed(outputs: dict[str, str]) -> None:
    dot = outputs["dot"]
    assert dot.startswith('digraph "datacenter-restore" {')
    assert dot.count("{") == dot.count("}")  # no braces inside this example's labels
    assert len(re.findall(r"^  subgraph cluster_\d+ \{$", dot, re.M)) == 9
    assert len(re.findall(r"^  \"[^\"]+\" -> \"[^\"]+\".*;$", dot, re.M)) > 60
    mermaid = outputs["mermaid"]
    lines = mermaid.splitlines()
    assert lines[0] == "flowchart TD"
    assert sum(ln.lstrip().startswith("subgraph ") for ln in lines) == 9
    assert sum(ln.strip() == "end" for ln in lines) == 9
    assert "==>" in mermaid


def test_a_cycle_is_exit_2_with_its_path_and_location(tmp_path: Path) -> None:
    pb = tmp_path / "loop.yml"
    pb.write_text(
        "playbook: loop\n"
        "title: Loop\n"
        "steps:\n"
        "  - {id: a, title: A, phase: p, local: true, run: 'true', needs: b}\n"
        "  - {id: b, title: B, phase: p, local: true, run: 'true', needs: a}\n"
    )
    done = runbook("plan", pb, cwd=tmp_path)
    assert done.returncode == 2
    assert "a → b → a" in done.stderr
    assert re.search(r"loop\.yml:\d+:\d+", done.stderr)
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize(
    "args",
    [
        ["--concurrency", "0"],
        ["--format", "svg"],
    ],
)
def test_bad_options_are_exit_2(args: list[str], tmp_path: Path) -> None:
    done = runbook("plan", FIRST, *args, cwd=tmp_path)
    assert done.returncode == 2
    assert "Traceback" not in done.stderr


def test_a_missing_playbook_is_exit_2(tmp_path: Path) -> None:
    done = runbook("plan", tmp_path / "nope.yml", cwd=tmp_path)
    assert done.returncode == 2
    assert "nope.yml" in done.stderr
    assert "Traceback" not in done.stderr


def test_the_plan_says_what_earlier_runs_refined_it(tmp_path: Path) -> None:
    state = tmp_path / "state.db"
    fresh = runbook("--state", state, "plan", FIRST, cwd=tmp_path)
    assert "from the playbook's estimates alone (no earlier runs in the state file)" in fresh.stdout
    for seed in ("1", "2"):
        done = runbook("--state", state, "-q", "rehearse", FIRST, "--seed", seed, cwd=tmp_path)
        assert done.returncode == 0, done.stdout + done.stderr
    learned = runbook("--state", state, "plan", FIRST, cwd=tmp_path)
    assert (
        "refined by 2 earlier runs (2 rehearsals, each weighing less); "
        "--no-history for the estimates alone" in learned.stdout
    )
    alone = runbook("--state", state, "plan", FIRST, "--no-history", cwd=tmp_path)
    assert "from the playbook's estimates alone (--no-history)" in alone.stdout

    def p50(out: str) -> str:
        return re.search(r"P50 (\S+),", out).group(1)  # type: ignore[union-attr]

    assert p50(alone.stdout) == p50(fresh.stdout) != p50(learned.stdout)


def test_a_new_playbook_is_planned_from_the_other_playbooks_runs(tmp_path: Path) -> None:
    state = tmp_path / "state.db"
    other = tmp_path / "other.yml"
    other.write_text(FIRST.read_text().replace("playbook: first-restore", "playbook: other"))
    steps = json.loads(runbook("plan", other, "--format", "json", cwd=tmp_path).stdout)["steps"]
    slow = tmp_path / "slow.yml"  # every step of the other playbook took 3× its estimate
    slow.write_text(
        "".join(f"{s['id']}: {3 * s['estimate']['likely_s'] + 1:.0f}s\n" for s in steps)
    )
    fresh = runbook("--state", state, "plan", FIRST, "--format", "json", cwd=tmp_path).stdout
    for seed in ("1", "2"):
        done = runbook("--state", state, "-q", "rehearse", other, "--durations", slow,
                       "--seed", seed, cwd=tmp_path)  # fmt: skip
        assert done.returncode == 0, done.stdout + done.stderr
    table = " ".join(runbook("--state", state, "plan", FIRST, cwd=tmp_path).stdout.split())
    assert "from the playbook's estimates and 2 runs of other playbooks" in table
    took = re.search(r"\(they took (\d+\.\d)× their plans\)", table)
    assert took is not None and 2.5 <= float(took.group(1)) <= 3.5
    team = runbook("--state", state, "plan", FIRST, "--format", "json", cwd=tmp_path).stdout
    # two rehearsals (each a fifth of a live run for the live run `plan` forecasts) move
    # the prior from the cold ×1.5 toward their ×3
    assert json.loads(team)["p50_s"] > 1.15 * json.loads(fresh)["p50_s"]

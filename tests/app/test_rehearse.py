"""Rehearsals: the same engine on a virtual clock, simulated transport, seeded durations."""

from __future__ import annotations

from pathlib import Path

from engine_helpers import cli, events, of_type, write

from runbook.clock import parse_iso

PLAYBOOK = """
playbook: rehearsal
title: Rehearsal
rto: 4h
defaults: {timeout: 2h}
steps:
  - id: power
    title: Power
    phase: power
    manual: Call the NOC.
    estimate: {min: 10m, likely: 20m, max: 1h}
  - id: switches
    title: Switches
    phase: network
    needs: [power]
    hosts: switches
    run: "reboot-switch {{ host.name }}"
    estimate: 30m
  - id: web
    title: Web servers
    phase: apps
    needs: [switches]
    hosts: web
    parallel: 2
    run: "systemctl restart nginx"
    estimate: {min: 20m, likely: 40m, max: 2h}
  - id: smoke
    title: Smoke test
    phase: apps
    needs: [web]
    local: true
    run: "touch MUST_NOT_EXIST"
"""
INVENTORY = """
all:
  children:
    switches:
      hosts:
        sw1: {ansible_host: 127.0.0.1}
        sw2: {ansible_host: 127.0.0.1}
    web:
      hosts:
        web[01:04]: {ansible_host: 127.0.0.1}
"""


def _files(tmp_path: Path) -> tuple[Path, Path, Path]:
    pb = write(tmp_path / "pb.yml", PLAYBOOK.replace("MUST_NOT_EXIST", str(tmp_path / "ran")))
    inv = write(tmp_path / "inv.yml", INVENTORY)
    return pb, inv, tmp_path / "state.db"


def test_rehearsal_uses_the_durations_file_on_a_virtual_clock(tmp_path: Path) -> None:
    pb, inv, state = _files(tmp_path)
    durations = write(tmp_path / "d.yml", "power: 15m\nswitches: {sw1: 10m, sw2: 12m}\nweb: 1h\n")
    r = cli(
        state, "rehearse", str(pb), "-i", str(inv), "--durations", str(durations), "--seed", "7"
    )
    assert r.returncode == 0, r.stderr
    assert not (tmp_path / "ran").exists()  # nothing executed
    evs = events(state)
    start = evs[0].data
    assert start["mode"] == "rehearsal"
    assert start["options"]["speed"] == "max" and start["options"]["seed"] == 7
    assert start["options"]["durations"] == str(durations.resolve())
    done = {e.step: e.data["duration_s"] for e in of_type(evs, "step_succeeded")}
    assert done["power"] == 900
    assert done["switches"] == 720  # both hosts at once: the slower one
    assert done["web"] == 3600  # 4 hosts, 2 at a time: two waves of 30m
    hosts = {e.host: e.data["duration_s"] for e in of_type(evs, "host_succeeded", "switches")}
    assert hosts == {"sw1": 600, "sw2": 720}
    span = parse_iso(evs[-1].ts) - parse_iso(evs[0].ts)
    assert span >= 900 + 720 + 3600
    answered = of_type(evs, "manual_answered", "power")[0].data
    assert answered["answer"] == "done" and answered["work_s"] == 900
    assert of_type(evs, "eta") and evs[-1].data["result"] == "succeeded"
    assert cli(state, "verify", "latest").returncode == 0


def test_same_seed_same_rehearsal(tmp_path: Path) -> None:
    pb, inv, state = _files(tmp_path)

    def durations() -> dict[str, float]:
        r = cli(state, "rehearse", str(pb), "-i", str(inv), "--seed", "42")
        assert r.returncode == 0, r.stderr
        return {e.step: e.data["duration_s"] for e in of_type(events(state), "step_succeeded")}

    first, second = durations(), durations()
    assert first == second
    assert 600 <= first["power"] <= 3600


def test_malformed_durations_file_is_a_located_error(tmp_path: Path) -> None:
    pb, inv, state = _files(tmp_path)
    bad = write(tmp_path / "bad.yml", "powr: 10m\nswitches: {sw3: 5m}\nweb: soon\n")
    r = cli(state, "rehearse", str(pb), "-i", str(inv), "--durations", str(bad))
    assert r.returncode == 2
    assert f"{bad}:1:1: error: unknown step 'powr' (did you mean 'power'?)" in r.stderr
    assert f"{bad}:2:12:" in r.stderr and "no host 'sw3'" in r.stderr
    assert f"{bad}:3:6:" in r.stderr and "not a duration" in r.stderr
    assert "Traceback" not in r.stderr
    broken = write(tmp_path / "broken.yml", "power: [10m\n")
    r = cli(state, "rehearse", str(pb), "-i", str(inv), "--durations", str(broken))
    assert r.returncode == 2 and f"{broken}:" in r.stderr


def test_rehearsal_at_a_finite_speed_plays_in_scaled_time(tmp_path: Path) -> None:
    pb = write(
        tmp_path / "pb.yml",
        """
        playbook: quick
        title: Quick
        steps:
          - id: one
            title: One
            phase: p
            local: true
            run: "true"
            estimate: 60s
        """,
    )
    state = tmp_path / "state.db"
    r = cli(state, "rehearse", str(pb), "--speed", "600")
    assert r.returncode == 0, r.stderr
    evs = events(state)
    assert evs[0].data["options"]["speed"] == 600
    assert of_type(evs, "step_succeeded")[0].data["duration_s"] == 60

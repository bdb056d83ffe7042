"""A rehearsal's durations: drawn once per seed from the estimates, or taken from the
`--durations` file, shared out over a step's waves of hosts; and what each command "does"."""

from __future__ import annotations

from pathlib import Path

from runbook.executors._base import Commands
from runbook.executors._rehearsal_times import RehearsalTimes
from runbook.executors._simulated import SimulatedWork
from runbook.load import resolve
from runbook.load._resolve import Resolved
from runbook.model import Durations

PLAYBOOK = """\
playbook: night
title: A night
steps:
  - {id: call-noc, title: Call the NOC, manual: Call them, estimate: 10m}
  - id: boot-vms
    title: Boot the VMs
    hosts: hypervisors
    run: virsh start all
    verify: virsh list
    parallel: 2
    timeout: 1h
    estimate: {min: 5m, likely: 20m, max: 2h}
  - {id: check, title: Check, local: true, verify: "true", estimate: 30s, timeout: 10s}
"""
INVENTORY = """\
hypervisors:
  hosts: {hv-01: {ansible_host: 127.0.0.10}, hv-02: {ansible_host: 127.0.0.11},
          hv-03: {ansible_host: 127.0.0.12}, hv-04: {ansible_host: 127.0.0.13}}
"""


def resolved(tmp_path: Path) -> Resolved:
    (tmp_path / "night.yml").write_text(PLAYBOOK)
    (tmp_path / "hosts.yml").write_text(INVENTORY)
    return resolve(tmp_path / "night.yml", [tmp_path / "hosts.yml"])


def times(r: Resolved, durations: Durations | None = None, seed: int = 1) -> RehearsalTimes:
    return RehearsalTimes(r.playbook, r.step_hosts, durations or Durations(), seed, forks=10)


def test_a_seed_gives_the_same_rehearsal_and_single_estimates_are_exact(tmp_path: Path) -> None:
    r = resolved(tmp_path)
    one, again, other = times(r, seed=7), times(r, seed=7), times(r, seed=8)
    assert one.step("boot-vms") == again.step("boot-vms") != other.step("boot-vms")
    assert 300 <= one.step("boot-vms") <= 7200
    assert one.step("call-noc") == 600 and one.step("check") == 30
    assert not one.given("call-noc", None)


def test_a_whole_step_is_shared_over_its_waves_of_hosts(tmp_path: Path) -> None:
    r = resolved(tmp_path)
    t = times(r, Durations(steps={"boot-vms": 1800.0, "call-noc": 120.0}))
    assert t.step("boot-vms") == 1800 and t.step("call-noc") == 120
    assert t.host("boot-vms", "hv-01") == 900  # 4 hosts, 2 at a time: two waves
    assert t.host("boot-vms", None) == 1800
    assert t.given("boot-vms", "hv-03") and t.given("call-noc", None)
    narrow = RehearsalTimes(r.playbook, r.step_hosts, Durations(steps={"boot-vms": 1800}), 1, 1)
    assert narrow.host("boot-vms", "hv-01") == 450  # --forks 1: four waves


def test_a_host_listed_in_the_file_takes_its_own_time(tmp_path: Path) -> None:
    r = resolved(tmp_path)
    t = times(r, Durations(hosts={"boot-vms": {"hv-02": 4000.0}}))
    assert t.host("boot-vms", "hv-02") == 4000 and t.given("boot-vms", "hv-02")
    assert not t.given("boot-vms", "hv-01")
    assert t.host("boot-vms", "hv-01") == t.step("boot-vms") / 2


def test_only_the_first_real_action_takes_time(tmp_path: Path) -> None:
    r = resolved(tmp_path)
    work = SimulatedWork(times(r, Durations(hosts={"boot-vms": {"hv-01": 1200.0}})))
    commands = Commands(skip_if="virsh list | grep -q up", run="virsh start all", verify="true")
    skip = work.outcome("boot-vms", "hv-01", commands, "skip_if", 3600)
    assert (skip[0], skip[1].exit_code) == (0.0, 1)  # never "already done" in a rehearsal
    took, result = work.outcome("boot-vms", "hv-01", commands, "run", 3600)
    assert took == 1200 and result.ok and result.duration_s == 1200
    assert work.outcome("boot-vms", "hv-01", commands, "verify", 3600)[0] == 0.0
    verify_only = Commands(verify="true")
    assert work.outcome("check", None, verify_only, "verify", 10)[0] == 10 * 0.999


def test_a_duration_from_the_file_past_the_timeout_times_out(tmp_path: Path) -> None:
    r = resolved(tmp_path)
    work = SimulatedWork(times(r, Durations(steps={"check": 60.0})))
    took, result = work.outcome("check", None, Commands(verify="true"), "verify", 10)
    assert took == 10 and result.timed_out and result.exit_code is None and not result.ok


def test_serial_batches_are_waves_too_so_the_step_takes_its_drawn_time(tmp_path: Path) -> None:
    # Five hypervisors two at a time are three batches: each host takes a third of the
    # step, and the step about its estimate (it took three times that before).
    text = PLAYBOOK.replace("    parallel: 2\n", "    serial: 2\n")
    inventory = INVENTORY.replace("hv-04: {ansible_host: 127.0.0.13}}", "hv-04: {}, hv-05: {}}")
    (tmp_path / "night.yml").write_text(text)
    (tmp_path / "hosts.yml").write_text(inventory)
    r = resolve(tmp_path / "night.yml", [tmp_path / "hosts.yml"])
    t = times(r, Durations(steps={"boot-vms": 1800.0}))
    assert t.host("boot-vms", "hv-05") == 600
    mixed = text.replace("    serial: 2\n", "    serial: [1, 50%]\n    parallel: 1\n")
    (tmp_path / "night.yml").write_text(mixed)
    r = resolve(tmp_path / "night.yml", [tmp_path / "hosts.yml"])
    # batches 1, 2, 2 (50% of 5 rounds down), one host at a time: five waves
    assert times(r, Durations(steps={"boot-vms": 1800.0})).host("boot-vms", "hv-01") == 360


def test_a_run_once_step_is_one_wave_whatever_its_parallel(tmp_path: Path) -> None:
    text = PLAYBOOK.replace("    parallel: 2\n", "    parallel: 1\n    run_once: true\n")
    (tmp_path / "night.yml").write_text(text)
    (tmp_path / "hosts.yml").write_text(INVENTORY)
    r = resolve(tmp_path / "night.yml", [tmp_path / "hosts.yml"])
    assert times(r, Durations(steps={"boot-vms": 1800.0})).host("boot-vms", "hv-01") == 1800

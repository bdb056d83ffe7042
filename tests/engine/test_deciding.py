"""A step's `when` at its start, through the real CLI: what the log says of a skip."""

from __future__ import annotations

from pathlib import Path

from engine_helpers import cli, events, write

PLAYBOOK = """
playbook: branch
steps:
  - id: lag
    local: true
    run: echo 0
    output: int
    example: 0
  - id: wait
    needs: [lag]
    local: true
    when: "steps['lag'].value > 60"
    chance: CHANCE
    run: "true"
"""


def test_a_rehearsal_says_a_when_was_drawn_with_its_chance_not_found_false(
    tmp_path: Path,
) -> None:
    pb = write(tmp_path / "pb.yml", PLAYBOOK.replace("CHANCE", "0%"))
    r = cli(tmp_path / "r.db", "rehearse", str(pb), "--speed", "max")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "wait skipped: when: steps['lag'].value > 60 (drawn at its chance 0%)" in r.stdout
    (skipped,) = [e for e in events(tmp_path / "r.db") if e.type == "step_skipped"]
    assert skipped.data["chance"] == 0
    # a live run evaluated it: false is false
    live = cli(tmp_path / "l.db", "run", str(pb))
    assert live.returncode == 0, live.stdout + live.stderr
    assert "wait skipped: when: steps['lag'].value > 60 is false" in live.stdout
    (skipped,) = [e for e in events(tmp_path / "l.db") if e.type == "step_skipped"]
    assert "chance" not in skipped.data


def test_a_quorum_larger_than_the_hosts_chosen_at_run_time_fails_before_any_host_runs(
    tmp_path: Path,
) -> None:
    # validate cannot count the hosts a template will choose; the step's start can. It
    # ran a host, then said "min_ok 3 of 2 out of reach: 0 host(s) failed ()".
    pb = write(
        tmp_path / "pb.yml",
        """
        playbook: quorum
        steps:
          - id: list
            hosts: hypervisors
            run: virsh list --name
            output: lines
            example: {hv-01: [web-01, web-02]}
          - id: quorum
            needs: [list]
            hosts: "{{ steps['list'].results | map(attribute='value') | sum(start=[]) }}"
            until: "true"
            min_ok: 3
        """,
    )
    inventory = write(
        tmp_path / "hosts.yml",
        "all:\n  children:\n    hypervisors: {hosts: {hv-01: {}}}\n"
        "    vms: {hosts: {web-01: {}, web-02: {}}}\n",
    )
    r = cli(tmp_path / "s.db", "rehearse", str(pb), "-i", str(inventory), "--speed", "max")
    assert r.returncode == 1, r.stdout + r.stderr
    why = "min_ok 3 is more than the 2 host(s) hosts 'web-01:web-02' selected (web-01, web-02)"
    evs = [e for e in events(tmp_path / "s.db") if e.step == "quorum"]
    assert [e.type for e in evs] == ["step_started", "step_failed"]
    assert evs[1].data["reason"] == why
    assert f"failed: quorum: {why}" in r.stdout

"""`steps` as a rehearsal's templates and `when` see it, through the real CLI.

A step that ran on several hosts has one result per host and no single `value`: reading
`steps['x'].value` there says so and what to read instead (it was a silent null, which
surfaced as "no len() of NoneType" in a `when`, or an empty `hosts`).
"""

from __future__ import annotations

from pathlib import Path

from engine_helpers import cli, events, write

PLAYBOOK = """
playbook: several
steps:
  - id: list
    hosts: hypervisors
    run: virsh list --name
    output: lines
    example: {hv-01: [web-01], hv-02: [web-02]}
  - id: count
    needs: [list]
    local: true
    when: "steps['list'].value | length > 0"
    run: "true"
  - id: health
    needs: [list]
    hosts: "{{ steps['list'].value }}"
    run: "true"
  - id: every
    needs: [list]
    hosts: "{{ steps['list'].results | map(attribute='value') | sum(start=[]) }}"
    run: "true"
"""
INVENTORY = """
all:
  children:
    hypervisors: {hosts: {hv-01: {}, hv-02: {}}}
    vms: {hosts: {web-01: {}, web-02: {}}}
"""
WHY = (
    "steps['list'] ran on 2 hosts: it has no single rc, stdout or value; read "
    "steps['list'].results (one per host) or steps['list'].hosts['NAME'].value"
)


def test_the_single_value_of_a_step_that_ran_on_several_hosts_cannot_be_read(
    tmp_path: Path,
) -> None:
    pb = write(tmp_path / "pb.yml", PLAYBOOK)
    inventory = write(tmp_path / "hosts.yml", INVENTORY)
    state = tmp_path / "state.db"
    r = cli(state, "rehearse", str(pb), "-i", str(inventory), "--speed", "max")
    assert r.returncode == 1, r.stdout + r.stderr
    failed = {e.step: e.data["reason"] for e in events(state) if e.type == "step_failed"}
    assert failed == {
        "count": f"`when` could not be evaluated: {WHY} (needs an operator decision)",
        "health": f"`hosts` could not be rendered: {WHY} (needs an operator decision)",
    }
    # each host's value, gathered from the results, is the way to read them all
    started = [e for e in events(state) if e.type == "step_started" and e.step == "every"]
    assert started[0].data["hosts"] == ["web-01", "web-02"]

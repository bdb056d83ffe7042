"""`run --dry-run` through the real CLI: what each step would run, where, as it will run."""

from __future__ import annotations

from pathlib import Path

from engine_helpers import cli, write

PLAYBOOK = """
playbook: dry
steps:
  - id: status
    hosts: lyon
    run: geo-status
    output: json
  - id: wait
    needs: [status]
    when: "steps['status'].value.lag > 60"
    chance: 30%
    hosts: lyon
    become: true
    until: gitlab-rake geo:status | grep -q {{ vars.done }}
  - id: told
    needs: [status]
    when: "steps['status'].value.lag > 60"
    manual: Tell {{ vars.team }} the failover waits.
  - id: read
    needs: [status]
    hosts: lyon
    run: echo {{ steps['status'].value.lag }}
vars: {done: "(100%)", team: service-desk}
"""


def test_a_step_whose_when_alone_reads_earlier_steps_shows_its_commands_as_they_run(
    tmp_path: Path,
) -> None:
    pb = write(tmp_path / "pb.yml", PLAYBOOK)
    inventory = write(
        tmp_path / "hosts.yml", "all:\n  hosts:\n    lyon: {ansible_host: 10.0.0.2}\n"
    )
    r = cli(tmp_path / "state.db", "run", str(pb), "-i", str(inventory), "--dry-run")
    assert r.returncode == 0, r.stdout + r.stderr
    out = r.stdout.splitlines()
    wait = out[out.index("  wait [remote, default] wait  (needs status)") :]
    # the host and sudo are shown, the value rendered (it was the template as written)
    assert wait[3:5] == [
        "    lyon (10.0.0.2):",
        "      until: sudo: gitlab-rake geo:status | grep -q '(100%)'",
    ]
    assert "      | Tell service-desk the failover waits." in out
    # a command that reads an earlier step can only be shown as written
    read = out[out.index("  read [remote, default] read  (needs status)") :]
    assert read[2:4] == [
        "    on each host, as written (rendered when the step starts):",
        "      run: echo {{ steps['status'].value.lag }}",
    ]

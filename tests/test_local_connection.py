"""`ansible_connection: local` hosts (Ansible's usual `localhost` line) run their commands
on this machine, as Ansible does: no SSH, no connection attempt."""

from __future__ import annotations

from pathlib import Path

from engine_helpers import cli, events, of_type, write


def test_a_local_connection_host_runs_here_without_ssh(tmp_path: Path) -> None:
    inv = tmp_path / "hosts.ini"
    # No sshd listens there: an SSH attempt would fail the step.
    inv.write_text(
        "[control]\nlocalhost ansible_connection=local ansible_port=1\n[control:vars]\nsite=dc1\n"
    )
    out = tmp_path / "out.txt"
    pb = write(
        tmp_path / "pb.yml",
        f"""
        steps:
          - id: note
            hosts: control
            run: "echo {{{{ host.name }}}} {{{{ host.vars.site }}}} > {out}"
            verify: "test -s {out}"
        """,
    )
    state = tmp_path / "state.db"
    r = cli(state, "run", str(pb), "-i", str(inv))
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    assert out.read_text() == "localhost dc1\n"
    evs = events(state)
    assert [e.host for e in of_type(evs, "host_succeeded", "note")] == ["localhost"]

    check = cli(state, "hosts", "-i", str(inv), "--check")
    assert check.returncode == 0, check.stdout + check.stderr
    assert "local connection" in check.stdout

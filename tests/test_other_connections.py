"""Hosts Ansible reaches otherwise than by SSH (winrm, docker, network_cli...): a step on
them is refused at validation, and `hosts --check` says so, instead of dialling SSH to
fail there during the night."""

from __future__ import annotations

from pathlib import Path

from engine_helpers import cli, write

from runbook.connection import connection, runbook_can_reach

MIXED = """\
[linux]
web-01 ansible_host=127.0.0.1 ansible_port=1

[windows]
win-01 ansible_host=127.0.0.1 ansible_port=1
win-02 ansible_host=127.0.0.1 ansible_port=1

[windows:vars]
ansible_connection=winrm
"""


def test_connection_names_as_ansible_spells_them() -> None:
    for name in ("", "ssh", "smart", "paramiko", "paramiko_ssh", "ansible.builtin.ssh", "SSH"):
        assert connection({"ansible_connection": name}) == "ssh"
        assert runbook_can_reach({"ansible_connection": name})
    assert connection({}) == "ssh"
    assert connection({"ansible_connection": "ansible.builtin.local"}) == "local"
    assert connection({"ansible_connection": "ansible.legacy.winrm"}) == "winrm"
    assert connection({"ansible_connection": "community.docker.docker"}) == (
        "community.docker.docker"
    )
    for name in ("winrm", "psrp", "docker", "network_cli"):
        assert not runbook_can_reach({"ansible_connection": name})
    # runbook does not template inventory values: a templated one is left to SSH
    assert connection({"ansible_connection": "{{ conn }}"}) == "ssh"


def test_a_step_on_windows_hosts_is_refused_with_where_and_what_to_do(tmp_path: Path) -> None:
    inv = tmp_path / "hosts.ini"
    inv.write_text(MIXED)
    pb = write(
        tmp_path / "pb.yml",
        """
        steps:
          - id: restart
            hosts: all
            run: systemctl restart nginx
          - id: call-vendor
            hosts: windows
            manual: Ask the vendor to restart the Exchange services.
        """,
    )
    state = tmp_path / "state.db"
    r = cli(state, "validate", str(pb), "-i", str(inv))
    assert r.returncode == 2, r.stdout + r.stderr
    assert "Traceback" not in r.stderr
    lines = [line for line in r.stderr.splitlines() if "error:" in line]
    assert len(lines) == 1  # the manual step's hosts are information for the operator
    assert lines[0].startswith(f"{pb}:3:12: error:")  # at the step's `hosts:` value
    assert "win-01 (" in lines[0] and "hosts.ini:5:1), win-02" in lines[0]
    assert "ansible_connection: winrm" in lines[0]
    assert "'all:!windows'" in lines[0]  # what to write instead
    # leaving them out, as the message says, is accepted
    pb.write_text(pb.read_text().replace("hosts: all", "hosts: all:!windows"))
    fixed = cli(state, "validate", str(pb), "-i", str(inv))
    assert fixed.returncode == 0, fixed.stderr


def test_hosts_check_reports_them_without_dialling(tmp_path: Path) -> None:
    inv = tmp_path / "hosts.ini"
    inv.write_text(MIXED)
    r = cli(tmp_path / "state.db", "hosts", "-i", str(inv), "--check", "windows")
    assert r.returncode != 0
    rows = [line for line in r.stdout.splitlines() if line.startswith("win-")]
    assert len(rows) == 2
    # port 1 refuses any connection: "unsupported", not "refused", shows none was tried
    assert all("unsupported" in row and "winrm" in row for row in rows)
    assert "refused" not in r.stdout

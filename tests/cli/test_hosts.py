"""`runbook hosts` as a user runs it: a real subprocess, real inventory files."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from inventory_helpers import BAD, BAD_INVENTORIES, SAMPLES


def _hosts(*args: str | Path, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "runbook", "hosts", *map(str, args)],
        capture_output=True,
        text=True,
        cwd=cwd,
        env={"PATH": "/usr/bin:/bin", "NO_COLOR": "1"},
        timeout=60,
    )


def test_json_lists_the_selected_hosts() -> None:
    out = _hosts("-i", SAMPLES / "list.json", "apps:databases:!app1*", "--format", "json")
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout) == [
        {
            "name": "app2.example",
            "address": "198.51.100.12",
            "port": 2222,
            "user": "deploy",
            "groups": ["apps"],
            "vars": {
                "ansible_host": "198.51.100.12",
                "ansible_port": 2222,
                "ansible_user": "deploy",
                "http_port": 8080,
            },
        },
        {
            "name": "db1.example",
            "address": "198.51.100.21",
            "port": 22,  # unset: the SSH default
            "user": "deploy",
            "groups": ["databases"],
            "vars": {
                "ansible_host": "198.51.100.21",
                "ansible_user": "deploy",
                "db_password": "***",  # secret names never print
            },
        },
    ]


def test_json_masks_ansible_pass_vars_and_shows_null_user(tmp_path: Path) -> None:
    inv = tmp_path / "hosts.ini"
    inv.write_text("[w]\nw1 ansible_ssh_pass=s3cret ansible_become_pass=x api_token=t\n")
    out = _hosts("-i", inv, "-f", "json")
    (row,) = json.loads(out.stdout)
    assert row["user"] is None and row["port"] == 22
    assert row["vars"] == {
        "ansible_ssh_pass": "***",
        "ansible_become_pass": "***",
        "api_token": "***",
    }
    assert "s3cret" not in out.stdout


def test_table_from_several_inventories() -> None:
    out = _hosts("-i", SAMPLES / "hospital.yml", "-i", SAMPLES / "folder", "directory:paris")
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0].split() == ["HOST", "ADDRESS", "PORT", "USER", "GROUPS", "JUMP"]
    # The folder's group_vars/all applies to every host, those of hospital.yml too, and
    # beats hospital.yml's inline `all: vars:` (Ansible: inventory group_vars/all > file).
    assert [line.split() for line in lines[1:-1]] == [
        ["dc-pa01.hospital.example", "10.10.3.21", "22", "mailops", "directory", "gw.example"],
        [
            "dc-ly01.hospital.example",
            "10.20.3.21",
            "22",
            "mailops",
            "directory",
            "ops@bastion.lyon:2200",
        ],
        ["mail-pa01", "mail-pa01", "22", "mailops", "mail,", "paris", "gw.example"],
        ["mail-pa02", "mail-pa02", "22", "mailops", "mail,", "paris", "gw.example"],
    ]
    assert lines[-1] == "4 hosts"


def test_default_inventory_folder(tmp_path: Path) -> None:
    (tmp_path / "inventory").mkdir()
    (tmp_path / "inventory" / "hosts.ini").write_text("[dns]\nns1 ansible_host=10.0.0.53\n")
    out = _hosts("-f", "json", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert [h["address"] for h in json.loads(out.stdout)] == ["10.0.0.53"]


def test_no_inventory_is_exit_2(tmp_path: Path) -> None:
    out = _hosts(cwd=tmp_path)
    assert out.returncode == 2
    assert "pass -i" in out.stderr and "Traceback" not in out.stderr


def test_unknown_pattern_is_exit_2_with_did_you_mean() -> None:
    out = _hosts("-i", SAMPLES / "hospital.yml", "core:!site_pariss")
    assert out.returncode == 2
    assert "did you mean 'site_paris'?" in out.stderr


@pytest.mark.parametrize(("name", "line", "message"), BAD_INVENTORIES)
def test_malformed_inventory_exits_2_with_its_location(name: str, line: int, message: str) -> None:
    out = _hosts("-i", BAD / name)
    assert out.returncode == 2
    assert f"{BAD / name}:{line}:" in out.stderr and message in out.stderr, out.stderr
    assert "Traceback" not in out.stderr and out.stdout == ""


def test_check_says_a_vaulted_user_or_unrendered_address_cannot_be_used(tmp_path: Path) -> None:
    # Neither is dialled: a vault ciphertext as the login name, or `{{ mgmt_ip }}` as the
    # address (which failed as `dns` before), fails the host with what is wrong.
    inv = tmp_path / "hosts.yml"
    inv.write_text(
        "all:\n  hosts:\n"
        "    vaulted:\n      ansible_host: 127.0.0.1\n"
        "      ansible_user: !vault |\n          $ANSIBLE_VAULT;1.1;AES256\n          3061\n"
        "    templated:\n      ansible_host: '{{ mgmt_ip }}'\n"
    )
    done = _hosts("-i", inv, "--check", "--format", "json")
    assert done.returncode == 1, done.stderr
    rows = {r["name"]: r for r in json.loads(done.stdout)}
    assert rows["vaulted"]["result"] == "error"
    assert "encrypted with ansible-vault" in rows["vaulted"]["detail"]
    assert rows["vaulted"]["user"] == "$ANSIBLE_VAULT;1.1;AES256…"  # one line, not the blob
    assert rows["templated"]["result"] == "error"
    assert "'{{ mgmt_ip }}' is a template runbook cannot render" in rows["templated"]["detail"]

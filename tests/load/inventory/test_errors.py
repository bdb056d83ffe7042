"""Malformed inventories: every problem is an InputError naming file:line:col and a fix."""

from __future__ import annotations

from pathlib import Path

import pytest
from inventory_helpers import BAD, BAD_INVENTORIES

from runbook.errors import InputError
from runbook.load.inventory._load import find_inventory, load_inventory


def _issues(*paths: Path) -> list[str]:
    with pytest.raises(InputError) as caught:
        load_inventory(list(paths))
    return [str(i) for i in caught.value.issues]


@pytest.mark.parametrize(("name", "line", "message"), BAD_INVENTORIES)
def test_each_malformed_inventory_is_located(name: str, line: int, message: str) -> None:
    issues = _issues(BAD / name)
    assert any(f"{BAD / name}:{line}:" in i and message in i for i in issues), issues


def test_every_bad_inventory_file_has_a_test() -> None:
    corpus = {p.name for p in BAD.glob("inventory-*")}
    assert corpus == {name for name, _, _ in BAD_INVENTORIES}
    assert len(corpus) >= 10


def test_all_problems_of_all_files_are_reported_together() -> None:
    issues = _issues(BAD / "inventory-bad-line.ini", BAD / "inventory-port.yml")
    # Two bad tokens on one INI line, and the port of the YAML file: nothing stops early.
    assert len(issues) == 3
    assert "got 'port'" in issues[0] and "got '5432'" in issues[1]
    assert "inventory-port.yml:5:21:" in issues[2]


def test_errors_carry_a_fix_hint() -> None:
    issues = _issues(BAD / "inventory-hosts-list.yml")
    assert "hosts: {web1: {}, web2: {}}" in issues[0]
    issues = _issues(BAD / "inventory-unknown-key.yml")
    assert "did you mean 'hosts'?" in issues[0]


def test_port_error_points_at_the_winning_definition(tmp_path: Path) -> None:
    inv = tmp_path / "hosts.ini"
    inv.write_text("[web]\nweb1\n\n[web:vars]\nansible_port={{ web_port }}\n")
    issues = _issues(inv)
    assert issues == [
        f"{inv}:5:1: error: ansible_port of host 'web1' is '{{{{ web_port }}}}', not a port "
        "number (write a whole number from 1 to 65535 (a template runbook cannot render: a "
        "lookup, or an undefined variable?))"
    ]
    inv.write_text(inv.read_text() + "web_port=2222\n")  # defined: rendered, as by Ansible
    assert load_inventory([inv]).hosts["web1"].port == 2222


def test_missing_path_and_script(tmp_path: Path) -> None:
    script = tmp_path / "ec2.py"
    script.write_text("#!/usr/bin/env python3\nprint('{}')\n")
    issues = _issues(tmp_path / "nope.yml", script)
    assert "nope.yml: no such inventory file or folder" in issues[0]
    assert "inventory script" in issues[1] and "ansible-inventory" in issues[1]


def test_yaml_syntax_error_is_reported_for_a_yaml_looking_file(tmp_path: Path) -> None:
    inv = tmp_path / "hosts"  # no extension: the content says YAML
    inv.write_text("all:\n  hosts:\n    web1:\n   bad: indent\n")
    issues = _issues(inv)
    assert f"{inv}:4:" in issues[0] and "YAML syntax" in issues[0]


def test_comment_only_yaml_is_empty(tmp_path: Path) -> None:
    inv = tmp_path / "hosts.yml"
    inv.write_text("# nothing yet\n")
    assert "no hosts or groups" in _issues(inv)[0]


def test_no_inventory_anywhere_tells_to_pass_i(tmp_path: Path) -> None:
    with pytest.raises(InputError) as caught:
        find_inventory([], cwd=tmp_path)
    assert "pass -i" in str(caught.value)
    (tmp_path / "inventory").mkdir()
    assert find_inventory([], cwd=tmp_path) == (tmp_path / "inventory",)
    assert find_inventory([Path("x.yml")], cwd=tmp_path) == (Path("x.yml"),)


def test_duplicate_key_in_list_json_points_at_the_repeat(tmp_path: Path) -> None:
    inv = tmp_path / "inv.json"
    inv.write_text('{\n  "web": {"hosts": ["w1"]},\n  "web": {"hosts": ["w2"]}\n}\n')
    assert _issues(inv) == [
        f"{inv}:3:3: error: duplicate key 'web' (remove one of them or merge them)"
    ]


def test_ini_content_in_a_yml_file_is_read_as_ini(tmp_path: Path) -> None:
    inv = tmp_path / "hosts.yml"  # Ansible's yaml plugin fails on it and the ini plugin reads it
    inv.write_text("[web]\nw1 ansible_port=2201\n")
    assert load_inventory([inv]).hosts["w1"].port == 2201


def test_a_bad_group_port_is_reported_once_not_per_host(tmp_path: Path) -> None:
    inv = tmp_path / "hosts.ini"
    inv.write_text("[web]\nweb[01:50]\n\n[web:vars]\nansible_port=http\n")
    assert _issues(inv) == [
        f"{inv}:5:1: error: ansible_port of host 'web01' is 'http', not a port number "
        "(write a whole number from 1 to 65535)"
    ]

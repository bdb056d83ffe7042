"""Real-world inventory shapes resolved as ansible-core 2.19 resolves them.

tests/data/inventories/real/ holds inventories in the shapes found in public projects
(kubespray, openshift-ansible, k3s-ansible, openstack-ansible, Terraform bastion templates,
Ansible's own guide...; each names its source). real-expected/ holds what Ansible made of
each, recorded by bench/record_real_inventories.py: `ansible-inventory --list` and the
connection values Ansible renders when it connects. Here runbook must agree, with no Ansible
installed: the host set, each group's hosts and children, every variable, and the address,
port, user, key file and jump host runbook dials (through the SSH executor's resolver).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from inventory_helpers import DATA

from runbook.errors import HostError
from runbook.executors.ssh._target import Target, TargetResolver
from runbook.load.inventory._ansible_yaml import unmark
from runbook.load.inventory._load import load_inventory
from runbook.load.inventory._ssh_args import proxy_jump_from_args
from runbook.model import Inventory

REAL = DATA / "inventories" / "real"
EXPECTED = sorted((DATA / "inventories" / "real-expected").glob("*.json"))
LOCAL_USER = "operator"  # stands for the login name ssh would default to

# Where Ansible fails a host and runbook does not, on purpose (docs/playbook.md,
# "Connection variables"): runbook's `become` is the step's, so an inventory
# `ansible_become_pass` it cannot render (a vault value, an undefined variable) fails
# nothing here, where Ansible fails every task of the host.
BECOME_ONLY = {
    ("10-become.ini", "ubuntu"),
    ("10-become.ini", "pg1"),
    ("13-vault-host-vars", "other"),
}

# The jump hosts read from ssh arguments, worked out by hand from ssh(1)'s rules (options
# after the destination count; the first user and port given win).
JUMPS = {
    ("04-bastion-proxyjump.ini", "app1"): "ubuntu@203.0.113.10",
    ("04-bastion-proxyjump.ini", "zabbix.internal"): "ubuntu@203.0.113.10:2222",
    ("05-bastion-proxycommand.yml", "compute01"): "root@198.51.100.5",
    ("14-jinja-vars.yml", "edge01"): "bastion.example.invalid",
}


def _expected(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text(), object_hook=unmark)
    return data


def _load(recorded: dict[str, Any]) -> Inventory:
    return load_inventory([REAL / source for source in recorded["sources"]])


@pytest.fixture(autouse=True)
def _no_deploy_user(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DEPLOY_USER", raising=False)  # recorded with it unset


def test_the_corpus_is_there() -> None:
    assert len(EXPECTED) >= 15


@pytest.mark.parametrize("path", EXPECTED, ids=lambda p: p.stem)
def test_hosts_groups_and_variables_as_ansible(path: Path) -> None:
    recorded = _expected(path)
    listing = recorded["list"]
    inv = _load(recorded)
    hostvars = listing["_meta"]["hostvars"]
    assert set(inv.hosts) == set(hostvars)
    for name, want in hostvars.items():
        assert dict(inv.hosts[name].vars) == want, name
    for group, body in listing.items():
        if group in ("_meta", "all"):
            continue
        assert set(inv.groups[group].hosts) == set(body.get("hosts", [])), group
        assert set(inv.groups[group].children) == set(body.get("children", [])), group
    # Ansible leaves empty groups out of --list; runbook keeps them, with nothing in them.
    for group, g in inv.groups.items():
        if group not in listing and group != "all":
            assert not g.hosts and not g.children, group


def _target(inv: Inventory, name: str) -> Target | HostError:
    try:
        return TargetResolver(inv.hosts, local_user=LOCAL_USER).resolve(inv.hosts[name])
    except HostError as e:
        return e


@pytest.mark.parametrize("path", EXPECTED, ids=lambda p: p.stem)
def test_dials_what_ansible_connects_to(path: Path) -> None:
    recorded = _expected(path)
    inv = _load(recorded)
    entry = path.stem
    for name, want in recorded["connection"].items():
        host = inv.hosts[name]
        got = _target(inv, name)
        if (entry, name) in BECOME_ONLY:
            assert isinstance(got, Target), name
            continue
        if isinstance(want["address"], dict):  # Ansible cannot connect: neither may runbook
            assert isinstance(got, HostError), name
            assert "cannot" in got.detail, got.detail  # says why, never a dns failure
            continue
        assert isinstance(got, Target), f"{name}: {got}"
        assert host.address == want["address"], name
        assert got.hop.port == (want["port"] or 22), name
        assert got.hop.user == (want["user"] or LOCAL_USER), name
        assert host.key_file == want["key_file"], name
        args = want["ssh_common_args"] or want["ssh_extra_args"]
        jump = proxy_jump_from_args(args) if args else None
        assert host.proxy_jump == jump, name
        if (entry, name) in JUMPS:
            assert host.proxy_jump == JUMPS[entry, name]


def test_a_semicolon_comment_on_a_host_line_is_refused_as_ansible_refuses_it(
    tmp_path: Path,
) -> None:
    # Ansible's INI parser reads `;` as a comment only at the start of a line; after a
    # host it is an invalid variable and the whole file fails. runbook says where.
    from runbook.errors import InputError

    bad = tmp_path / "hosts.ini"
    bad.write_text("[k3s]\nk3s-1 ansible_host=192.0.2.12 ; third server\n")
    with pytest.raises(InputError) as e:
        load_inventory([bad])
    assert e.value.issues[0].location is not None
    assert (e.value.issues[0].location.line, e.value.issues[0].location.col) == (2, 31)

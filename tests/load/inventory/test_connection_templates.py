"""Connection variables written as Ansible templates, rendered per host as Ansible does."""

from __future__ import annotations

import pytest

from runbook.load.inventory._ansible_yaml import Unsafe
from runbook.load.inventory._templates import is_template, rendered


def test_what_counts_as_a_template() -> None:
    assert is_template("{{ inventory_hostname }}.dc1")
    assert is_template("{% if x %}a{% endif %}")
    assert not is_template("10.0.0.1") and not is_template(2222) and not is_template(None)
    assert not is_template(Unsafe("{{ left as written }}"))


def test_rendered_with_the_hosts_names_and_variables() -> None:
    hostvars = {"mgmt_net": "10.9", "rack_ip": "{{ mgmt_net }}.0.12"}
    groups = ("datacenter", "storage_heads")
    assert rendered("{{ inventory_hostname }}.dc1", "san-a.ght.local", {}, ()) == (
        "san-a.ght.local.dc1"
    )
    assert rendered("{{ inventory_hostname_short }}", "san-a.ght.local", {}, ()) == "san-a"
    # A variable naming a variable that is itself a template: rendered until plain.
    assert rendered("{{ rack_ip }}", "san-a", hostvars, groups) == "10.9.0.12"
    assert rendered("{{ group_names | join(',') }}", "san-a", {}, groups) == (
        "datacenter,storage_heads"
    )
    assert rendered(2222, "san-a", hostvars, groups) == 2222


def test_what_cannot_be_rendered_is_left_as_written() -> None:
    undefined = "{{ no_such_var }}.dc1"
    assert rendered(undefined, "h1", {}, ()) == undefined
    lookup = "{{ lookup('file', '/etc/hostname') }}"  # only Ansible runs lookups but env
    assert rendered(lookup, "h1", {}, ()) == lookup
    loop = "{{ a }}"
    assert rendered(loop, "h1", {"a": "{{ a }}"}, ()) == loop  # never settles


def test_env_lookup_reads_the_environment_as_ansible(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DEPLOY_USER", "ops")
    monkeypatch.delenv("NO_SUCH_RUNBOOK_VAR", raising=False)
    assert rendered("{{ lookup('env', 'DEPLOY_USER') }}", "h1", {}, ()) == "ops"
    assert rendered("{{ lookup('ansible.builtin.env', 'NO_SUCH_RUNBOOK_VAR') }}", "h", {}, ()) == ""
    assert rendered("{{ lookup('env', 'NO_SUCH_RUNBOOK_VAR', default='x') }}", "h1", {}, ()) == "x"

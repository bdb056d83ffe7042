"""One YAML inventory and its group_vars/host_vars folders read into the draft that Ansible's
rules later resolve: hosts and groups as declared, and every problem kept, not skipped."""

from __future__ import annotations

import textwrap
from pathlib import Path

from runbook.load import parse_yaml
from runbook.load.inventory._draft import ALL, UNGROUPED, Draft
from runbook.load.inventory._vars import load_vars_dirs
from runbook.load.inventory._yaml import parse_yaml_inventory


def drafted(text: str, name: str = "hosts.yml") -> Draft:
    draft = Draft()
    parse_yaml_inventory(parse_yaml(textwrap.dedent(text), name), draft)
    return draft


def test_groups_hosts_ranges_and_ports_as_declared() -> None:
    draft = drafted(
        """\
        all:
          vars: {ntp: 10.0.0.1}
          children:
            web:
              hosts:
                web[01:03]: {http_port: 8080}
                db01:2222:
                db01:2200:
            lone:
              hosts: bastion
        """
    )
    assert list(draft.groups) == [ALL, UNGROUPED, "web", "lone"]
    assert list(draft.groups["web"].hosts) == ["web01", "web02", "web03", "db01"]
    assert draft.groups[ALL].children.keys() == {UNGROUPED, "web", "lone"}
    assert draft.groups[ALL].vars == {"ntp": "10.0.0.1"}
    assert draft.hosts["web02"].vars == {"http_port": 8080}
    assert draft.hosts["db01"].vars == {"ansible_port": 2222}  # set once, on creation
    assert list(draft.groups["lone"].hosts) == ["bastion"]
    assert str(draft.hosts["web03"].location) == "hosts.yml:6:9"
    assert draft.issues == []


def test_what_ansible_would_skip_with_a_warning_is_an_error_here() -> None:
    draft = drafted(
        """\
        all:
          children:
            web:
              host:
                web1:
            db: [db1, db2]
            app:
              hosts:
                app[3:1]:
              vars:
                ansible_group_priority: high
        """
    )
    assert [(str(i.location), i.message, i.hint) for i in draft.issues] == [
        (
            "hosts.yml:4:7",
            "unknown key 'host' in group 'web' (expected hosts, children or vars)",
            "did you mean 'hosts'?",
        ),
        (
            "hosts.yml:6:9",
            "group 'db' must be a mapping of hosts/children/vars, not a list",
            "write 'db:' followed by indented 'hosts:', 'children:' or 'vars:'",
        ),
        (
            "hosts.yml:9:9",
            "range '[3:1]' starts after it ends",
            "ranges look like web[01:20], web[1:20:5] or db-[a:c]",
        ),
        (
            "hosts.yml:11:33",
            "ansible_group_priority of group 'app' is 'high', not a whole number",
            "write a number such as 10; higher wins among groups at the same depth",
        ),
    ]


def test_a_plugin_configuration_is_not_an_inventory() -> None:
    draft = drafted("plugin: amazon.aws.aws_ec2\nregions: [eu-west-3]\n", "aws_ec2.yml")
    assert draft.issues[0].message == (
        "inventory plugin configuration (plugin: amazon.aws.aws_ec2) is not an inventory"
    )
    assert "ansible-inventory -i FILE --list" in draft.issues[0].hint


def test_vars_folders_beside_the_inventory(tmp_path: Path) -> None:
    draft = drafted("all:\n  children:\n    web:\n      hosts: {web1: {}, web2: {}}\n")
    group_vars, host_vars = tmp_path / "group_vars", tmp_path / "host_vars"
    (group_vars / "web").mkdir(parents=True)
    (group_vars / "web" / "10-ports.yml").write_text("http_port: 80\n")
    (group_vars / "web" / "20-tls.yaml").write_text("http_port: 443\ntls: true\n")
    (group_vars / "web" / "notes.txt").write_text("not vars: skipped\n")
    (group_vars / "web" / "old.yml~").write_text("http_port: 1\n")
    (group_vars / "web.yml").write_text("hidden: true\n")  # the folder wins over the file
    (group_vars / "all.yml").write_text("$ANSIBLE_VAULT;1.1;AES256\n6162636465\n")
    (group_vars / "nobody.yml").write_text("unknown: group\n")
    host_vars.mkdir()
    (host_vars / "web1.json").write_text('{"ansible_host": "10.0.0.11"}')
    (host_vars / "web2").write_text("- a list\n")
    load_vars_dirs([tmp_path], draft)
    assert draft.groups["web"].file_vars == {"http_port": 443, "tls": True}
    assert draft.groups[ALL].file_vars == {}  # vault-encrypted whole: skipped
    assert draft.hosts["web1"].file_vars == {"ansible_host": "10.0.0.11"}
    assert [i.message for i in draft.issues] == [
        "host_vars file for 'web2' must be a mapping of variables"
    ]

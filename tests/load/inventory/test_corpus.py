"""The Ansible-inventory corpus: each file resolved exactly as ansible-core 2.19 resolves it.

The expected hosts, groups and variables below are what `ansible-inventory --list` prints
for tests/data/ansible_corpus/ (bench/inventory_vs_ansible.py checks the whole corpus
against a real Ansible); here they are written out, so the suite needs no ansible-core.
"""

from __future__ import annotations

import datetime
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from inventory_helpers import DATA

from runbook.errors import InputError
from runbook.load._patterns import name_clashes, select_hosts
from runbook.load.inventory._hostranges import split_host_port
from runbook.load.inventory._load import load_inventory
from runbook.model import Inventory

CORPUS = DATA / "ansible_corpus"

Resolved = dict[str, tuple[tuple[str, ...], dict[str, Any]]]


def _load(name: str) -> Inventory:
    entry = CORPUS / name
    listed = entry / "sources.txt"
    if listed.is_file():  # several -i sources, or one file with group_vars/ beside it
        return load_inventory([entry / line for line in listed.read_text().split()])
    return load_inventory([entry])


def _resolved(inv: Inventory) -> Resolved:
    """host → (groups, variables), the two things `ansible-inventory --list` shows."""
    return {name: (h.groups, dict(h.vars)) for name, h in inv.hosts.items()}


def test_ini_ipv6_and_bracketed_hosts() -> None:
    # A line starting with `[` that is no section is a host line: `[2001:db8::11]:2222`,
    # `[127.0.0.10]:2201`, `[bastion.example.invalid]:2222` all carry a port.
    inv = _load("04-ipv6.ini")
    assert _resolved(inv) == {
        "127.0.0.10": (
            ("lab", "v4"),
            {"ansible_port": 2201, "ansible_python_interpreter": "/usr/bin/python3"},
        ),
        "127.0.0.11": (("lab", "v4"), {"ansible_python_interpreter": "/usr/bin/python3"}),
        "127.0.0.12": (("lab", "v4"), {"ansible_python_interpreter": "/usr/bin/python3"}),
        "127.0.0.13": (("lab", "v4"), {"ansible_python_interpreter": "/usr/bin/python3"}),
        "127.0.0.9": (
            ("lab", "v4"),
            {"ansible_port": 2200, "ansible_python_interpreter": "/usr/bin/python3"},
        ),
        "2001:db8:0:1::1": (
            ("lab", "v6"),
            {"ansible_python_interpreter": "/usr/bin/python3", "rack": "b2"},
        ),
        "2001:db8:0:1::2": (
            ("lab", "v6"),
            {"ansible_python_interpreter": "/usr/bin/python3", "rack": "b2"},
        ),
        "2001:db8:0:1::3": (
            ("lab", "v6"),
            {"ansible_python_interpreter": "/usr/bin/python3", "rack": "b2"},
        ),
        "2001:db8::10": (("lab", "v6"), {"ansible_python_interpreter": "/usr/bin/python3"}),
        "2001:db8::11": (
            ("lab", "v6"),
            {
                "ansible_port": 2222,
                "ansible_python_interpreter": "/usr/bin/python3",
                "ansible_user": "ops",
            },
        ),
        "::1": (
            ("lab", "v6"),
            {"ansible_connection": "local", "ansible_python_interpreter": "/usr/bin/python3"},
        ),
        "bastion.example.invalid": (
            ("lab", "v4"),
            {
                "ansible_port": 2222,
                "ansible_python_interpreter": "/usr/bin/python3",
                "role": "bastion",
            },
        ),
    }
    v6 = inv.hosts["2001:db8::11"]
    assert (v6.address, v6.port, v6.user) == ("2001:db8::11", 2222, "ops")
    assert inv.hosts["::1"].port is None


def test_ini_values_are_read_as_ansible_reads_them() -> None:
    hosts = _load("05-quotes.ini").hosts

    def var(host: str, name: str) -> Any:
        return hosts[f"{host}.example.invalid"].vars[name]

    # Host lines are shell-split, then each value goes through Python's literal_eval.
    assert var("web1", "motd") == "Welcome to  site A"
    assert var("web1", "owner") == "Équipe réseau"
    assert var("web2", "port_str") == 8080  # '8080': the quotes are the shell's
    assert var("web2", "port_quoted") == "8080"
    assert (var("web2", "escaped"), var("web2", "empty")) == ("a b", "")
    assert var("web3", "json") == '{"a": 1, "b": [true, null]}'
    assert (var("web3", "list"), var("web3", "tuple"), var("web3", "set")) == (
        [1, 2, 3],
        [1, 2],
        [3, 4],
    )
    assert [var("web4", k) for k in ("flag", "flag2", "none", "float", "octal", "hex")] == [
        "yes",
        True,
        None,
        1.5,
        "0755",
        31,
    ]
    assert [var("web4", k) for k in ("neg", "big", "exp")] == [-3, 1000, 1000.0]
    assert (var("web5", "key"), var("web5", "ver"), var("web5", "ip")) == (
        "a=b",
        "1.2.3",
        "127.0.0.5",
    )
    assert (var("web7", "bytes"), var("web7", "cplx"), var("web7", "dots")) == ("raw", "1j", "...")
    # `#` starts a comment even inside a word: `hash=#notacomment` is an empty value.
    assert (var("web8", "msg"), var("web8", "hash")) == ("it's fine", "")
    assert "after" not in hosts["web8.example.invalid"].vars
    # [web:vars] lines are not shell-split: comments and spaces stay in plain text.
    assert (var("web1", "spaced"), var("web1", "equation")) == ("value with spaces", "a=b+c")
    assert (var("web1", "greeting"), var("web1", "unclosed")) == ("hello world", "[1, 2")
    assert var("web1", "dict") == {"k": {"nested": [1, 2]}}
    assert hosts["web6.example.invalid"].proxy_jump == "ops@jump.example.invalid:2222"


def test_ranges_expand_in_every_form() -> None:
    inv = _load("03-ranges.ini")
    names = list(inv.hosts)
    assert len(names) == 52
    assert names[:3] == [
        "web01.dc1.example.invalid",
        "web02.dc1.example.invalid",
        "web03.dc1.example.invalid",
    ]
    assert [n for n in names if ".dc2." in n] == [
        "web1.dc2.example.invalid",
        "web3.dc2.example.invalid",
    ]
    assert [n for n in names if n.startswith("db-")] == [
        *(f"db-{c}.example.invalid" for c in "abcdef"),
        *(f"db-{c}.legacy.example.invalid" for c in "ABC"),
    ]
    assert [n for n in names if n.startswith(("cache", "edge", "probe", "bkp"))] == [
        *(f"cache{i}.example.invalid" for i in range(4)),  # [:3] starts at 0
        *(f"probe{i:02}.example.invalid" for i in range(8, 12)),
        *(f"edge{i}.example.invalid" for i in (0, 5, 10)),
        *(f"bkp{i:03}.example.invalid" for i in (1, 2, 3)),
    ]
    assert [n for n in names if n.startswith(("rack", "san"))] == [
        *(f"rack{r}-node0{n}.example.invalid" for r in (1, 2) for n in (1, 2, 3)),
        *(f"san-{c}{n}.example.invalid" for c in "abc" for n in (1, 2)),
    ]
    mon2 = inv.hosts["mon2.example.invalid"]
    assert (mon2.port, mon2.user, mon2.groups) == (2222, "nagios", ("monitoring",))
    web02 = inv.hosts["web02.dc1.example.invalid"]
    assert (web02.groups, dict(web02.vars)) == (("backup", "site", "web"), {"backup_slot": "night"})


def test_all_vars_and_ungrouped() -> None:
    assert _resolved(_load("06-all-vars-ungrouped.ini")) == {
        "api1.example.invalid": (
            ("api", "apps"),
            {
                "ansible_user": "admin",
                "env": "staging",
                "ntp_server": "ntp.example.invalid",
                "tier": "app",
            },
        ),
        "backup.example.invalid": (
            ("api", "apps"),
            {
                "ansible_user": "admin",
                "env": "staging",
                "ntp_server": "ntp.example.invalid",
                "tier": "app",
            },
        ),
        "console.example.invalid": (
            ("ungrouped",),
            {
                "ansible_port": 2201,
                "ansible_user": "admin",
                "env": "prod",
                "ntp_server": "ntp.example.invalid",
            },
        ),
        "jump.example.invalid": (
            ("ungrouped",),
            {
                "ansible_host": "127.0.20.1",
                "ansible_user": "admin",
                "env": "prod",
                "ntp_server": "ntp.example.invalid",
            },
        ),
        "localhost": (
            ("ungrouped",),
            {
                "ansible_connection": "local",
                "ansible_user": "admin",
                "env": "prod",
                "ntp_server": "ntp.example.invalid",
            },
        ),
        "printer.example.invalid": (
            ("ungrouped",),
            {"ansible_user": "admin", "env": "prod", "ntp_server": "ntp.example.invalid"},
        ),
        "worker1.example.invalid": (
            ("apps", "workers"),
            {
                "ansible_user": "admin",
                "env": "dev",
                "ntp_server": "ntp.example.invalid",
                "tier": "app",
            },
        ),
    }


def test_nested_groups_depth_decides_first() -> None:
    assert _resolved(_load("10-nested.yml")) == {
        "ly-srv01.example.invalid": (
            ("europe", "lyon", "monitored", "roles", "servers"),
            {
                "ansible_host": "127.0.31.1",
                "ansible_user": "lyon-admin",
                "backup_window": "01:00",
                "color": "servers",
                "dns_domain": "example.invalid",
                "monitoring": True,
                "ntp_server": "ntp.example.invalid",
                "site_code": "LY",
                "tz": "Europe/Paris",
            },
        ),
        "pa-a-srv01.example.invalid": (
            ("europe", "monitored", "paris", "paris_rack_a", "roles", "servers"),
            {
                "ansible_host": "127.0.30.2",
                "ansible_user": "sysadmin",
                "backup_window": "02:00",
                "color": "host",
                "dns_domain": "example.invalid",
                "monitoring": True,
                "ntp_server": "ntp.example.invalid",
                "rack": "A",
                "site_code": "PA",
                "tz": "Europe/Paris",
            },
        ),
        "pa-a-sw01.example.invalid": (
            ("europe", "paris", "paris_rack_a", "roles", "switches"),
            {
                "ansible_host": "127.0.30.1",
                "ansible_network_os": "ios",
                "ansible_user": "netadmin",
                "backup_window": "02:00",
                "color": "paris_rack_a",
                "dns_domain": "example.invalid",
                "ntp_server": "ntp.example.invalid",
                "rack": "A",
                "site_code": "PA",
                "tz": "Europe/Paris",
            },
        ),
        "pa-b-srv01.example.invalid": (
            ("europe", "paris", "paris_rack_b", "roles", "servers"),
            {
                "ansible_host": "127.0.30.3",
                "ansible_user": "sysadmin",
                "backup_window": "02:00",
                "color": "servers",
                "dns_domain": "example.invalid",
                "ntp_server": "ntp.example.invalid",
                "rack": "B",
                "site_code": "PA",
                "tz": "Europe/Paris",
            },
        ),
    }


def test_group_priority_and_alphabetical_order() -> None:
    # h3: nested_parent's priority 100 loses to its own child's depth; at depth 1 it beats
    # high_but_shallow (1000) only for `color`, which that group does not set.
    assert _resolved(_load("11-priority.yaml")) == {
        "h1.example.invalid": (("alpha", "beta"), {"color": "beta", "owner": "alpha-team"}),
        "h2.example.invalid": (
            ("alpha", "beta", "gamma"),
            {"color": "gamma", "owner": "alpha-team"},
        ),
        "h3.example.invalid": (
            ("alpha", "beta", "high_but_shallow", "nested_child", "nested_parent"),
            {"color": "nested_parent", "owner": "nested-team"},
        ),
        "h4.example.invalid": (("alpha", "zeta"), {"color": "alpha", "owner": "alpha-team"}),
    }


def test_yaml_forms_and_types() -> None:
    inv = _load("12-yaml-forms.yml")
    assert list(inv.hosts) == [
        "web01.example.invalid",
        "web02.example.invalid",
        "web03.example.invalid",
        "web04.example.invalid",
        "127.0.40.1",
        "db01.example.invalid",
        "lone.example.invalid",
        "db02.example.invalid",
        "db03.example.invalid",
        "appa.example.invalid",
        "appb.example.invalid",
        "appc.example.invalid",
        "appd.example.invalid",
    ]
    db02 = inv.hosts["db02.example.invalid"]
    assert db02.groups == ("dbservers", "replicas")
    assert dict(db02.vars) == {
        "from_all": 1,
        "engine": "postgres",
        "version": 15,
        "ratio": 0.75,
        "enabled": True,
        "disabled": False,
        "nothing": None,
        "started": datetime.date(2024, 1, 5),
        "maintenance": datetime.datetime(2024, 1, 5, 10, 30),
        "listen": ["127.0.0.1", "::1"],
        "limits": {"max_connections": 200, "work_mem": "4MB"},
        "octal_mode": 493,
        "string_mode": "0755",
        "motd": "Restore in progress.\nDo not reboot.\n",
        "folded": "one two\n",
        "role": "replica",
    }
    assert inv.hosts["web04.example.invalid"].port == 2222
    assert inv.hosts["lone.example.invalid"].groups == ("ungrouped",)
    assert {n: inv.hosts[f"app{n}.example.invalid"].port for n in "abc"} == {
        "a": 2200,
        "b": 2201,
        "c": 2200,
    }
    assert {"empty_group", "null_group"} <= set(inv.groups)


def test_unsafe_and_vault_values_as_ansible_keeps_them() -> None:
    mx = _load("16-hospital-restore.yml").hosts["mx-ly01.hospital.example.invalid"].vars
    assert mx["literal_template"] == "{{ not_a_template }}"
    assert mx["padded"] == "  keep my spaces  "  # `!unsafe` keeps the text as written
    assert mx["unsafe_number"] == 8080  # and resolves it as YAML would without the tag
    assert mx["unsafe_map"] == {"path": "/srv/{{ x }}"}
    assert mx["vault_ldap_bind"].startswith("$ANSIBLE_VAULT;1.1;AES256\n6231")
    assert mx["vault_ldap_bind"].endswith("3437\n")  # the ciphertext exactly as written


def test_list_output_reads_back_as_its_source() -> None:
    # ansible-inventory 2.19 writes !unsafe and !vault values as {"__ansible_unsafe": ...}
    # and {"__ansible_vault": ...}; read back, they are the values of the source again.
    assert _resolved(_load("25-list-output-markers.json")) == _resolved(
        _load("16-hospital-restore.yml")
    )
    # --export keeps group vars apart; reading them back as group vars makes the
    # ansible_group_priority of group_vars/db.json a priority again, no longer a variable.
    exported = _resolved(_load("26-list-export.json"))
    source = _resolved(_load("20-group-vars"))
    for _groups, variables in source.values():
        variables.pop("ansible_group_priority", None)
    assert exported == source


def test_legacy_ssh_variables_win_over_the_new_names() -> None:
    hosts = _load("17-legacy-ssh-vars.ini").hosts
    connection = {n: (h.address, h.port, h.user) for n, h in hosts.items()}
    assert connection == {
        "old1.example.invalid": ("127.0.70.1", 2201, "root"),
        "old2.example.invalid": ("127.0.70.2", None, "root"),
        "old3.example.invalid": ("old3.example.invalid", 2203, None),
        "old4.example.invalid": ("old4.example.invalid", None, None),
    }
    old4 = hosts["old4.example.invalid"]
    assert (old4.key_file, old4.proxy_jump) == ("~/.ssh/legacy_rsa", "gw.example.invalid")


def test_ports_from_names_and_variables() -> None:
    assert _resolved(_load("18-ports.yml")) == {
        "127.0.80.5": (("edge",), {"ansible_port": 2205}),
        "gw1.example.invalid": (("edge", "edge_again"), {"ansible_port": 2201}),
        "gw2.example.invalid": (("edge",), {"ansible_port": 2302}),
        "gw3.example.invalid": (("custom_ssh", "edge"), {"ansible_port": 2203}),
        "gw4.example.invalid": (("edge",), {"ansible_port": 2203}),
        "gw5.example.invalid": (("edge_again",), {}),
        "gw6.example.invalid": (("custom_ssh",), {"ansible_port": 2022}),
        "gw7.example.invalid": (("custom_ssh",), {"ansible_port": "2207"}),
    }


def test_depth_is_the_longest_path() -> None:
    assert _resolved(_load("19-diamond.ini")) == {
        "h1.example.invalid": (
            ("leaf", "mid", "mid2", "other", "shallow", "side", "top"),
            {"level": "side", "mid_only": 1, "top_only": 1, "who": "leaf"},
        ),
        "h2.example.invalid": (
            ("leaf", "mid", "shallow", "side", "top"),
            {"level": "side", "mid_only": 1, "top_only": 1, "who": "leaf"},
        ),
    }


def test_group_vars_and_host_vars_files_as_ansible_finds_them() -> None:
    # web/ (a folder) hides web.yml; all.yml hides all.yaml; a host_vars file without
    # extension keeps its dots (web01.example.invalid); hidden, `~`, `.txt` and `conf.d/`
    # are skipped; ansible_group_priority in a file stays a variable.
    assert _resolved(_load("20-group-vars")) == {
        "127.0.90.5": (
            ("db", "site_paris"),
            {
                "ansible_group_priority": 50,
                "ansible_user": "deploy",
                "engine": "postgres",
                "host_file": "127.0.90.5",
                "level": "group-vars-db-json",
                "max_conn": 1000.0,
                "ntp_server": "from-group-vars-all",
                "pools": [1, 2],
                "site": "paris",
            },
        ),
        "db01.example.invalid": (
            ("db", "site_paris"),
            {
                "ansible_group_priority": 50,
                "ansible_user": "deploy",
                "db_dir": True,
                "engine": "postgres",
                "level": "host-vars-dir",
                "max_conn": 1000.0,
                "ntp_server": "from-group-vars-all",
                "pools": [1, 2],
                "site": "paris",
                "tuned": "db",
            },
        ),
        "mx01.example.invalid": (
            ("mail",),
            {
                "ansible_user": "deploy",
                "level": "mail-zz",
                "mail_host": True,
                "nested": "from-sub",
                "ntp_server": "from-group-vars-all",
                "relay": "from-20-relay",
                "zz_no_extension": True,
            },
        ),
        "web01.example.invalid": (
            ("site_paris", "web"),
            {
                "ansible_port": 2201,
                "ansible_user": "deploy",
                "host_file": "web01",
                "level": "group-vars-web-dir",
                "ntp_server": "from-group-vars-all",
                "site": "paris",
                "web_dir": True,
            },
        ),
        "web02.example.invalid": (
            ("site_paris", "web"),
            {
                "ansible_user": "deploy",
                "level": "inline-host",
                "ntp_server": "from-group-vars-all",
                "site": "paris",
                "web_dir": True,
            },
        ),
    }


def test_inventory_folder_reads_what_ansible_reads() -> None:
    inv = _load("21-inventory-folder")
    assert _resolved(inv) == {
        "core-sw01.example.invalid": (
            ("core", "site_paris"),
            {"ansible_network_os": "nxos", "ansible_user": "ops", "site": "paris"},
        ),
        "core-sw02.example.invalid": (
            ("core", "site_lyon"),
            {"ansible_network_os": "nxos", "ansible_user": "ops", "site": "lyon"},
        ),
        "core-sw03.example.invalid": (
            ("core",),
            {"ansible_network_os": "nxos", "ansible_port": 2203, "ansible_user": "ops"},
        ),
        "ns1.example.invalid": (
            ("dns", "ntp", "services", "site_paris"),
            {
                "ansible_user": "ops",
                "dns_forwarders": ["127.0.0.53"],
                "monitored": True,
                "site": "from-group-vars",
                "stratum": 2,
            },
        ),
        "ns2.example.invalid": (
            ("dns", "services", "site_lyon"),
            {
                "ansible_user": "ops",
                "dns_forwarders": ["127.0.0.53"],
                "monitored": True,
                "site": "from-group-vars",
            },
        ),
        "ns3.example.invalid": (
            ("dns", "services"),
            {
                "ansible_host": "127.0.100.3",
                "ansible_user": "ops",
                "dns_forwarders": ["127.0.0.53"],
                "monitored": True,
                "site": "from-group-vars",
            },
        ),
    }
    assert [Path(s).name for s in inv.sources] == [
        "00-hosts.ini",
        "10-services.yml",
        "20-extra",
        "30-legacy.ini",
        "hosts.yaml",
        "paris.yml",
    ]


def test_group_vars_of_several_sources_merge_source_by_source() -> None:
    # prod/group_vars/paris.yml (depth 2) loses to shared/group_vars/app.yml (depth 1):
    # Ansible applies a later source's group files after all of an earlier source's.
    assert _resolved(_load("22-multi-source")) == {
        "app1.example.invalid": (
            ("app", "france", "paris"),
            {"backup": "shared", "dns": "from-shared-app", "owner": "shared-app"},
        ),
        "app2.example.invalid": (
            ("app", "app_paris", "france", "paris"),
            {"backup": "shared", "dns": "from-shared-app", "owner": "shared-app-paris"},
        ),
        "app3.example.invalid": (
            ("app", "france", "lyon"),
            {"backup": "shared", "dns": "from-shared-app", "owner": "shared-app"},
        ),
    }


def test_the_same_folder_twice_applies_at_each_place(tmp_path: Path) -> None:
    for folder in ("a", "b"):
        (tmp_path / folder / "group_vars").mkdir(parents=True)
    (tmp_path / "a" / "hosts.ini").write_text("[deep:children]\nx\n[x]\nh1\n")
    (tmp_path / "a" / "more.ini").write_text("[y]\nh1\n")
    (tmp_path / "b" / "hosts.ini").write_text("[z]\nh1\n")
    (tmp_path / "a" / "group_vars" / "x.yml").write_text("v: a-x\n")
    (tmp_path / "b" / "group_vars" / "z.yml").write_text("v: b-z\n")
    a, b, a2 = (
        tmp_path / "a" / "hosts.ini",
        tmp_path / "b" / "hosts.ini",
        tmp_path / "a" / "more.ini",
    )
    assert load_inventory([a, b]).hosts["h1"].vars["v"] == "b-z"
    assert load_inventory([a, b, a2]).hosts["h1"].vars["v"] == "a-x"  # a's folder again, last


def test_yaml_form_json_reads_numbers_as_json() -> None:
    # Ansible reads a file as JSON first: 1e3 is a number there, text in YAML.
    inv = _load("14-yaml-form.json")
    assert inv.hosts["w3.example.invalid"].port == 2022
    assert dict(inv.hosts["w1.example.invalid"].vars) == {
        "ansible_user": "deploy",
        "env": "lab",
        "http_port": 8080,
    }


def test_json_numbers_in_group_vars(tmp_path: Path) -> None:
    (tmp_path / "group_vars").mkdir()
    (tmp_path / "group_vars" / "all.json").write_text('{"ratio": 1e3, "yaml": "1e3"}')
    (tmp_path / "hosts.yml").write_text("all:\n  hosts:\n    h1:\n      text: 1e3\n")
    h1 = load_inventory([tmp_path / "hosts.yml"]).hosts["h1"]
    assert (h1.vars["ratio"], h1.vars["yaml"], h1.vars["text"]) == (1000.0, "1e3", "1e3")


@pytest.mark.parametrize(
    ("name", "pattern", "hosts"),
    [
        # A subscript counts in the group's own order ([backup] lists bkp* first), its
        # children's hosts after its own; the result is still shown in inventory order.
        ("03-ranges.ini", "backup[0]", ("bkp001.example.invalid",)),
        ("03-ranges.ini", "backup[-1]", ("web03.dc1.example.invalid",)),
        (
            "03-ranges.ini",
            "backup[1:]",
            (
                "web01.dc1.example.invalid",
                "web02.dc1.example.invalid",
                "web03.dc1.example.invalid",
                "bkp002.example.invalid",
                "bkp003.example.invalid",
            ),
        ),
        ("03-ranges.ini", "all[0]", ("mon1.example.invalid",)),
        ("06-all-vars-ungrouped.ini", "all[0]", ("printer.example.invalid",)),
        ("06-all-vars-ungrouped.ini", "apps[0]", ("api1.example.invalid",)),
        ("10-nested.yml", "europe[-1]", ("pa-b-srv01.example.invalid",)),
        ("19-diamond.ini", "leaf[1]", ("h2.example.invalid",)),
        ("21-inventory-folder", "core[-1]", ("core-sw03.example.invalid",)),
    ],
)
def test_subscripts_count_in_ansible_order(name: str, pattern: str, hosts: tuple[str, ...]) -> None:
    assert select_hosts(_load(name), pattern) == hosts


def test_a_name_of_a_host_and_a_group_is_the_group_with_a_warning(tmp_path: Path) -> None:
    inv = tmp_path / "hosts.ini"
    inv.write_text("[web]\ndb1\nw2\n[db1]\nx1\n")  # a host and a group both named db1
    loaded = load_inventory([inv])
    assert select_hosts(loaded, "db1") == ("x1",)  # alone too: the group, as Ansible answers
    assert select_hosts(loaded, "all:!db1") == ("db1", "w2")
    assert select_hosts(loaded, "db1[0]") == ("x1",)
    assert select_hosts(loaded, "w2") == ("w2",)  # a host name alone is still the host
    (warning,) = name_clashes(loaded, "web:!db1")
    assert "'db1'" in warning and "both a host and a group" in warning
    assert "the group 'db1' is selected" in warning
    assert name_clashes(loaded, "web:w2") == []


@pytest.mark.parametrize(
    ("text", "split"),
    [
        ("[web1.example.invalid]:2222", ("web1.example.invalid", 2222)),
        ("[127.0.0.10]:2201", ("127.0.0.10", 2201)),
        ("[2001:db8::11]:2222", ("2001:db8::11", 2222)),
        ("2001:db8::10", ("2001:db8::10", None)),
        ("::ffff:127.0.0.1", ("::ffff:127.0.0.1", None)),
        ("web[:3]:2400", ("web[:3]:2400", None)),  # not an address: the whole text is a name
        ("host@x:2222", ("host@x:2222", None)),
        ("web_:22", ("web_:22", None)),
        ("web[1:3]", ("web[1:3]", None)),
    ],
)
def test_host_port_like_ansible_parse_address(text: str, split: tuple[str, int | None]) -> None:
    assert split_host_port(text) == split


def test_host_list_keeps_brackets_literal() -> None:
    assert split_host_port("web[1:3]:22", ranges=False) == ("web[1:3]:22", None)
    inv = load_inventory([Path("web[1:2],db1:2202,")])
    assert list(inv.hosts) == ["web[1:2]", "db1"] and inv.hosts["db1"].port == 2202


def test_a_port_of_zero_is_no_port(tmp_path: Path) -> None:
    inv = tmp_path / "hosts"
    inv.write_text("web1:0\n")
    assert load_inventory([inv]).hosts["web1"].port is None  # Ansible: Host(name, 0)


def test_section_with_a_semicolon_comment_is_a_located_error(tmp_path: Path) -> None:
    inv = tmp_path / "hosts.ini"
    inv.write_text("[web] ; old comment\nweb1\n")
    with pytest.raises(InputError) as caught:
        load_inventory([inv])
    (issue,) = caught.value.issues
    assert str(issue).startswith(f"{inv}:1:1: error: range '[web]' must be")
    assert "then only a # comment" in str(issue)


def test_vault_needs_text(tmp_path: Path) -> None:
    inv = tmp_path / "hosts.yml"
    inv.write_text("all:\n  hosts:\n    h1:\n      secret: !vault 123\n")
    with pytest.raises(InputError) as caught:
        load_inventory([inv])
    assert str(caught.value.issues[0]).startswith(f"{inv}:4:15: error: YAML value: !vault")


def test_cli_error_is_one_located_line_and_exit_2(tmp_path: Path) -> None:
    inv = tmp_path / "hosts.ini"
    inv.write_text("[web]\nweb[1:x]:2222\n")
    out = subprocess.run(
        [sys.executable, "-m", "runbook", "hosts", "-i", str(inv)],
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin", "NO_COLOR": "1"},
        timeout=60,
        check=False,
    )
    assert out.returncode == 2
    assert f"{inv}:2:1: error: range '[1:x]'" in out.stderr
    assert "Traceback" not in out.stderr + out.stdout

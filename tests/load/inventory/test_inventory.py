"""Loading Ansible inventories: hosts, groups and variables exactly as Ansible resolves them."""

from __future__ import annotations

from pathlib import Path

from inventory_helpers import SAMPLES

from runbook.load.inventory._load import load_inventory
from runbook.model import Inventory


def _load(*paths: Path) -> Inventory:
    return load_inventory(list(paths))


def test_yaml_nested_children_and_precedence() -> None:
    inv = _load(SAMPLES / "hospital.yml")
    assert list(inv.hosts) == [
        "console.paris",
        "core-sw-pa01",
        "core-sw-pa02",
        "nas-pa01",
        "core-sw-ly01",
        "nas-ly01",
        "dc-pa01.hospital.example",
        "dc-ly01.hospital.example",
        "mx1",
        "mx2",
        "mx3",
        "ipbx-a.paris",
        "ipbx-b.paris",
    ]
    paris = inv.hosts["core-sw-pa01"]
    # Groups include ancestors and exclude `all`, sorted, as Ansible's group_names.
    assert paris.groups == ("core", "datacenters", "site_paris")
    # core (depth 1) and site_paris (depth 2): the deeper group wins ntp_server over `all`;
    # ansible_user comes from core because site_paris does not set it.
    assert paris.vars["ntp_server"] == "10.10.0.1"
    assert paris.user == "netadmin"
    assert paris.vars["backup_window"] == "02:00"
    assert paris.vars["dns_domain"] == "hospital.example"
    # In Lyon, site_lyon (depth 2) beats core (depth 1) although core is the "role" group:
    # Ansible sorts by depth before anything else.
    assert inv.hosts["core-sw-ly01"].user == "lyon-ops"
    nas = inv.hosts["nas-ly01"]
    assert (nas.address, nas.port, nas.user) == ("10.20.2.11", 2222, "lyon-ops")
    console = inv.hosts["console.paris"]
    assert console.groups == ("ungrouped",)
    assert (console.address, console.port, console.user) == ("10.10.0.5", None, "ops")
    assert inv.hosts["dc-ly01.hospital.example"].proxy_jump == "ops@bastion.lyon:2200"
    assert inv.hosts["mx2"].key_file == "~/.ssh/mail_ed25519"
    assert inv.hosts["ipbx-b.paris"].proxy_jump == "bastion.paris"
    assert inv.hosts["ipbx-b.paris"].groups == ("ipbx", "telephony")


def test_yaml_groups_and_locations() -> None:
    inv = _load(SAMPLES / "hospital.yml")
    assert list(inv.groups)[:2] == ["all", "ungrouped"]
    # Top-level groups hang under `all`; `ungrouped` holds only hosts in no other group.
    assert set(inv.groups["all"].children) >= {"ungrouped", "datacenters", "core", "mail"}
    assert inv.groups["ungrouped"].hosts == ("console.paris",)
    assert inv.groups["datacenters"].children == ("site_paris", "site_lyon")
    assert inv.groups["site_paris"].hosts == ("core-sw-pa01", "core-sw-pa02", "nas-pa01")
    assert inv.groups["site_paris"].vars == {"site": "paris", "ntp_server": "10.10.0.1"}
    loc = inv.hosts["nas-ly01"].location
    assert loc is not None and (loc.line, loc.col) == (30, 13)
    assert inv.sources == (str(SAMPLES / "hospital.yml"),)


def test_ini_ranges_values_and_sections() -> None:
    inv = _load(SAMPLES / "hosts.ini")
    assert list(inv.hosts)[:6] == [
        "jump.example.org",
        "pbx01.tel.example",
        "pbx02.tel.example",
        "pbx03.tel.example",
        "pbx04.tel.example",
        "pbx-backup.tel.example",
    ]
    assert [h for h in inv.hosts if h.startswith("sbc")] == [
        "sbc-a.tel.example",
        "sbc-b.tel.example",
        "sbc-c.tel.example",
    ]
    # web[01:09:4]: stride 4, zero padding kept.
    assert [h for h in inv.hosts if h.startswith("web0")] == [
        "web01.apps.example",
        "web05.apps.example",
        "web09.apps.example",
    ]
    backup = inv.hosts["pbx-backup.tel.example"]
    assert (backup.address, backup.port) == ("192.0.2.50", 2222)  # name:port shorthand
    # Host-line values go through literal_eval: numbers, booleans and lists are typed.
    assert backup.vars["queue_size"] == 128 and backup.vars["enabled"] is True
    assert inv.hosts["db01.apps.example"].vars["replicas"] == [1, 2]
    web = inv.hosts["web05.apps.example"]
    assert web.vars["motd"] == "restored after outage"
    assert web.vars["http_port"] == 8080  # the host line beats [web:vars]
    # [web:vars] (depth 2, child of apps) beats [apps:vars] (depth 1).
    assert inv.hosts["web-legacy.apps.example"].vars["http_port"] == 8000
    assert inv.hosts["db01.apps.example"].vars["http_port"] == 80
    # A :vars value that is not a literal is the raw rest of the line, comment included.
    assert web.vars["tier"].startswith("gold  # inline")
    assert inv.hosts["pbx01.tel.example"].user == "asterisk"
    assert backup.user == "root"  # from [all:vars]
    assert backup.proxy_jump == "relay@jump.example.org"  # from the ProxyCommand
    assert backup.groups == ("pbx", "telephony")
    assert inv.hosts["jump.example.org"].groups == ("ungrouped",)


def test_ini_legacy_ssh_aliases() -> None:
    legacy = _load(SAMPLES / "hosts.ini").hosts["web-legacy.apps.example"]
    assert (legacy.address, legacy.port, legacy.user) == ("192.0.2.80", 2201, "legacy")


def test_ansible_inventory_list_json() -> None:
    inv = _load(SAMPLES / "list.json")
    assert list(inv.hosts) == ["app1.example", "app2.example", "db1.example", "lonely.example"]
    app2 = inv.hosts["app2.example"]
    assert (app2.address, app2.port, app2.user) == ("198.51.100.12", 2222, "deploy")
    assert app2.groups == ("apps",)
    assert inv.hosts["lonely.example"].groups == ("ungrouped",)
    assert inv.hosts["db1.example"].vars["db_password"] == "hunter2"  # masking is the CLI's job
    assert set(inv.groups) == {"all", "ungrouped", "apps", "databases"}


def test_folder_loads_files_and_group_vars() -> None:
    inv = _load(SAMPLES / "folder")
    # README.md, the editor backup `10-sites.yml~` and the hidden file are skipped.
    assert inv.sources == tuple(str(SAMPLES / "folder" / n) for n in ("10-sites.yml", "20-roles"))
    assert list(inv.hosts) == ["mail-pa01", "mail-pa02", "mail-ly01"]
    pa01, pa02, ly01 = (inv.hosts[n] for n in inv.hosts)
    assert pa01.groups == ("mail", "paris")
    # Ansible: group_vars/mail beats the inventory file's [mail:vars]; host vars beat both.
    assert pa01.vars["relay"] == "from-group-vars"
    assert pa02.vars["relay"] == "secondary"
    assert pa01.user == "mailops" and pa01.proxy_jump == "gw.example"
    assert ly01.port == 2022  # host_vars/mail-ly01.yml
    # A `!vault` value cannot be decrypted offline: its ciphertext is kept as text, and a
    # whole-file vault (group_vars/mail/vault.yml) is skipped.
    assert ly01.vars["smtp_token"].startswith("$ANSIBLE_VAULT;1.1;AES256")
    assert pa01.vars["mail_service"] == "postfix"


def test_group_priority_and_alphabetical_merge(tmp_path: Path) -> None:
    inv = tmp_path / "hosts.yml"
    inv.write_text(
        "all:\n  children:\n"
        "    alpha:\n      vars: {color: alpha}\n      hosts: {h1: {}, h2: {}}\n"
        "    beta:\n      vars: {color: beta}\n      hosts: {h1: {}, h2: {}}\n"
        "    gamma:\n      vars: {color: gamma, ansible_group_priority: 10}\n"
        "      hosts: {h2: {}}\n"
    )
    hosts = load_inventory([inv]).hosts
    # Same depth: later name wins (beta over alpha) unless a priority is higher.
    assert hosts["h1"].vars["color"] == "beta"
    assert hosts["h2"].vars["color"] == "gamma"
    assert "ansible_group_priority" not in hosts["h2"].vars  # Ansible keeps it off the vars


def test_same_host_in_several_places_and_files(tmp_path: Path) -> None:
    first = tmp_path / "a.yml"
    first.write_text(
        "all:\n  hosts:\n    db1: {ansible_host: 10.0.0.1, disk: sda}\n"
        "  children:\n    db:\n      hosts:\n        db1: {ansible_port: 2200}\n"
    )
    second = tmp_path / "b.ini"
    second.write_text("[backup]\ndb1 ansible_host=10.9.9.9\n")
    inv = load_inventory([first, second])
    db1 = inv.hosts["db1"]
    # Declarations merge; the later value of a key wins, across files too.
    assert (db1.address, db1.port, db1.vars["disk"]) == ("10.9.9.9", 2200, "sda")
    assert db1.groups == ("backup", "db")
    assert inv.groups["ungrouped"].hosts == ()


def test_ini_port_shorthand_applies_when_the_host_is_created(tmp_path: Path) -> None:
    inv = tmp_path / "hosts.ini"
    inv.write_text("[a]\nweb1:2201\n[b]\nweb1:2202\n")
    # ansible-core sets ansible_port from name:port only on the host's first declaration.
    assert load_inventory([inv]).hosts["web1"].port == 2201


def test_ini_children_declared_after_use_and_vars_before(tmp_path: Path) -> None:
    inv = tmp_path / "hosts"
    inv.write_text("[apps:vars]\ntier=1\n\n[apps:children]\nweb\n\n[web]\nweb1\n\n[apps]\n")
    web1 = load_inventory([inv]).hosts["web1"]
    assert web1.groups == ("apps", "web") and web1.vars["tier"] == 1


def test_content_decides_the_form(tmp_path: Path) -> None:
    yaml_json = tmp_path / "inv.json"  # the YAML form written as JSON
    yaml_json.write_text('{"all": {"hosts": {"a1": {"ansible_port": 2022}}}}')
    assert load_inventory([yaml_json]).hosts["a1"].port == 2022
    bare = tmp_path / "hosts"  # INI without any section: every line is an ungrouped host
    bare.write_text("b1\nb2 ansible_host=10.0.0.2\n")
    inv = load_inventory([bare])
    assert list(inv.hosts) == ["b1", "b2"] and inv.hosts["b2"].address == "10.0.0.2"
    flow = tmp_path / "flow.yml"
    flow.write_text("{all: {children: {web: {hosts: {w1: }}}}}\n")
    assert load_inventory([flow]).hosts["w1"].groups == ("web",)


def test_host_list_like_ansible(tmp_path: Path) -> None:
    inv = load_inventory([Path("web1,web2:2222,")])
    assert list(inv.hosts) == ["web1", "web2"] and inv.hosts["web2"].port == 2222


def test_connection_templates_render_as_ansible_renders_them(tmp_path: Path) -> None:
    inv = tmp_path / "hosts.yml"
    inv.write_text(
        """\
all:
  vars:
    domain: example.org
    mgmt: "10.9.{{ rack }}"
  hosts:
    w1:
      ansible_host: "{{ inventory_hostname }}.{{ domain }}"
    db1.dc1:
      rack: 4
      ansible_host: "{{ mgmt }}.{{ inventory_hostname_short | length }}"
      ansible_user: "{{ group_names | join('-') or 'nobody' }}"
    w2:
      ansible_host: "{{ lookup('pipe', 'hostname') }}"
    w3:
      ansible_host: "{{ not_defined }}.example.org"
"""
    )
    hosts = load_inventory([inv]).hosts
    assert hosts["w1"].address == "w1.example.org"
    assert hosts["db1.dc1"].address == "10.9.4.3"  # a variable that is itself a template
    assert hosts["db1.dc1"].user == "ungrouped"  # its group_names, as ansible-core 2.19 says
    # what runbook cannot render stays as written: that host fails alone when reached
    assert hosts["w2"].address == "{{ lookup('pipe', 'hostname') }}"
    assert hosts["w3"].address == "{{ not_defined }}.example.org"
    # the variables themselves stay as written, as `ansible-inventory --list` shows them
    assert hosts["w1"].vars["ansible_host"] == "{{ inventory_hostname }}.{{ domain }}"


def test_group_vars_directory_next_to_an_inventory_file(tmp_path: Path) -> None:
    (tmp_path / "group_vars").mkdir()
    (tmp_path / "group_vars" / "all").write_text("ansible_user: deploy\nntp: 1.1.1.1\n")
    (tmp_path / "group_vars" / "web.yaml").write_text("ntp: 2.2.2.2\n")
    (tmp_path / "group_vars" / "unknown.yml").write_text("x: 1\n")  # no such group: ignored
    inv = tmp_path / "prod.ini"
    inv.write_text("[web]\nw1 ansible_user=root\n[all:vars]\nntp=0.0.0.0\n")
    w1 = load_inventory([inv]).hosts["w1"]
    assert (w1.user, w1.vars["ntp"]) == ("root", "2.2.2.2")


def test_unsafe_connection_values_stay_as_written(tmp_path: Path) -> None:
    # as ansible-core 2.19 does: `ansible -m debug -a var=ansible_host` says "{{ x }}" for u1
    yml = tmp_path / "hosts.yml"
    yml.write_text(
        "all:\n  vars:\n    x: real.example\n  hosts:\n"
        '    u1:\n      ansible_host: !unsafe "{{ x }}"\n'
        '    t1:\n      ansible_host: "{{ x }}"\n'
    )
    # the same inventory as `ansible-inventory --list` writes it
    listed = tmp_path / "listed.json"
    listed.write_text(
        '{"_meta": {"hostvars": {"u1": {"ansible_host": {"__ansible_unsafe": "{{ x }}"},'
        ' "x": "real.example"}, "t1": {"ansible_host": "{{ x }}", "x": "real.example"}}},'
        ' "all": {"children": ["ungrouped"]}, "ungrouped": {"hosts": ["u1", "t1"]}}'
    )
    for source in (yml, listed):
        hosts = load_inventory([source]).hosts
        assert (hosts["u1"].address, hosts["t1"].address) == ("{{ x }}", "real.example")

"""Where a host really is: inventory over ~/.ssh/config over defaults; ProxyJump chains."""

from __future__ import annotations

from pathlib import Path

import pytest

from runbook.errors import HostError
from runbook.executors.ssh._client import config_lookup
from runbook.executors.ssh._target import (
    Hop,
    TargetResolver,
    default_known_hosts,
    parse_jump,
    read_ssh_config,
    split_jumps,
)
from runbook.model import Host


def resolver(tmp_path: Path, config: str, *hosts: Host) -> TargetResolver:
    path = tmp_path / "ssh_config"
    path.write_text(config)
    return TargetResolver({h.name: h for h in hosts}, config_lookup(path), local_user="oper")


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("bastion", (None, "bastion", None)),
        ("admin@bastion", ("admin", "bastion", None)),
        ("admin@bastion:2200", ("admin", "bastion", 2200)),
        ("bastion:2200", (None, "bastion", 2200)),
        ("ssh://admin@bastion:2200", ("admin", "bastion", 2200)),
        ("[2001:db8::1]:2200", (None, "2001:db8::1", 2200)),
        ("me@2001:db8::1", ("me", "2001:db8::1", None)),
    ],
)
def test_parse_jump_forms(spec: str, expected: tuple[str | None, str, int | None]) -> None:
    assert parse_jump(spec) == expected


def test_split_jumps_handles_lists_and_none() -> None:
    assert split_jumps("a, b,c") == ["a", "b", "c"]
    assert split_jumps("none") == []
    assert split_jumps(None) == []


def test_inventory_wins_over_ssh_config_which_wins_over_defaults(tmp_path: Path) -> None:
    r = resolver(
        tmp_path,
        "Host db1\n  HostName 10.0.0.5\n  User dba\n  Port 2200\n  IdentityFile ~/k1\n"
        "Host *\n  User fallback\n",
        Host("db1", "db1"),
        Host("db2", "db2", port=2222, user="root", key_file="/keys/db2"),
        Host("db3", "10.9.9.9"),
    )
    hosts = r.hosts
    t1 = r.resolve(hosts["db1"]).hop
    assert (t1.address, t1.port, t1.user) == ("10.0.0.5", 2200, "dba")
    assert t1.key_files == (str(Path("~/k1").expanduser()),)
    t2 = r.resolve(hosts["db2"]).hop
    assert (t2.address, t2.port, t2.user, t2.key_files) == ("db2", 2222, "root", ("/keys/db2",))
    t3 = r.resolve(hosts["db3"]).hop
    assert (t3.address, t3.port, t3.user) == ("10.9.9.9", 22, "fallback")


def test_without_config_the_local_user_and_port_22(tmp_path: Path) -> None:
    r = TargetResolver({}, local_user="oper")
    hop = r.resolve(Host("x", "192.0.2.1")).hop
    assert hop == Hop("x", "192.0.2.1", 22, "oper", ())


def test_proxyjump_names_an_inventory_host_first(tmp_path: Path) -> None:
    bastion = Host("bastion", "127.0.0.9", port=2201, user="jumper", key_file="/k/b")
    target = Host("app", "10.0.0.7", proxy_jump="bastion")
    r = resolver(tmp_path, "Host bastion\n  HostName 192.0.2.99\n", bastion, target)
    t = r.resolve(target)
    assert [(j.address, j.port, j.user, j.key_files) for j in t.jumps] == [
        ("127.0.0.9", 2201, "jumper", ("/k/b",))
    ]
    assert t.key == (("jumper", "127.0.0.9", 2201, ("/k/b",)), ("oper", "10.0.0.7", 22, ()))


def test_proxyjump_then_ssh_config_then_plain_name(tmp_path: Path) -> None:
    target = Host("app", "10.0.0.7", proxy_jump="gw1,admin@gw2.example:2022")
    r = resolver(tmp_path, "Host gw1\n  HostName 192.0.2.1\n  User ops\n  Port 443\n", target)
    jumps = r.resolve(target).jumps
    assert [(j.address, j.port, j.user) for j in jumps] == [
        ("192.0.2.1", 443, "ops"),
        ("gw2.example", 2022, "admin"),
    ]


def test_proxyjump_from_ssh_config_and_the_first_jumps_own_jump(tmp_path: Path) -> None:
    config = (
        "Host 10.0.*\n  ProxyJump inner\n"
        "Host inner\n  HostName 192.0.2.2\n  ProxyJump outer\n"
        "Host outer\n  HostName 192.0.2.1\n"
    )
    target = Host("app", "10.0.0.7")
    jumps = resolver(tmp_path, config, target).resolve(target).jumps
    assert [j.address for j in jumps] == ["192.0.2.1", "192.0.2.2"]


def test_inventory_proxyjump_none_overrides_ssh_config(tmp_path: Path) -> None:
    target = Host("app", "10.0.0.7", proxy_jump="none")
    r = resolver(tmp_path, "Host 10.0.*\n  ProxyJump inner\n", target)
    assert r.resolve(target).jumps == ()


def test_proxyjump_loop_is_a_host_error_naming_the_path(tmp_path: Path) -> None:
    a = Host("a", "10.0.0.1", proxy_jump="b")
    b = Host("b", "10.0.0.2", proxy_jump="a")
    r = resolver(tmp_path, "", a, b)
    with pytest.raises(HostError) as e:
        r.resolve(a)
    assert e.value.kind == "error"
    assert "a → b → a" in e.value.detail


def test_ssh_config_include_is_inlined(tmp_path: Path) -> None:
    (tmp_path / "conf.d").mkdir()
    (tmp_path / "conf.d" / "site.conf").write_text("Host site-*\n  User siteadmin\n")
    main = tmp_path / "config"
    main.write_text("Include conf.d/*.conf\nHost *\n  Port 2222\n")
    assert "siteadmin" in read_ssh_config(main)
    lookup = config_lookup(main)
    assert lookup("site-7")["user"] == "siteadmin"
    assert lookup("site-7")["port"] == "2222"


def test_default_known_hosts_from_env_and_beside_the_inventory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    inv_dir = tmp_path / "inventory"
    inv_dir.mkdir()
    (inv_dir / "hosts.yml").write_text("all: {}\n")
    (inv_dir / "known_hosts").write_text("")
    mine = tmp_path / "mine"
    monkeypatch.setenv("RUNBOOK_KNOWN_HOSTS", str(mine))
    assert default_known_hosts([str(inv_dir / "hosts.yml")]) == [mine, inv_dir / "known_hosts"]
    assert default_known_hosts([str(inv_dir)]) == [mine, inv_dir / "known_hosts"]


def test_connect_timeout_from_ansible_vars_then_ssh_config(tmp_path: Path) -> None:
    a = Host("a", "10.0.0.1", vars={"ansible_ssh_timeout": 3})
    b = Host("b", "10.0.0.2", vars={"ansible_timeout": "4"})
    c = Host("c", "10.0.0.3")
    r = resolver(tmp_path, "Host *\n  ConnectTimeout 7\n", a, b, c)
    assert [r.resolve(h).hop.connect_timeout_s for h in (a, b, c)] == [3.0, 4.0, 7.0]
    assert TargetResolver({}).resolve(c).hop.connect_timeout_s is None

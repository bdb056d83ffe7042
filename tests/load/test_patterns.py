"""Ansible host patterns: every operator, the order they apply in, and located errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from runbook.errors import InputError
from runbook.load._patterns import select_hosts, split_pattern
from runbook.load.inventory._load import load_inventory
from runbook.model import Inventory, Location

INVENTORY = """\
all:
  hosts:
    console:
  children:
    paris:
      hosts: {core-pa1: {}, core-pa2: {}, mail-pa1: {}, web-pa1: {}}
    lyon:
      hosts: {core-ly1: {}, mail-ly1: {}}
    core:
      hosts: {core-pa1: {}, core-pa2: {}, core-ly1: {}}
    mail:
      hosts: {mail-pa1: {}, mail-ly1: {}}
    apps:
      children:
        web:
          hosts: {web-pa1: {}}
    empty:
"""


@pytest.fixture(scope="module")
def inv(tmp_path_factory: pytest.TempPathFactory) -> Inventory:
    path = tmp_path_factory.mktemp("inv") / "hosts.yml"
    path.write_text(INVENTORY)
    return load_inventory([path])


ALL = ("console", "core-pa1", "core-pa2", "mail-pa1", "web-pa1", "core-ly1", "mail-ly1")


@pytest.mark.parametrize(
    ("pattern", "hosts"),
    [
        ("all", ALL),
        ("*", ALL),
        ("console", ("console",)),
        ("core", ("core-pa1", "core-pa2", "core-ly1")),
        ("apps", ("web-pa1",)),  # a group holds its children's hosts
        ("ungrouped", ("console",)),
        ("core:mail", ("core-pa1", "core-pa2", "mail-pa1", "core-ly1", "mail-ly1")),
        ("core,mail", ("core-pa1", "core-pa2", "mail-pa1", "core-ly1", "mail-ly1")),
        (" core , mail ", ("core-pa1", "core-pa2", "mail-pa1", "core-ly1", "mail-ly1")),
        ("core:&paris", ("core-pa1", "core-pa2")),
        ("paris:!core", ("mail-pa1", "web-pa1")),
        ("!core", ("console", "mail-pa1", "web-pa1", "mail-ly1")),  # base is `all`
        ("&lyon", ("core-ly1", "mail-ly1")),
        ("core-*", ("core-pa1", "core-pa2", "core-ly1")),  # glob over host names
        ("*-ly?", ("core-ly1", "mail-ly1")),
        ("~(core|mail)-ly", ("core-ly1", "mail-ly1")),  # regex, anchored at the start
        ("~ly", ("core-ly1", "mail-ly1")),  # the group lyon starts with "ly"
        ("~pa1", ()),  # re.match: no match in the middle of a name
        ("core[0]", ("core-pa1",)),
        ("core[-1]", ("core-ly1",)),
        ("core[1:]", ("core-pa2", "core-ly1")),
        ("core[0:1]", ("core-pa1", "core-pa2")),
        ("mail:web-pa1", ("mail-pa1", "web-pa1", "mail-ly1")),
        ("empty:console", ("console",)),  # an empty group is known, not an error
    ],
)
def test_pattern(inv: Inventory, pattern: str, hosts: tuple[str, ...]) -> None:
    if not hosts:
        with pytest.raises(InputError):
            select_hosts(inv, pattern)
        return
    assert select_hosts(inv, pattern) == hosts


def test_glob_matching_a_group_takes_all_its_hosts(inv: Inventory) -> None:
    # `co*` matches the group `core` and the host `console`: both count.
    assert select_hosts(inv, "co*") == ("console", "core-pa1", "core-pa2", "core-ly1")


@pytest.mark.parametrize(
    "pattern",
    ["paris:!core:&mail", "!core:paris:&mail", "&mail:!core:paris", "&mail,paris,!core"],
)
def test_unions_then_intersections_then_exclusions_whatever_the_order(
    inv: Inventory, pattern: str
) -> None:
    assert select_hosts(inv, pattern) == ("mail-pa1",)


def test_result_is_in_inventory_order_without_duplicates(inv: Inventory) -> None:
    assert select_hosts(inv, "lyon:core:paris:core-pa1") == ALL[1:]


def test_split_keeps_ranges_and_ipv6() -> None:
    assert split_pattern("web[0:2]:&db") == ["web[0:2]", "&db"]
    assert split_pattern("fe80::1") == ["fe80::1"]
    assert split_pattern("a,b:c") == ["a", "b:c"]  # with a comma, ':' is not a separator


def test_unknown_name_is_located_with_did_you_mean(inv: Inventory) -> None:
    where = Location("playbooks/restore.yml", 12, 12)
    with pytest.raises(InputError) as caught:
        select_hosts(inv, "core:!lyom", where)
    (issue,) = caught.value.issues
    assert str(issue) == (
        "playbooks/restore.yml:12:12: error: 'lyom' in host pattern 'core:!lyom' names no "
        "host or group (did you mean 'lyon'?)"
    )


def test_every_unknown_part_is_reported(inv: Inventory) -> None:
    with pytest.raises(InputError) as caught:
        select_hosts(inv, "cor:mial")
    assert [i.hint for i in caught.value.issues] == ["did you mean 'core'?", "did you mean 'mail'?"]


@pytest.mark.parametrize(
    ("pattern", "message"),
    [
        ("core:&lyon:&paris", "matches no host"),
        ("~(", "bad regular expression"),
        ("~[", "cannot read host pattern"),
        ("core[7]", "only 3 hosts"),
        ("", "empty host pattern"),
        ("core:!", "no name"),
    ],
)
def test_errors(inv: Inventory, pattern: str, message: str) -> None:
    with pytest.raises(InputError, match=message.replace("[", r"\[").replace("(", r"\(")):
        select_hosts(inv, pattern)


def test_a_new_inventory_is_indexed_afresh(tmp_path: Path) -> None:
    for n in range(3):
        path = tmp_path / f"h{n}.ini"
        path.write_text(f"[g]\nhost{n}\n")
        assert select_hosts(load_inventory([path]), "g") == (f"host{n}",)


def test_an_inventory_without_hosts_says_so() -> None:
    with pytest.raises(InputError, match="the inventory has no hosts"):
        select_hosts(Inventory(), "web")

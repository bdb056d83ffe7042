"""`resolve()`: playbook + inventory → hosts per step, --limit, and every issue at once."""

from __future__ import annotations

from pathlib import Path

import pytest

from runbook.errors import InputError
from runbook.load._resolve import resolve

INVENTORY = """\
all:
  hosts:
    console: {}
  children:
    core:
      hosts:
        core-sw-pa01: {ansible_host: 127.0.0.2}
        core-sw-ly01: {ansible_host: 127.0.0.3}
    mail:
      vars: {queue_dir: /var/spool/postfix}
      hosts:
        mx-pa01: {site: paris}
        mx-ly01: {site: lyon}
    paris:
      hosts:
        core-sw-pa01: {}
        mx-pa01: {}
"""

BOOK = """\
playbook: restore
steps:
  - id: power
    manual: Call the NOC.
    hosts: core
  - id: switches
    needs: power
    hosts: core
    until: "ping -c1 {{ host.address }}"
  - id: mail
    needs: switches
    hosts: [mail, "!paris"]
    run: "postqueue -f -d {{ host.vars.queue_dir }}"
  - id: here
    local: true
    run: date
"""


@pytest.fixture()
def files(tmp_path: Path) -> tuple[Path, Path]:
    inventory = tmp_path / "hosts.yml"
    inventory.write_text(INVENTORY)
    book = tmp_path / "book.yml"
    book.write_text(BOOK)
    return book, inventory


def issues_of(book: Path, inventory: list[Path], limit: str | None = None) -> list[str]:
    with pytest.raises(InputError) as info:
        resolve(book, inventory, limit)
    return [str(i) for i in info.value.issues]


def test_each_step_gets_its_hosts_in_inventory_order(files: tuple[Path, Path]) -> None:
    book, inventory = files
    resolved = resolve(book, [inventory])
    assert dict(resolved.step_hosts) == {
        "power": ("core-sw-pa01", "core-sw-ly01"),  # a manual step's hosts, for the operator
        "switches": ("core-sw-pa01", "core-sw-ly01"),
        "mail": ("mx-ly01",),
        "here": (),
    }
    assert resolved.hosts == ("core-sw-pa01", "core-sw-ly01", "mx-ly01")
    assert resolved.playbook.id == "restore" and "console" in resolved.inventory.hosts


def test_limit_narrows_every_step(files: tuple[Path, Path]) -> None:
    book, inventory = files
    resolved = resolve(book, [inventory], limit="paris")
    assert resolved.step_hosts["switches"] == ("core-sw-pa01",)
    assert resolved.step_hosts["mail"] == ()  # nothing left: the run skips it


def test_limit_matching_nothing_is_an_error(files: tuple[Path, Path]) -> None:
    book, inventory = files
    (message,) = issues_of(book, [inventory], limit="berlin")
    # the wording of "matches nothing" belongs to the pattern matcher; the prefix is ours
    assert message.startswith("error: --limit: ") and "'berlin'" in message


def test_a_pattern_matching_nothing_is_located_at_each_step(
    files: tuple[Path, Path], tmp_path: Path
) -> None:
    book, inventory = files
    book.write_text(BOOK.replace("hosts: core", "hosts: cor"))
    found = issues_of(book, [inventory])
    assert len(found) == 2
    assert found[0].startswith(f"{book}:5:12: error: ") and "'cor'" in found[0]
    assert found[1].startswith(f"{book}:8:12: error: ") and "'cor'" in found[1]


def test_playbook_and_inventory_problems_come_together(
    files: tuple[Path, Path], tmp_path: Path
) -> None:
    book, inventory = files
    book.write_text(BOOK.replace("needs: power", "needs: powr"))
    inventory.write_text(INVENTORY + "    mail: {}\n")
    found = issues_of(book, [inventory])
    assert any(f"{book}:7:12: error: unknown step 'powr'" in m for m in found), found
    assert any(m.startswith(f"{inventory}:") and "duplicate key 'mail'" in m for m in found), found


def test_a_broken_inventory_is_reported_as_broken_not_as_missing(
    files: tuple[Path, Path],
) -> None:
    book, inventory = files
    inventory.write_text(INVENTORY + "    mail: {}\n")
    found = issues_of(book, [inventory])
    assert found and all(m.startswith(f"{inventory}:") for m in found), found
    assert not any("no inventory was given" in m or "matches no host" in m for m in found)


def test_templates_are_checked_against_the_hosts(files: tuple[Path, Path]) -> None:
    book, inventory = files
    book.write_text(BOOK.replace("host.vars.queue_dir", "host.vars.site"))
    resolve(book, [inventory])  # every mail host has `site`
    book.write_text(BOOK.replace("host.vars.queue_dir", "host.vars.sit"))
    (message,) = issues_of(book, [inventory])
    assert message == (
        f"{book}:13:10: error: `run` template: 'host.vars.sit' is undefined (host mx-ly01) "
        "(did you mean 'host.vars.site'?)"
    )
    # every host is tried, not only the first: the paris switch has no `site`
    book.write_text(BOOK.replace('"!paris"', "paris").replace("queue_dir", "site"))
    (message,) = issues_of(book, [inventory])
    assert "'host.vars.site' is undefined (host core-sw-pa01)" in message


def test_remote_steps_need_an_inventory(
    files: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    book, _ = files
    monkeypatch.chdir(tmp_path)  # no inventory/ folder here
    (message,) = issues_of(book, [])
    assert message.startswith(
        f"{book}:8:12: error: step 'switches' runs on hosts 'core' but no inventory was given "
        "(and 1 more remote step)"
    )


def test_manual_steps_with_hosts_need_no_inventory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    book = tmp_path / "book.yml"
    book.write_text("steps:\n  - id: power\n    manual: Call the NOC.\n    hosts: core\n")
    resolved = resolve(book, [])
    assert resolved.step_hosts == {"power": ()} and resolved.playbook.steps[0].hosts == "core"


def test_inventory_folder_under_the_current_folder_is_the_default(
    files: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    book, inventory = files
    (tmp_path / "inventory").mkdir()
    inventory.rename(tmp_path / "inventory" / "hosts.yml")
    monkeypatch.chdir(tmp_path)
    assert resolve(book, []).step_hosts["mail"] == ("mx-ly01",)

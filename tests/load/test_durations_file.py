"""The rehearsal `--durations` file against a resolved playbook: whole steps, per host, and
every mistake located at once."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from runbook.errors import InputError
from runbook.load import resolve
from runbook.load._durations_file import load_durations
from runbook.model import Durations

PLAYBOOK = """\
playbook: night
title: A night
steps:
  - {id: utility-power, title: Power, manual: Call the NOC}
  - {id: core-switches, title: Switches, hosts: switches, run: "true", needs: utility-power}
  - {id: restart-mail, title: Mail, hosts: mail, run: "true", needs: core-switches}
"""
INVENTORY = """\
all:
  children:
    switches: {hosts: {sw-a: {ansible_host: 127.0.0.2}}}
    mail: {hosts: {mail-01: {ansible_host: 127.0.0.3}, mail-02: {ansible_host: 127.0.0.4}}}
"""


def load(tmp_path: Path, text: str) -> Durations:
    (tmp_path / "night.yml").write_text(PLAYBOOK)
    (tmp_path / "hosts.yml").write_text(INVENTORY)
    resolved = resolve(tmp_path / "night.yml", [tmp_path / "hosts.yml"])
    path = tmp_path / "durations.yml"
    path.write_text(textwrap.dedent(text))
    return load_durations(path, resolved.playbook, resolved.step_hosts)


def test_whole_steps_and_per_host_durations(tmp_path: Path) -> None:
    durations = load(
        tmp_path,
        """\
        utility-power: 1h30m
        core-switches: 25m
        restart-mail: {mail-01: 4m, mail-02: 90}
        """,
    )
    assert durations.steps == {"utility-power": 5400.0, "core-switches": 1500.0}
    assert durations.hosts == {"restart-mail": {"mail-01": 240.0, "mail-02": 90.0}}
    assert durations.path is not None and durations.path.endswith("durations.yml")


def test_an_empty_file_sets_nothing(tmp_path: Path) -> None:
    durations = load(tmp_path, "# nothing measured yet\n")
    assert (durations.steps, durations.hosts) == ({}, {})


def test_every_mistake_is_located_with_a_fix(tmp_path: Path) -> None:
    with pytest.raises(InputError) as caught:
        load(
            tmp_path,
            """\
            core-switchs: 25m
            utility-power: {noc: 5m}
            restart-mail: {mail-01: soon, mail-3: 4m}
            core-switches: -5
            """,
        )
    issues = caught.value.issues
    where = [f"{i.location.line}:{i.location.col}" for i in issues if i.location]
    assert where == ["1:1", "2:16", "3:25", "3:31", "4:16"]
    assert [i.message for i in issues] == [
        "unknown step 'core-switchs'",
        "step 'utility-power' runs on no inventory host",
        "'soon' is not a duration; write e.g. 90s, 15m, 1h30m, 1d",
        "step 'restart-mail' has no host 'mail-3'",
        "-5 is not a duration (0 or more); write e.g. 90s, 15m, 1h30m, 1d",
    ]
    assert issues[0].hint == "did you mean 'core-switches'?"
    assert issues[1].hint.startswith("give the whole step's duration instead")
    assert issues[3].hint == "did you mean 'mail-02'?"


def test_the_hint_for_hosts_on_a_manual_step_names_the_step(tmp_path: Path) -> None:
    with pytest.raises(InputError) as caught:
        load(tmp_path, "utility-power: {noc: 5m}\n")
    assert caught.value.issues[0].hint == (
        "give the whole step's duration instead, e.g. `utility-power: 10m`"
    )


def test_a_list_is_not_a_durations_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="a durations file is a mapping of step ids"):
        load(tmp_path, "- core-switches: 25m\n")

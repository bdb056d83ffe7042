"""The click group of one command line: a command named exactly is built alone, the same."""

from __future__ import annotations

import pytest
import typer
from typer._click import Context

import runbook.cli as cli

FULL = typer.main.get_command(cli.app)
NAMES = sorted(c.name for c in cli.app.registered_commands if c.name is not None)


def _help(group: typer._click.Group, name: str) -> str:
    command = group.get_command(Context(group, info_name="runbook"), name)
    assert command is not None
    parent = Context(group, info_name="runbook")
    return command.get_help(Context(command, info_name=name, parent=parent))


@pytest.mark.parametrize("name", NAMES)
def test_a_command_built_alone_is_the_one_of_the_whole_group(name: str) -> None:
    alone = cli.click_group(["--state", "x.db", "-q", name, "--help"])
    assert alone.list_commands(Context(alone)) == [name]
    assert _help(alone, name) == _help(FULL, name)
    assert [p.name for p in alone.params] == [p.name for p in FULL.params]  # global options


@pytest.mark.parametrize(
    "argv", [[], ["--help"], ["rn"], ["journal", "verify"], ["-qv", "run"], ["--version"]]
)
def test_anything_else_gets_the_whole_group(argv: list[str]) -> None:
    group = cli.click_group(argv)
    assert group.list_commands(Context(group)) == FULL.list_commands(Context(FULL))


def test_shell_completion_gets_the_whole_group(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("_RUNBOOK_COMPLETE", "complete_bash")
    group = cli.click_group(["run"])
    assert group.list_commands(Context(group)) == FULL.list_commands(Context(FULL))


def test_the_table_of_global_options_is_the_groups_own() -> None:
    # --version and the completion options end the command line's parsing themselves: a
    # line with them gets the whole group (they are not in the table, so they "name" none).
    ending = {"version", "install_completion", "show_completion"}
    options = {
        opt: not p.is_flag  # type: ignore[attr-defined]
        for p in FULL.params
        if p.name not in ending
        for opt in p.opts
    }
    assert options == cli._GLOBAL_OPTIONS

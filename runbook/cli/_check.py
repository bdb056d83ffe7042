"""`runbook validate` and `runbook schema`."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from runbook.cli._app import app, settings


@app.command("validate")
def validate_command(
    playbook: Path = typer.Argument(
        ..., help="The playbook file (YAML).", show_default=False, metavar="PLAYBOOK"
    ),
    inventory: list[Path] | None = typer.Option(
        None,
        "-i",
        "--inventory",
        metavar="INVENTORY",
        help="Inventory file or folder (Ansible YAML, INI or JSON); repeatable. "
        "Default: inventory/ here, if it exists.",
        show_default=False,
    ),
) -> None:
    """Check a playbook and its inventory completely: structure, includes, needs, cycles,
    host patterns and templates.

    Every problem is listed as `file:line:col: error: message (how to fix it)` on stderr
    and the exit code is 2; a valid playbook prints a one-line summary and exits 0.
    Environment variables named by `{env: NAME}` need not be set yet; `run` checks them.
    """
    from runbook.load import name_clashes, resolve  # jinja2 and friends only when used

    resolved = resolve(playbook, list(inventory or ()))
    book = resolved.playbook
    for step in book.steps:
        if step.hosts and "{" not in step.hosts:
            where = step.field_locations.get("hosts", step.location)
            for warning in name_clashes(resolved.inventory, step.hosts):
                typer.echo(f"{where}: warning: {warning}", err=True)
    n_steps, n_hosts, n_phases = len(book.steps), len(resolved.hosts), len(book.phases)
    summary = (
        f"ok: {n_steps} step{_s(n_steps)}, {n_hosts} host{_s(n_hosts)}, "
        f"{n_phases} phase{_s(n_phases)}"
    )
    if len(book.files) > 1:
        summary += f" ({len(book.files)} files)"
    typer.echo(summary)
    if settings().verbosity > 0:
        for name in book.files:
            typer.echo(f"  {name}")


def _s(n: int) -> str:
    return "" if n == 1 else "s"


@app.command("schema")
def schema_command() -> None:
    """Print the JSON Schema (draft 2020-12) of the playbook format, for editors.

    With yaml-language-server (VS Code's YAML extension, Neovim, ...): save it, e.g.
    `runbook schema > playbook.schema.json`, and start a playbook with
    `# yaml-language-server: $schema=playbook.schema.json`.
    """
    from runbook.load import playbook_schema

    typer.echo(json.dumps(playbook_schema(), indent=2, ensure_ascii=False))

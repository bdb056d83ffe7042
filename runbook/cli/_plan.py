"""`runbook plan`: the order, waves, hosts, critical path and planned P50/P90 of a playbook."""

from __future__ import annotations

import sys
from enum import StrEnum
from pathlib import Path

import typer

from runbook.cli._app import app, settings

PIPE_WIDTH = 120


class PlanFormat(StrEnum):
    table = "table"
    json = "json"
    dot = "dot"
    mermaid = "mermaid"


@app.command("plan")
def plan_command(
    playbook: Path = typer.Argument(
        ..., help="The playbook file (YAML).", show_default=False, metavar="PLAYBOOK"
    ),
    inventory: list[Path] | None = typer.Option(
        None,
        "-i",
        "--inventory",
        help="Inventory file or folder (Ansible YAML, INI or JSON); repeatable.",
        show_default=False,
        metavar="INVENTORY",
    ),
    fmt: PlanFormat = typer.Option(
        PlanFormat.table,
        "--format",
        "-f",
        help="table for people; json (stable, sorted) for scripts; dot or mermaid for diagrams.",
    ),
    concurrency: int | None = typer.Option(
        None,
        "--concurrency",
        min=1,
        help="At most N steps at once, as `run` would (default: no limit).",
        show_default=False,
        metavar="N",
    ),
) -> None:
    """Show the dependency order, parallel waves, hosts per step, critical path and the
    planned P50/P90 duration against the playbook's RTO.

    Steps without an `estimate` count as 5m and are marked "(default)". The P50/P90 come
    from the same model as a run's live ETA, refined by the playbook's earlier runs in the
    state file (--state), if any.
    """
    # Heavy imports here, not at module level: `runbook --help` must start fast.
    from runbook.app import history_at
    from runbook.load import resolve
    from runbook.plan import build_plan, to_dot, to_mermaid, write_json

    resolved = resolve(playbook, list(inventory or ()))
    history = history_at(settings().state, resolved.playbook.id)
    plan = build_plan(resolved, concurrency=concurrency, history=history)
    if fmt is PlanFormat.json:
        write_json(plan, sys.stdout)
    elif fmt is PlanFormat.dot:
        sys.stdout.write(to_dot(plan))
    elif fmt is PlanFormat.mermaid:
        sys.stdout.write(to_mermaid(plan))
    else:
        from runbook.present import print_out, render_plan

        print_out(render_plan(plan), color=settings().color, pipe_width=PIPE_WIDTH)

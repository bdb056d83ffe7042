"""`runbook plan`: the order, waves, hosts, critical path and planned P50/P90 of a playbook."""

from __future__ import annotations

import math
import sys
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from runbook.cli._app import app, settings

if TYPE_CHECKING:
    from runbook.forecast import History

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
    no_history: bool = typer.Option(
        False,
        "--no-history",
        help="P50/P90 from the playbook's estimates alone, not refined by earlier runs.",
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
    state file (--state), if any: the table says how many (rehearsals weigh a fifth of a
    live run each); without any, by the runs of the other playbooks in it; --no-history
    leaves them out.
    """
    # Heavy imports here, not at module level: `runbook --help` must start fast.
    from runbook.app import history_at
    from runbook.load import resolve
    from runbook.plan import build_plan, to_dot, to_mermaid, write_json

    resolved = resolve(playbook, list(inventory or ()))
    history = None if no_history else history_at(settings().state, resolved.playbook.id)
    plan = build_plan(resolved, concurrency=concurrency, history=history)
    if fmt is PlanFormat.json:
        write_json(plan, sys.stdout)
    elif fmt is PlanFormat.dot:
        sys.stdout.write(to_dot(plan))
    elif fmt is PlanFormat.mermaid:
        sys.stdout.write(to_mermaid(plan))
    else:
        from runbook.present import print_out, render_plan

        note = history_note(history, no_history)
        print_out(render_plan(plan, note), color=settings().color, pipe_width=PIPE_WIDTH)


def history_note(history: History | None, no_history: bool) -> str:
    """Where the planned P50/P90 come from: the estimates, or these earlier runs."""
    late = ", which plans overrun: about 1.5× expected"  # _reference.py's cold prior
    if no_history:
        return "from the playbook's estimates alone (--no-history)" + late
    if history is not None and not history.runs and history.reference:
        k = len(history.reference)
        import statistics  # decimal, fractions: ~6 ms of every command's start

        ratio = math.exp(statistics.median(r.effect for r in history.reference))
        return (
            f"from the playbook's estimates and {k} run{'s' if k != 1 else ''} of other "
            f"playbooks in the state file (they took {ratio:.1f}× their plans); "
            "--no-history for the estimates alone"
        )
    if history is None or not history.runs:
        return "from the playbook's estimates alone (no earlier runs in the state file)" + late
    n = len(history.runs)
    m = sum(1 for r in history.runs if r.mode == "rehearsal")
    rehearsals = f" ({m} rehearsal{'s' if m != 1 else ''}, each weighing less)" if m else ""
    return (
        f"refined by {n} earlier run{'s' if n != 1 else ''}{rehearsals}; "
        "--no-history for the estimates alone"
    )

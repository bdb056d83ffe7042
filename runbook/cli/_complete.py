"""Tab completion of run ids and step ids (`runbook --install-completion`).

Completion runs on every Tab press, so it reads the journal only when one is there,
never creates one, and answers nothing rather than an error: a broken completion must
not print into the operator's command line.
"""

from __future__ import annotations

from pathlib import Path

import typer

from runbook.errors import RunbookError


def _journal_ids(run: str | None) -> list[str]:
    """Every run id, or with `run` the step ids of that run; [] when there is no journal."""
    from runbook.cli._app import settings
    from runbook.journal import open_journal

    path = settings().state
    if not isinstance(path, Path) or not path.is_file():
        return []  # a database: completion would wait on the network at each Tab
    try:
        with open_journal(path, create=False) as j:
            if run is None:
                return list(reversed(j.run_ids()))  # newest first
            return list(j.state(j.resolve_run_id(run)).steps)
    except (RunbookError, OSError):
        return []


def complete_run(incomplete: str) -> list[str]:
    """Run ids (newest first), and `latest`, that start with what was typed."""
    return [r for r in ["latest", *_journal_ids(None)] if r.startswith(incomplete)]


def complete_step(ctx: typer.Context, incomplete: str) -> list[str]:
    """Step ids of the run named before it on the command line."""
    run = ctx.params.get("run") or ctx.params.get("run_id")
    if not isinstance(run, str):
        return []
    return [s for s in _journal_ids(run) if s.startswith(incomplete)]

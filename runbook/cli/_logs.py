"""`runbook logs RUN [STEP] [--host H] [--follow]`: what steps printed, from the journal."""

from __future__ import annotations

import sys
from collections.abc import Iterable
from typing import TYPE_CHECKING

import typer

from runbook.cli._app import app, settings
from runbook.cli._complete import complete_run, complete_step

if TYPE_CHECKING:
    from runbook.events import RunState

POLL_S = 0.5


def _check(state: RunState, step: str | None, host: str | None) -> None:
    """A step or host the run does not have is a typo: say so, with the near names."""
    import difflib

    from runbook.errors import StateError

    if step is not None and step not in state.steps:
        near = difflib.get_close_matches(step, list(state.steps), n=1)
        hint = f"; did you mean '{near[0]}'?" if near else ""
        raise StateError(f"run {state.run_id} has no step '{step}'{hint}")
    if host is None:
        return
    steps = [state.steps[step]] if step is not None else list(state.steps.values())
    known = sorted({h for s in steps for h in (*s.hosts, *s.host_states)} - {""})
    if host not in known:
        near = difflib.get_close_matches(host, known, n=1)
        hint = f"; did you mean '{near[0]}'?" if near else ""
        if not near:  # say what there is: a few names, or that it ran on this machine
            hint = f" (its hosts: {', '.join(known[:5])}{' …' if len(known) > 5 else ''})"
            if not known:
                hint = " (it ran on this machine: leave out --host)"
        raise StateError(f"no host '{host}' in {step or f'run {state.run_id}'}{hint}")


@app.command("logs")
def logs_command(
    run: str = typer.Argument(
        ...,
        help="Run id, a unique prefix of one, or `latest`.",
        show_default=False,
        autocompletion=complete_run,
    ),
    step: str | None = typer.Argument(
        None, help="Only this step.", show_default=False, autocompletion=complete_step
    ),
    host: str | None = typer.Option(None, "--host", help="Only this host.", metavar="H"),
    follow: bool = typer.Option(
        False, "--follow", "-f", help="Keep printing new output until the run ends (Ctrl-C stops)."
    ),
) -> None:
    """What steps printed: each command, its output and how each host ended, from the journal."""
    from runbook.events import fold
    from runbook.journal import open_journal
    from runbook.present import log_lines

    with open_journal(settings().state, create=False) as j:
        run_id = j.resolve_run_id(run)
        events = j.events(run_id)
        state = fold(events)
        _check(state, step, host)
        shown = _write(log_lines(events, step, host))
        idle = 0
        while follow and not state.is_finished:
            # PostgreSQL wakes us on NOTIFY; SQLite looks every half second (POLL_S at most).
            j.wait_for_events(run_id, state.last_seq, POLL_S)
            new = j.events(run_id, after_seq=state.last_seq)
            for e in new:
                state.apply(e)
            shown += _write(log_lines(new, step, host))
            # No engine and nothing new twice in a row: nobody will write more.
            idle = 0 if new or j.is_engine_live(run_id) else idle + 1
            if idle >= 2:
                typer.echo(
                    f"no engine holds run {run_id}; continue it with: runbook resume {run_id}",
                    err=True,
                )
                break
    if not shown and settings().verbosity >= 0:
        what = f"step {step}" if step else f"run {run_id}"
        typer.echo(f"no output journaled for {what}{f' on {host}' if host else ''}", err=True)


def _write(lines: Iterable[str]) -> int:
    n = 0
    for line in lines:
        try:
            sys.stdout.write(line + "\n")
        except BrokenPipeError:
            return n + 1
        n += 1
    sys.stdout.flush()
    return n

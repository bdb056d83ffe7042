"""Commands for operators: claim, confirm, retry, skip, expect, runs and status."""

from __future__ import annotations

import contextlib
import json
import sys
from enum import StrEnum
from typing import TYPE_CHECKING, Any

import typer

from runbook.cli._app import app, settings
from runbook.cli._complete import complete_run, complete_step

if TYPE_CHECKING:
    from runbook.journal import Answer, EventStore, Recorded

RUN_HELP = "Run id, a unique prefix of one, or `latest`."
OPERATOR_HELP = "Who you are, for the journal (default: $RUNBOOK_OPERATOR, else your login)."


class StatusFormat(StrEnum):
    text = "text"
    json = "json"
    md = "md"  # paste-ready update for the crisis cell (runbook/report/_status_md.py)


class RunsFormat(StrEnum):
    text = "text"
    json = "json"


def _journal() -> EventStore:
    from runbook.journal import open_journal

    return open_journal(settings().state, create=False)


def _report(recorded: Recorded) -> None:
    if settings().verbosity >= 0:
        typer.echo(recorded.message)


def _operator(explicit: str | None) -> str:
    from runbook.journal import operator_name

    return operator_name(explicit)


@app.command("claim")
def claim_command(
    run: str = typer.Argument(..., help=RUN_HELP, show_default=False, autocompletion=complete_run),
    step: str = typer.Argument(
        ..., help="The waiting manual step.", show_default=False, autocompletion=complete_step
    ),
    operator: str | None = typer.Option(None, "--operator", help=OPERATOR_HELP),
) -> None:
    """Take a waiting manual step: its work time starts now, and nobody else is prompted."""
    from runbook.clock import RealClock
    from runbook.journal import claim

    with _journal() as j:
        run_id = j.resolve_run_id(run)
        _report(claim(j, run_id, step, operator=_operator(operator), clock=RealClock()))


@app.command("confirm")
def confirm_command(
    run: str = typer.Argument(..., help=RUN_HELP, show_default=False, autocompletion=complete_run),
    step: str = typer.Argument(
        ..., help="The manual step to answer.", show_default=False, autocompletion=complete_step
    ),
    skip: bool = typer.Option(False, "--skip", help="Answer 'skip': not needed this time."),
    fail: bool = typer.Option(False, "--fail", help="Answer 'fail': it could not be done."),
    note: str | None = typer.Option(None, "--note", help="Why, or what you saw (journaled)."),
    operator: str | None = typer.Option(None, "--operator", help=OPERATOR_HELP),
    value: str | None = typer.Option(
        None, "--value", help="The value a step with `input:` asks for (one of its choices)."
    ),
) -> None:
    """Answer a manual step from any terminal: done (default), --skip or --fail."""
    from runbook.clock import RealClock
    from runbook.errors import InputError
    from runbook.journal import confirm

    if skip and fail:
        raise InputError("give --skip or --fail, not both (no flag: the step is done)")
    answer: Answer = "skip" if skip else ("fail" if fail else "done")
    with _journal() as j:
        run_id = j.resolve_run_id(run)
        recorded = confirm(
            j,
            run_id,
            step,
            answer=answer,
            note=note,
            operator=_operator(operator),
            clock=RealClock(),
            value=value,
        )
        _report(recorded)


@app.command("retry")
def retry_command(
    run: str = typer.Argument(..., help=RUN_HELP, show_default=False, autocompletion=complete_run),
    step: str = typer.Argument(
        ..., help="A failed or blocked step.", show_default=False, autocompletion=complete_step
    ),
    note: str | None = typer.Option(None, "--note", help="Why it should work now (journaled)."),
    operator: str | None = typer.Option(None, "--operator", help=OPERATOR_HELP),
    resume: bool = typer.Option(
        False, "--resume", help="When no engine holds the run, resume it now (retry and resume)."
    ),
) -> None:
    """Run a failed step again (for a blocked step: the failed steps blocking it)."""
    from runbook.clock import RealClock
    from runbook.journal import retry

    with _journal() as j:
        run_id = j.resolve_run_id(run)
        asked = j.state(run_id).steps.get(step)
        if resume and asked is not None and asked.retry_pending and not j.is_engine_live(run_id):
            # `retry` was typed first, then the hint's `retry --resume`: just resume.
            if settings().verbosity >= 0:
                typer.echo(f"step {step} will be retried already; resuming run {run_id} now")
            recorded = None
        else:
            recorded = retry(
                j, run_id, step, operator=_operator(operator), note=note, clock=RealClock()
            )
    if recorded is not None and (recorded.engine_live or not resume):
        _report(recorded)
        if not recorded.engine_live and settings().verbosity >= 0:
            typer.echo(f"(in one command: runbook retry {run_id} {step} --resume)")
        return
    if recorded is not None and settings().verbosity >= 0:
        typer.echo(recorded.message.split("\n", 1)[0] + "; resuming it now")
    from runbook.app import resume as resume_run
    from runbook.cli._execute import show

    state = settings().state
    raise typer.Exit(show(lambda ui: resume_run(state, run_id, ui, operator=operator), False))


@app.command("skip")
def skip_command(
    run: str = typer.Argument(..., help=RUN_HELP, show_default=False, autocompletion=complete_run),
    step: str = typer.Argument(
        ...,
        help="A failed, blocked or pending step.",
        show_default=False,
        autocompletion=complete_step,
    ),
    note: str = typer.Option(..., "--note", help="Why it is skipped (required, journaled)."),
    operator: str | None = typer.Option(None, "--operator", help=OPERATOR_HELP),
) -> None:
    """Skip a failed, blocked or pending step; the steps that need it may then start."""
    from runbook.clock import RealClock
    from runbook.journal import skip

    with _journal() as j:
        run_id = j.resolve_run_id(run)
        _report(skip(j, run_id, step, note=note, operator=_operator(operator), clock=RealClock()))


@app.command("expect")
def expect_command(
    run: str = typer.Argument(..., help=RUN_HELP, show_default=False, autocompletion=complete_run),
    step: str = typer.Argument(
        ..., help="A running or waiting step.", show_default=False, autocompletion=complete_step
    ),
    duration: str = typer.Argument(
        ..., help="How much longer it takes: 90s, 15m, 1h30m.", show_default=False
    ),
    note: str | None = typer.Option(None, "--note", help="What it is based on (journaled)."),
    operator: str | None = typer.Option(None, "--operator", help=OPERATOR_HELP),
) -> None:
    """Give your word on how much longer a running or stuck step takes; the ETA uses it."""
    from runbook.clock import RealClock
    from runbook.durations import parse_duration
    from runbook.errors import InputError, Issue
    from runbook.journal import expect

    try:
        remaining = parse_duration(duration)
    except ValueError as err:
        raise InputError([Issue(None, f"DURATION: {err}")]) from None
    with _journal() as j:
        run_id = j.resolve_run_id(run)
        recorded = expect(
            j,
            run_id,
            step,
            remaining,
            note=note,
            operator=_operator(operator),
            clock=RealClock(),
        )
        _report(recorded)


@app.command("runs")
def runs_command(
    fmt: RunsFormat = typer.Option(RunsFormat.text, "--format", "-f", help="text or json."),
) -> None:
    """List the runs in the state database, oldest first."""
    from dataclasses import asdict

    from runbook.journal import state_exists, state_label
    from runbook.present import runs_text

    if not state_exists(settings().state):  # nothing has run here: an empty list, not an error
        runs = []
    else:
        with _journal() as j:
            runs = j.runs()
    if fmt is RunsFormat.text and not runs:
        s = settings()
        if not state_exists(s.state):
            from runbook.cli._state_file import no_journal_text

            typer.echo("no runs yet; " + no_journal_text(s.state, s.searched, s.state_source))
        else:
            where = state_label(s.state)
            typer.echo(f"no runs yet in {where}; start one with: runbook run PLAYBOOK")
        return
    if fmt is RunsFormat.json:
        typer.echo(json.dumps([asdict(r) for r in runs], indent=2, ensure_ascii=False))
    else:
        sys.stdout.write(runs_text(runs))


@app.command("status")
def status_command(
    run: str = typer.Argument("latest", help=RUN_HELP, autocompletion=complete_run),
    fmt: StatusFormat = typer.Option(
        StatusFormat.text, "--format", "-f", help="text for people; json (stable) for scripts."
    ),
    watch: bool = typer.Option(
        False,
        "--watch",
        "-w",
        help="Follow the run until it finishes (Ctrl-C stops): woken by each commit on "
        "PostgreSQL, checked every half second on SQLite.",
    ),
    next_update: str | None = typer.Option(
        None,
        "--next",
        help="md: when the next update is due, a duration (default 30m) or a UTC time (22:15).",
    ),
) -> None:
    """Where a run stands: phases, running, waiting, failed and blocked steps, ETA vs RTO."""
    from runbook.clock import RealClock

    with _journal() as j:
        run_id = j.resolve_run_id(run)
        state = j.state(run_id)
        clock = RealClock()
        if fmt is StatusFormat.md:
            _show_md(_document(j, state, clock.now()), next_update)
            return
        if not watch:
            _show(_document(j, state, clock.now()), fmt)
            return
        # Watching is read-only: Ctrl-C is the normal way out, exit 0.
        with contextlib.suppress(KeyboardInterrupt):
            _watch(j, state, fmt, clock)


def _document(j: EventStore, state: Any, now: float) -> dict[str, Any]:
    from runbook.app import status_document

    return status_document(state, live=j.is_engine_live(state.run_id), now=now)


def _show_md(doc: dict[str, Any], next_update: str | None) -> None:
    from runbook.clock import parse_iso
    from runbook.errors import InputError
    from runbook.report import next_update_at, render_status_md

    try:
        at = next_update_at(parse_iso(doc["now"]), next_update)
    except ValueError as err:
        raise InputError(str(err)) from None
    sys.stdout.write(render_status_md(doc, at))


def _console() -> Any:
    from rich.console import Console

    return Console(no_color=not settings().color, highlight=False, emoji=False)


def _show(doc: dict[str, Any], fmt: StatusFormat) -> None:
    from runbook.present import render_status, status_text

    if fmt is StatusFormat.json:
        typer.echo(json.dumps(doc, indent=2, ensure_ascii=False))
    elif sys.stdout.isatty():
        _console().print(render_status(doc))
    else:
        sys.stdout.write(status_text(doc))


def _watch(j: EventStore, state: Any, fmt: StatusFormat, clock: Any) -> None:
    """Fold new events as they are committed; a terminal redraws, a pipe gets one line each."""
    from runbook.present import event_lines, render_status

    if fmt is StatusFormat.text and sys.stdout.isatty():
        from rich.live import Live

        with Live(
            render_status(_document(j, state, clock.now())),
            console=_console(),
            auto_refresh=False,
        ) as live:
            while not state.is_finished:
                j.wait_for_events(state.run_id, state.last_seq, 1.0)  # redraw elapsed times
                for e in j.events(state.run_id, after_seq=state.last_seq):
                    state.apply(e)
                live.update(render_status(_document(j, state, clock.now())), refresh=True)
        return
    if fmt is StatusFormat.json:  # one compact document a line, a new one on each change
        sys.stdout.write(json.dumps(_document(j, state, clock.now()), ensure_ascii=False) + "\n")
    else:
        _show(_document(j, state, clock.now()), fmt)
    sys.stdout.flush()
    while not state.is_finished:
        # PostgreSQL wakes us on NOTIFY; SQLite (and a lost listener) polls, within 2 s.
        j.wait_for_events(state.run_id, state.last_seq, 2.0)
        new = j.events(state.run_id, after_seq=state.last_seq)
        for e in new:
            state.apply(e)
        if not new:
            continue
        if fmt is StatusFormat.json:
            sys.stdout.write(json.dumps(_document(j, state, clock.now()), ensure_ascii=False))
            sys.stdout.write("\n")
        else:
            sys.stdout.writelines(line + "\n" for line in event_lines(new))
        sys.stdout.flush()

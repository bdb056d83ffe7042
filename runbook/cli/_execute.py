"""Commands: run, rehearse, resume — thin adapters over runbook.session."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from runbook.cli._app import app, settings
from runbook.cli._complete import complete_run

if TYPE_CHECKING:
    from runbook.app import RunRequest, Ui

INVENTORY_HELP = "Inventory file or folder (Ansible YAML, INI or JSON); repeatable."
OPERATOR_HELP = "Who you are, for the journal (default: $RUNBOOK_OPERATOR, else your login)."
# Options `run` and `rehearse` share (typer reads each default afresh per command).
PLAYBOOK = typer.Argument(..., help="The playbook file.", show_default=False, metavar="PLAYBOOK")
INVENTORY = typer.Option([], "-i", "--inventory", help=INVENTORY_HELP, metavar="INVENTORY")
CONCURRENCY = typer.Option(
    None, "--concurrency", help="Steps running at once (default: no limit).", metavar="N"
)
FORKS = typer.Option(50, "--forks", help="SSH sessions open at once, all steps.", metavar="N")
OPERATOR = typer.Option(None, "--operator", help=OPERATOR_HELP, metavar="NAME")
LEASE = typer.Option(
    None,
    "--lease",
    help="Team mode (PostgreSQL): how long this engine's hold on the run lasts without "
    "renewal; another engine takes over after it (default 30s).",
    metavar="D",
)


def _lease(text: str | None) -> float | None:
    from runbook.durations import parse_duration
    from runbook.errors import InputError

    if text is None:
        return None
    try:
        seconds = parse_duration(text)
    except ValueError as err:
        raise InputError(f"--lease: {err}") from None
    if seconds < 1:
        raise InputError(f"--lease must be at least 1s (got {text})")
    return seconds


PLAIN = typer.Option(
    False, "--plain", help="One line per event, even on a terminal (no full-screen console)."
)


def show(call: Callable[[Ui], int], plain: bool) -> int:
    """The console on a terminal (keys in, screen out); one plain line per event when
    piped or with --plain."""
    from runbook.app import Ui

    s = settings()
    if sys.stdout.isatty() and sys.stdin.isatty() and not plain and s.verbosity >= 0:
        from runbook.present import run_console

        return run_console(call, s.state, color=s.color, verbosity=s.verbosity)
    from runbook.present import PlainListener

    def announce(run_id: str) -> None:
        # The run id first (scripts read it), then where its journal is: another terminal
        # needs that folder, or --state, to follow the run.
        if isinstance(s.state, Path):
            where: object = s.state.resolve()
        else:  # a URL: the journal's modules only then (a run dials before it opens one)
            from runbook.journal import hide_password

            where = hide_password(s.state)
        # A closed pipe (`| head`, a `tee` gone with its terminal): the run goes on.
        with contextlib.suppress(OSError, ValueError):
            print(f"run {run_id}\nstate {where}", flush=True)

    lines = PlainListener(verbosity=s.verbosity)
    return call(Ui(announce=announce, listener=lines, done=lines.close))


def _positive(value: int | None, flag: str) -> None:
    from runbook.errors import InputError

    if value is not None and value < 1:
        raise InputError(f"{flag} must be at least 1 (got {value})")


@app.command("run")
def run_command(
    playbook: Path = PLAYBOOK,
    inventory: list[Path] = INVENTORY,
    dry_run: bool = typer.Option(
        False, "--dry-run", help="Print every concrete command per host; run nothing."
    ),
    limit: str | None = typer.Option(
        None, "--limit", help="Only hosts matching this pattern.", metavar="PATTERN"
    ),
    only: list[str] = typer.Option(
        [], "--only", help="Run only this step (repeatable).", metavar="STEP"
    ),
    from_step: str | None = typer.Option(
        None,
        "--from",
        help="Skip what STEP depends on (taken as done); run STEP and the rest.",
        metavar="STEP",
    ),
    concurrency: int | None = CONCURRENCY,
    forks: int = FORKS,
    step: bool = typer.Option(
        False, "--step", help="Ask before each automated step: run / skip / abort."
    ),
    accept_new_host_keys: bool = typer.Option(
        False, "--accept-new-host-keys", help="Accept unknown SSH host keys (journaled)."
    ),
    operator: str | None = OPERATOR,
    plain: bool = PLAIN,
    lease: str | None = LEASE,
) -> None:
    """Execute a playbook with the console (a terminal) or plain lines; prints the run id first."""
    from runbook.app import RunRequest, _session as session

    _positive(concurrency, "--concurrency")
    _positive(forks, "--forks")
    req = RunRequest(
        playbook=playbook,
        inventories=tuple(inventory),
        limit=limit,
        only=tuple(only),
        from_step=from_step,
        concurrency=concurrency,
        forks=forks,
        step_gate=step,
        accept_new_host_keys=accept_new_host_keys,
        operator=operator,
    )
    if dry_run:
        _dry_run(req)
        return
    state, lease_s = settings().state, _lease(lease)
    raise typer.Exit(
        show(lambda ui: session.execute(state, req, ui, mode="live", lease_s=lease_s), plain)
    )


def _dry_run(req: RunRequest) -> None:
    import os

    from runbook.app import dry_run_lines, prepare

    for line in dry_run_lines(prepare(req, os.environ)):
        typer.echo(line)


def _speed(text: str) -> float | None:
    from runbook.errors import InputError

    if text.strip().lower() == "max":
        return None
    try:
        value = float(text)
    except ValueError:
        raise InputError(f"--speed: '{text}' is not a number or 'max'") from None
    if not value > 0:
        raise InputError(f"--speed must be more than 0, or 'max' (got {text})")
    return value


@app.command("rehearse")
def rehearse_command(
    playbook: Path = PLAYBOOK,
    inventory: list[Path] = INVENTORY,
    durations: Path | None = typer.Option(
        None,
        "--durations",
        help="YAML {step: duration} or {step: {host: duration}}.",
        metavar="FILE",
    ),
    speed: str = typer.Option(
        "max",
        "--speed",
        help="N: N times faster than real time; max: as fast as possible.",
        metavar="N|max",
    ),
    seed: int | None = typer.Option(
        None, "--seed", help="Seed for durations drawn from estimates.", metavar="N"
    ),
    concurrency: int | None = CONCURRENCY,
    forks: int = FORKS,
    interactive: bool = typer.Option(
        False, "--interactive", help="Ask for manual steps instead of answering them 'done'."
    ),
    operator: str | None = OPERATOR,
    plain: bool = PLAIN,
) -> None:
    """A full simulated run: nothing executed, same engine, same journal, same ETA."""
    from runbook.app import RunRequest, _session as session

    _positive(concurrency, "--concurrency")
    _positive(forks, "--forks")
    req = RunRequest(
        playbook=playbook,
        inventories=tuple(inventory),
        concurrency=concurrency,
        forks=forks,
        operator=operator,
        durations=durations,
        speed=_speed(speed),
        seed=seed,
        interactive=interactive,
    )
    state = settings().state
    raise typer.Exit(show(lambda ui: session.execute(state, req, ui, mode="rehearsal"), plain))


@app.command("resume")
def resume_command(
    run: str = typer.Argument(
        ...,
        help="Run id, a unique prefix of one, or `latest`.",
        show_default=False,
        autocompletion=complete_run,
    ),
    operator: str | None = OPERATOR,
    plain: bool = PLAIN,
    lease: str | None = LEASE,
) -> None:
    """Continue an interrupted or failed run where it stopped."""
    from runbook.app import resume

    state, lease_s = settings().state, _lease(lease)
    raise typer.Exit(
        show(lambda ui: resume(state, run, ui, operator=operator, lease_s=lease_s), plain)
    )


@app.command("watch")
def watch_command(
    run: str = typer.Argument(
        "latest",
        help="Run id, a unique prefix of one, or `latest`.",
        show_default=True,
        autocompletion=complete_run,
    ),
    operator: str | None = OPERATOR,
) -> None:
    """The console on a run from any terminal: answer its questions (journaled with
    --operator); leaves when the run ends or on q, with the summary. A finished run: its
    final board and summary, and its exit code."""
    from runbook.journal import open_journal, operator_name
    from runbook.present import watch

    s = settings()
    with open_journal(s.state, create=False) as journal:
        run_id = journal.resolve_run_id(run)
    raise typer.Exit(watch(s.state, run_id, operator_name(operator), color=s.color))


@app.command("join")
def join_command(
    run: str = typer.Argument(
        ..., help="Run id, a unique prefix of one, or `latest`.", show_default=False
    ),
    inventory: list[Path] = typer.Option(
        [],
        "-i",
        "--inventory",
        help="This machine's inventory paths (default: as journaled).",
        metavar="INVENTORY",
    ),
    playbook: Path | None = typer.Option(
        None,
        "--playbook",
        help="This machine's copy of the playbook (default: the journaled "
        "path); refused if its content differs.",
        metavar="PATH",
    ),
    limit: str | None = typer.Option(
        None,
        "--limit",
        help="The hosts this machine reaches: it runs only those (a step's other hosts go "
        "to engines that reach them); the run's hosts stay as `run --limit` fixed them.",
        metavar="PATTERN",
    ),
    concurrency: int | None = typer.Option(
        None,
        "--concurrency",
        help="Steps this engine runs at once (default: the run's).",
        metavar="N",
    ),
    forks: int | None = typer.Option(
        None,
        "--forks",
        help="SSH sessions this engine opens at once (default: the run's).",
        metavar="N",
    ),
    no_local: bool = typer.Option(
        False, "--no-local", help="Claim no local step (they go to the other engines)."
    ),
    accept_new_host_keys: bool = typer.Option(
        False,
        "--accept-new-host-keys",
        help="Accept unknown SSH host keys into this machine's known_hosts (journaled); "
        "never inherited from the run.",
    ),
    lease: str | None = LEASE,
    operator: str | None = OPERATOR,
    plain: bool = PLAIN,
) -> None:
    """Team mode: another engine on a run, from any machine on the same PostgreSQL journal.

    While other engines work on the run, it works beside them: it claims ready steps one
    by one and follows theirs, and takes over the steps of an engine that leaves or whose
    lease runs out (its machine died, its network went). With no engine live, it takes
    the run over as `resume` does. In-flight steps are settled as after a crash, never
    run twice unless idempotent. It exits as the run ends.
    """
    from runbook.app import Joined, join

    _positive(concurrency, "--concurrency")
    _positive(forks, "--forks")
    where = Joined(
        playbook, tuple(inventory), limit, concurrency, forks, no_local, accept_new_host_keys
    )
    state, lease_s = settings().state, _lease(lease)
    raise typer.Exit(
        show(
            lambda ui: join(state, run, ui, where=where, lease_s=lease_s, operator=operator),
            plain,
        )
    )

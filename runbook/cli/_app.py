"""The typer app and the global options every command shares."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import typer

from runbook import __version__

app = typer.Typer(
    name="runbook",
    help=(
        "Dependency-ordered, resumable, audited restore playbooks with an honest ETA.\n\n"
        "Works offline on one machine: the state lives in an SQLite file (--state)."
    ),
    no_args_is_help=True,
    add_completion=True,  # --install-completion / --show-completion (bash, zsh, fish, PowerShell)
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)


@dataclass
class Settings:
    """Global options, resolved once per invocation."""

    state: Path | str  # a SQLite file, or a postgresql:// URL (team mode)
    color: bool
    verbosity: int  # -1 quiet, 0 normal, 1 verbose
    state_source: str | None = None  # "--state" or "RUNBOOK_STATE"; None: looked for
    searched: tuple[Path, ...] = ()  # the folders looked in for .runbook/state.db


_settings: Settings | None = None


def settings() -> Settings:
    """The global options of this invocation (defaults when a command runs without the callback)."""
    global _settings
    if _settings is None:
        _settings = _resolve(None, False, False, False)
    return _settings


def _resolve(state: str | None, no_color: bool, quiet: bool, verbose: bool) -> Settings:
    env_state = os.environ.get("RUNBOOK_STATE")
    color = not no_color and "NO_COLOR" not in os.environ
    verbosity = -1 if quiet else (1 if verbose else 0)
    if state is not None:
        return Settings(_state(state), color, verbosity, "--state")
    if env_state:
        return Settings(_state(env_state), color, verbosity, "RUNBOOK_STATE")
    from runbook.cli._state_file import find_state_file

    try:
        here = Path.cwd()
    except OSError:  # the current folder was deleted under us: nothing to search
        return Settings(Path(".runbook") / "state.db", color, verbosity)
    path, searched = find_state_file(here)
    return Settings(path, color, verbosity, None, searched)


def _state(text: str) -> Path | str:
    """A URL stays text (a Path would fold its `//`); psycopg is not imported here."""
    return text if text.startswith(("postgresql://", "postgres://")) else Path(text)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"runbook {__version__}")
        raise typer.Exit(0)


@app.callback()
def main_options(
    state: str | None = typer.Option(
        None,
        "--state",
        metavar="PATH|postgresql://…",
        help=(
            "State database: an SQLite file, or a PostgreSQL URL for team mode (default: "
            "$RUNBOOK_STATE, else .runbook/state.db in this folder or the nearest parent "
            "that has one, else a new one here)."
        ),
    ),
    no_color: bool = typer.Option(False, "--no-color", help="No colours (also: NO_COLOR set)."),
    quiet: bool = typer.Option(False, "-q", "--quiet", help="Only errors and results."),
    verbose: bool = typer.Option(False, "-v", "--verbose", help="More detail."),
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    """Global options."""
    global _settings
    _settings = _resolve(state, no_color, quiet, verbose)

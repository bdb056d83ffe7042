"""Command line: thin adapters over the core, and the one error handler (STYLE rule 4)."""

from __future__ import annotations

import copy
import importlib
import os
import signal
import sys
import threading
from typing import Any

import typer

try:  # typer vendors click from 0.2x on; older releases depend on it
    from typer._click.exceptions import ClickException
except ImportError:  # pragma: no cover
    from click.exceptions import (  # type: ignore[import-not-found,no-redef,unused-ignore]
        ClickException,
    )

from runbook.app._signals import on_stop_signals, restore, stop_signals
from runbook.cli import _app as _app_module, _coerce
from runbook.cli._app import app
from runbook.errors import (
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    InputError,
    NoJournal,
    RunbookError,
    log_crash,
)

_coerce.install()  # no pydantic before a command starts (typer 0.2x would import it)

# Each command module registers its commands on `app` when imported; `--help` lists them in
# this order, the order of a restore night: check and plan, run, operate, audit.
for _module in ("check", "plan", "hosts", "execute", "operate", "logs", "audit"):
    importlib.import_module(f"runbook.cli._{_module}")


def _print_error(err: RunbookError) -> None:
    color = _app_module.settings().color if _app_module._settings else True
    red = "\x1b[31m" if color and sys.stderr.isatty() else ""
    reset = "\x1b[0m" if red else ""
    if isinstance(err, NoJournal) and _app_module._settings is not None:
        from runbook.cli._state_file import no_journal_text

        s = _app_module._settings
        print(
            f"{red}error: {no_journal_text(err.path, s.searched, s.state_source)}{reset}",
            file=sys.stderr,
        )
        return
    if isinstance(err, InputError):
        for issue in err.issues:
            print(f"{red}{issue}{reset}", file=sys.stderr)
        n = len(err.issues)
        if n > 1:
            print(f"{n} errors", file=sys.stderr)
    else:
        print(f"{red}error: {err}{reset}", file=sys.stderr)


# The group's own options, and whether each takes a value (`--state PATH`).
_GLOBAL_OPTIONS = {
    "--state": True,
    "--no-color": False,
    "-q": False,
    "--quiet": False,
    "-v": False,
    "--verbose": False,
}


def _named_command(argv: list[str]) -> str | None:
    """The command `argv` names after the group's own options (None: none, or not plainly)."""
    args = iter(argv)
    for arg in args:
        if arg.startswith("--state="):
            continue
        takes_value = _GLOBAL_OPTIONS.get(arg)
        if takes_value is None:
            return arg
        if takes_value:
            next(args, None)
    return None


def click_group(argv: list[str]) -> Any:
    """The click group for this command line.

    typer builds every command's click parameters from its signature (~15 ms, before a run
    dials its first host). A command line that names one command exactly gets a group of
    that command alone, which parses, helps and fails as the whole group does for it;
    anything else (no command, a typo to suggest for, a sub-group, shell completion)
    gets the whole group.
    """
    name = _named_command(argv)
    named = [c for c in app.registered_commands if name is not None and c.name == name]
    if len(named) != 1 or any(k.endswith("_COMPLETE") for k in os.environ):
        return typer.main.get_command(app)
    one = copy.copy(app)
    one.registered_commands = named
    one.registered_groups = []
    return typer.main.get_command(one)


def _interrupt(_signal: str) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `runbook` console script."""
    cli = click_group(sys.argv[1:] if argv is None else argv)
    # A TERM or a hang-up before an engine takes the run over (it installs its own
    # handlers) ends the command as Ctrl-C does, exit 130, not silently by the default
    # action (143, 129); after a hang-up, with the terminal let go (runbook/app/_signals.py).
    previous = None
    if threading.current_thread() is threading.main_thread():
        previous = on_stop_signals(_interrupt, [s for s in stop_signals() if s != signal.SIGINT])
    try:
        code = cli.main(args=argv, prog_name="runbook", standalone_mode=False)
    except RunbookError as err:
        _print_error(err)
        code = err.exit_code
    except typer.Exit as e:
        code = e.exit_code
    except typer.Abort:
        print("interrupted", file=sys.stderr)
        code = EXIT_INTERRUPTED
    except ClickException as e:
        e.show()
        code = e.exit_code
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        code = EXIT_INTERRUPTED
    except Exception:  # the one place that catches everything: log it, never show a traceback
        log = log_crash("internal error")
        print(f"internal error: this is a bug in runbook; details in {log}", file=sys.stderr)
        code = EXIT_FAILED
    finally:
        if previous is not None:
            restore(previous)
    return int(code or 0)


def entry() -> None:
    """Console-script wrapper."""
    code = main()
    # The command is over (a run journaled how it ended): a late Ctrl-C, TERM or hang-up
    # (pressed again while it stopped) must not end the interpreter's shutdown by the
    # signal, with no exit code, nor raise a traceback there. Ignored handlers stay
    # ignored through the shutdown; Python's own handlers would go back to the default.
    if threading.current_thread() is threading.main_thread():
        for sig in stop_signals():
            signal.signal(sig, signal.SIG_IGN)
    sys.exit(code)

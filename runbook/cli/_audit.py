"""Commands: export (jsonl, csv, md, html) and verify (the hash chain)."""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
from pathlib import Path

import typer

from runbook.cli._app import app, settings
from runbook.cli._complete import complete_run
from runbook.errors import EXIT_FAILED, EXIT_OK, InputError

FORMATS = ("jsonl", "csv", "md", "html")
_SUFFIXES = {".jsonl": "jsonl", ".ndjson": "jsonl", ".csv": "csv", ".md": "md", ".html": "html"}


def _format(fmt: str | None, output: Path | None) -> str:
    if fmt is None:
        guessed = _SUFFIXES.get(output.suffix.lower()) if output else None
        if guessed is None:
            raise InputError(f"--format is required: one of {', '.join(FORMATS)}")
        return guessed
    value = fmt.strip().lower()
    if value == "markdown":
        value = "md"
    if value not in FORMATS:
        raise InputError(f"--format {fmt!r} is not one of {', '.join(FORMATS)}")
    return value


def _write(output: Path, text: str) -> None:
    """Write the whole file or nothing: a half-written audit file is worse than none."""
    folder = output.parent if str(output.parent) else Path(".")
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{output.name}.", dir=folder)
    except OSError as err:
        raise InputError(f"{output}: cannot write there: {err.strerror or err}") from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as f:
            f.write(text)
        os.chmod(tmp, 0o644)
        os.replace(tmp, output)
    except OSError as err:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise InputError(f"{output}: cannot write it: {err.strerror or err}") from None


@app.command()
def export(
    run_id: str = typer.Argument(
        ..., help="Run id, a unique prefix of one, or `latest`.", autocompletion=complete_run
    ),
    fmt: str | None = typer.Option(
        None,
        "--format",
        "-f",
        help="jsonl (the journal, one event per line), csv (one row per step and host), "
        "md (review timeline) or html (report with Gantt and ETA chart). "
        "Default: from the -o file's suffix.",
    ),
    output: Path | None = typer.Option(
        None, "-o", "--output", help="Write to FILE (default: standard output).", dir_okay=False
    ),
) -> None:
    """Export a run for the audit or the post-incident review.

    The jsonl export holds exactly the journal's fields, one event per line; the chain
    head (the last event's hash) is printed on standard error: record it, and check the
    file later with `runbook verify FILE --head HASH`. Secrets never appear: the journal
    holds them as ***.
    """
    from runbook.app import read_run
    from runbook.journal import find_break
    from runbook.report import render

    kind = _format(fmt, output)
    state = settings().state
    real_id, events = read_run(state, run_id)
    text = render(kind, events)
    if output is None:
        sys.stdout.write(text)
        sys.stdout.flush()
    else:
        _write(output, text)
    problem = find_break(events)
    if problem is not None:
        print(
            f"warning: the journal of run {real_id} does not verify: {problem.message}; "
            "the export shows it as stored",
            file=sys.stderr,
        )
    if settings().verbosity >= 0 or kind == "jsonl":
        head = events[-1].hash if events else "(no events)"
        where = f" to {output}" if output else ""
        print(
            f"exported {len(events)} events of run {real_id}{where}; chain head {head}",
            file=sys.stderr,
        )


@app.command()
def verify(
    target: str = typer.Argument(
        ..., metavar="RUN_ID|FILE.jsonl", help="A run in the state database, or a jsonl export."
    ),
    head: str | None = typer.Option(
        None,
        "--head",
        help="The chain head recorded earlier (from `export`): also proves nothing was "
        "cut from the end or rewritten wholesale.",
    ),
) -> None:
    """Check a run's hash chain and name the first event edited, deleted, inserted or moved.

    Exit 0: `ok: N events, chain head HASH`. Exit 1: the chain is broken; the first bad
    event is named with its seq (and line, for a file). The database is read with plain
    SQL, so rows changed behind the journal's back are checked as they are.
    """
    from runbook.app import verify_export, verify_run

    path = Path(target)
    if path.suffix.lower() in (".jsonl", ".ndjson") or path.is_file():
        verdict = verify_export(path, head)
    else:
        verdict = verify_run(settings().state, target, head)
    print(verdict.text())
    raise typer.Exit(EXIT_OK if verdict.ok else EXIT_FAILED)


journal_app = typer.Typer(
    help="The journal itself: copy runs between SQLite files and PostgreSQL databases.",
    no_args_is_help=True,
)
app.add_typer(journal_app, name="journal")


@journal_app.command("copy")
def journal_copy_command(
    src: str = typer.Argument(..., metavar="SRC", help="A state file or postgresql:// URL."),
    dst: str = typer.Argument(..., metavar="DST", help="A state file or postgresql:// URL."),
    run_ids: list[str] | None = typer.Argument(
        None, metavar="[RUN_ID]...", help="Runs to copy (default: every run)."
    ),
) -> None:
    """Copy runs between journals, chains intact: `verify` passes on both sides.

    A run already in DST with the same chain head is skipped; one whose chain DST holds
    only the start of is extended; one with another chain, one an engine still holds, or
    one whose chain does not verify is refused (exit 1). DST's schema is created if needed.
    """
    from runbook.journal import copy_runs, open_journal, state_ref

    with (
        open_journal(state_ref(src), create=False) as source,
        open_journal(state_ref(dst)) as target,
    ):
        results = copy_runs(source, target, run_ids or ())
    for result in results:
        typer.echo(result.text())
    if not results:
        typer.echo("no runs to copy")
    raise typer.Exit(EXIT_FAILED if any(r.action == "refused" for r in results) else EXIT_OK)

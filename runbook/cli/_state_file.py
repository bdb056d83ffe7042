"""Where the state database is, when no `--state` or `RUNBOOK_STATE` names it.

As git finds `.git`: `.runbook/state.db` in the current folder, then in each parent up
to the root. A second terminal in a subfolder of the project (or anywhere below it)
then follows the same runs; a new journal is created in the current folder.
"""

from __future__ import annotations

from pathlib import Path

STATE_DIR = ".runbook"
STATE_FILE = "state.db"


def find_state_file(start: Path) -> tuple[Path, tuple[Path, ...]]:
    """(the state file to use, the folders searched in order) from `start` upwards."""
    start = start.absolute()
    searched: list[Path] = []
    for folder in (start, *start.parents):
        searched.append(folder)
        candidate = folder / STATE_DIR / STATE_FILE
        if candidate.is_file():
            return candidate, tuple(searched)
    return start / STATE_DIR / STATE_FILE, tuple(searched)


def no_journal_text(path: object, searched: tuple[Path, ...], source: str | None) -> str:
    """What to say when there is no journal: where we looked, and how to name one."""
    hint = "start a run here with: runbook run PLAYBOOK"
    name = "or name a journal with --state PATH or RUNBOOK_STATE=PATH"
    if source is not None:  # named explicitly: that is the only place we looked
        return f"no journal at {path} (from {source}); {hint}, {name}"
    where = ", ".join(str(f) for f in searched)
    return f"no journal: looked for {STATE_DIR}/{STATE_FILE} in {where}; {hint}, {name}"

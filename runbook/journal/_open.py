"""Which journal a `--state` names: a SQLite file, or a PostgreSQL database by its URL.

psycopg is imported only when a `postgresql://` URL is given, so every command on the
embedded SQLite journal (and `runbook --help`) stays as light as before.
"""

from __future__ import annotations

import re
from pathlib import Path

from runbook.journal._protocol import EventStore, StateRef

_SCHEMES = ("postgresql://", "postgres://")
_PASSWORD = re.compile(r"(://[^:/@?#]*:)[^@/?#]*@")
_PASSWORD_PARAM = re.compile(r"(password=)[^&\s]*", re.IGNORECASE)


def is_postgres(state: StateRef) -> bool:
    """Whether `state` is a PostgreSQL URL (team mode)."""
    return isinstance(state, str) and state.startswith(_SCHEMES)


def state_ref(text: str) -> StateRef:
    """`--state` or RUNBOOK_STATE as given: a URL stays text, anything else is a path."""
    return text if is_postgres(text) else Path(text)


def hide_password(text: str) -> str:
    """`text` with any URL password (or `password=` parameter) replaced by `***`."""
    return _PASSWORD_PARAM.sub(r"\1***", _PASSWORD.sub(r"\1***@", text))


def state_label(state: StateRef) -> str:
    """How messages name the journal: a path, or the URL without its password."""
    return hide_password(state) if isinstance(state, str) else str(state)


def state_exists(state: StateRef) -> bool:
    """Whether there is a journal to read (a database URL always may have one)."""
    return is_postgres(state) or Path(state).exists()


def open_journal(
    state: StateRef, *, create: bool = True, lease_s: float | None = None
) -> EventStore:
    """The journal at `state`; `create=False` refuses to make a new SQLite file.

    `lease_s`: how long an engine's hold on a run lasts without renewal (PostgreSQL; on
    SQLite the kernel's flock needs none).
    """
    if is_postgres(state):
        from runbook.journal._pg_store import PostgresJournal

        return PostgresJournal(str(state), create=create, lease_s=lease_s)
    from runbook.journal._store import Journal

    return Journal(Path(state), create=create)

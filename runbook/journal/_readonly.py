"""Reading a journal this process cannot write: a copy on read-only media, an evidence
folder without write permission, a file that belongs to someone else.

SQLite in WAL mode wants to create `state.db-shm` (and `-wal`) beside the file even to
read it, so an ordinary open fails there. What is read instead:

- no `-wal` beside the file (or an empty one): the file alone is the whole journal; it is
  opened `immutable=1`, which needs nothing beside it.
- a `-wal` with content (a copy of a live journal, or one left by an engine killed with
  `kill -9`): its events may not be in the main file yet, and `immutable=1` would silently
  ignore them (and a main file copied half-way through a checkpoint is not even whole on
  its own). With a `-shm` beside it that this process cannot write (someone else's live
  journal, read-only media), it is opened `mode=ro` in place: SQLite reads the `-wal`
  without changing anything, and follows a live engine's writes. Otherwise (no `-shm`,
  or one SQLite would rewrite) the file and its `-wal` are copied into a private
  temporary folder and read there, exactly as SQLite would have read them in place. If
  even that fails, the error says to copy the files to a writable place. Reading "what
  is there" without the `-wal` is never done: an audit would see a shorter chain that
  still verifies.

Nothing beside the journal is created or changed by any of these: not one byte of
evidence.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sqlite3
import tempfile
from collections.abc import Callable
from pathlib import Path

from runbook.errors import JournalError

_DAMAGED = (sqlite3.SQLITE_NOTADB, sqlite3.SQLITE_CORRUPT)


def cannot_write(path: Path) -> str | None:
    """Why this process cannot write the journal at `path` in place (None: it can)."""
    with contextlib.suppress(OSError):
        if os.statvfs(path).f_flag & os.ST_RDONLY:
            return "it is on a read-only file system"
    if not os.access(path, os.W_OK):
        return "the file is read-only for you"
    folder = path.absolute().parent
    if not os.access(folder, os.W_OK | os.X_OK):
        return f"you cannot write its folder {folder}"
    return None


def read_only_error(path: Path, why: str) -> JournalError:
    """The one-line refusal of a write to a journal this process cannot write."""
    return JournalError(
        f"cannot write the journal {path}: {why}; nothing was written. Reading commands "
        f"(runs, status, logs, export, verify) work on it as it is; to change a run, run "
        f"this as a user who can write it, or copy {path.name} with its -wal and -shm "
        f"files to a folder you can write and pass --state COPY"
    )


def connect_read_only(path: Path) -> tuple[sqlite3.Connection, Callable[[], None]]:
    """A read-only connection to the journal at `path` and the function that closes it
    (and removes a private copy, when one was needed). sqlite3.Error when SQLite cannot
    read it; JournalError when its `-wal` can be applied neither in place nor in a copy."""
    wal = path.with_name(path.name + "-wal")
    if not _has_content(wal):
        db = _connect(f"{_uri(path)}?immutable=1")
        return db, db.close
    shm = path.with_name(path.name + "-shm")
    if not shm.exists() or os.access(shm, os.W_OK):
        return _read_copy(path, wal)
    try:
        db = _connect(f"{_uri(path)}?mode=ro")
    except sqlite3.Error as err:
        if getattr(err, "sqlite_errorcode", None) in _DAMAGED:
            raise
        return _read_copy(path, wal)
    return db, db.close


def _read_copy(path: Path, wal: Path) -> tuple[sqlite3.Connection, Callable[[], None]]:
    folder = Path(tempfile.mkdtemp(prefix="runbook-journal-"))  # 0700: the journal is private

    def remove() -> None:
        shutil.rmtree(folder, ignore_errors=True)

    copy = folder / path.name
    try:
        shutil.copyfile(path, copy)
        shutil.copyfile(wal, copy.with_name(wal.name))
        db = _connect(str(copy))
    except (OSError, sqlite3.Error) as err:
        remove()
        if isinstance(err, sqlite3.Error) and err.sqlite_errorcode in _DAMAGED:
            raise
        why = err.strerror if isinstance(err, OSError) and err.strerror else str(err)
        raise JournalError(
            f"cannot read the journal {path}: the events in {wal.name} beside it cannot "
            f"be applied where it is, nor in a private copy ({why}); copy {path.name}, "
            f"{wal.name} and {path.name}-shm together to a folder you can write and pass "
            f"--state COPY"
        ) from err

    def close() -> None:
        db.close()
        remove()

    return db, close


def _connect(target: str) -> sqlite3.Connection:
    """Opened and read once: SQLite opens lazily, and a refusal must show here."""
    db = sqlite3.connect(target, uri=True, isolation_level=None, check_same_thread=False)
    try:
        db.execute("SELECT count(*) FROM sqlite_master").fetchone()
    except BaseException:
        db.close()
        raise
    return db


def _uri(path: Path) -> str:
    return path.absolute().as_uri()


def _has_content(wal: Path) -> bool:
    try:
        return wal.stat().st_size > 0
    except OSError:
        return False

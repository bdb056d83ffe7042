"""The journal's tables and what its SQLite errors mean to a user.

Events and runs are append-only: triggers refuse UPDATE and DELETE, so even a hand-run
`sqlite3` session cannot quietly rewrite history (and `verify` catches a file edited
byte by byte). `meta.schema_version` lets an older runbook refuse a newer file instead of
misreading it.
"""

from __future__ import annotations

import contextlib
import os
import resource
import secrets
import sqlite3
import time
from pathlib import Path

from runbook.errors import JournalError

SCHEMA_VERSION = 1
BUSY_TIMEOUT_MS = 15_000

_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    """CREATE TABLE IF NOT EXISTS runs (
        run_id TEXT PRIMARY KEY,
        playbook TEXT NOT NULL,
        mode TEXT NOT NULL,
        created TEXT NOT NULL,
        created_ts REAL NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS events (
        run_id TEXT NOT NULL REFERENCES runs(run_id),
        seq INTEGER NOT NULL,
        ts TEXT NOT NULL,
        type TEXT NOT NULL,
        step TEXT,
        host TEXT,
        data TEXT NOT NULL,
        prev_hash TEXT NOT NULL,
        hash TEXT NOT NULL,
        PRIMARY KEY (run_id, seq)
    ) WITHOUT ROWID""",
    "CREATE INDEX IF NOT EXISTS events_type ON events (run_id, type)",
    *(
        f"CREATE TRIGGER IF NOT EXISTS {table}_no_{op.lower()} BEFORE {op} ON {table} "
        f"BEGIN SELECT RAISE(ABORT, 'journal {table} are append-only'); END"
        for table in ("events", "runs")
        for op in ("UPDATE", "DELETE")
    ),
)


def describe(err: sqlite3.Error) -> str:
    """SQLite's message, lower-cased to sit inside a sentence."""
    text = str(err)
    return text[:1].lower() + text[1:] if text else type(err).__name__


def journal_error(err: sqlite3.Error, path: Path, doing: str) -> JournalError:
    """One clear error for a damaged, busy, full or unwritable journal."""
    why = describe(err)
    code = getattr(err, "sqlite_errorcode", None)
    damaged = code in (sqlite3.SQLITE_NOTADB, sqlite3.SQLITE_CORRUPT) or any(
        w in why for w in ("not a database", "malformed", "corrupt")
    )
    if damaged:
        return JournalError(
            f"the journal {path} is damaged ({why}); it was left untouched: keep it for "
            f"the audit, and point --state at a copy from a backup or at a new file"
        )
    if "locked" in why or "busy" in why:
        return JournalError(
            f"the journal {path} stayed locked by another process for "
            f"{BUSY_TIMEOUT_MS // 1000}s ({why})"
        )
    cause = _storage_problem(path) if doing != "read" else None
    return JournalError(
        f"cannot {doing} the journal {path}: {why}" + (f" ({cause})" if cause else "")
    )


def _storage_problem(path: Path) -> str | None:
    """Why the disk refused a write, when SQLite only says "disk I/O error" (it keeps the
    errno to itself): write a byte beside the journal and let the kernel say it."""
    probe = path.with_name(f".{path.name}.probe-{os.getpid()}")
    try:
        fd = os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            os.write(fd, b"x")
            os.fsync(fd)
        finally:
            os.close(fd)
    except OSError as err:
        return f"the disk says: {(err.strerror or str(err)).lower()}"
    finally:
        with contextlib.suppress(OSError):
            os.unlink(probe)
    # A byte fits, but a file may not grow past this process's limit (the kernel's EFBIG).
    limit = resource.getrlimit(resource.RLIMIT_FSIZE)[0]
    if limit != resource.RLIM_INFINITY:
        return f"this process may not write files over {limit} bytes: ulimit -f"
    return None


def check_version(db: sqlite3.Connection, path: Path) -> int:
    """The file's schema version (0: new file); JournalError if it is newer than ours."""
    has_meta = db.execute(
        "SELECT 1 FROM sqlite_master WHERE type='table' AND name='meta'"
    ).fetchone()
    if not has_meta:
        return 0
    row = db.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
    version = int(row[0]) if row and str(row[0]).isdigit() else 0
    if version > SCHEMA_VERSION:
        raise JournalError(
            f"the journal {path} was written by a newer runbook (schema {version}; "
            f"this runbook knows {SCHEMA_VERSION}); upgrade runbook to read it"
        )
    return version


def init_schema(db: sqlite3.Connection, path: Path) -> None:
    """Create the tables in one transaction (two first runs at once are serialised)."""
    db.execute("BEGIN IMMEDIATE")
    try:
        # executescript would commit our transaction; run the statements one by one.
        for statement in _SCHEMA:
            db.execute(statement)
        db.execute(
            "INSERT OR IGNORE INTO meta (key, value) VALUES ('schema_version', ?)",
            (str(SCHEMA_VERSION),),
        )
        check_version(db, path)
        db.execute("COMMIT")
    except BaseException:
        if db.in_transaction:  # SQLite already rolled back after an I/O error or a full disk
            db.execute("ROLLBACK")
        raise


def create_file(path: Path) -> None:
    """A new journal appears whole: built beside its name (tables, WAL mode, 0600) and
    linked into place. Another process opening an empty file at the moment this one
    switched it to WAL would get "database is locked" at once: SQLite does not wait on
    that switch."""
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        new = path.with_name(f".{path.name}.new-{os.getpid()}-{secrets.token_hex(4)}")
        os.close(os.open(new, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600))
    except OSError as err:
        raise JournalError(f"cannot create the journal {path}: {err.strerror or err}") from err
    try:
        db = sqlite3.connect(str(new), isolation_level=None)
        try:
            enable_wal(db)
            init_schema(db, path)
        finally:
            db.close()
        _link(new, path)
    except sqlite3.Error as err:
        raise journal_error(err, path, "create") from err
    finally:
        for leftover in (new, new.with_name(new.name + "-wal"), new.with_name(new.name + "-shm")):
            with contextlib.suppress(OSError):
                leftover.unlink()


def _link(new: Path, path: Path) -> None:
    """`new` under the journal's name unless another process made one first."""
    try:
        os.link(new, path)
    except FileExistsError:
        pass  # another process created it first; that's fine
    except OSError:
        # No hard links on this file system: an empty file, made WAL on first open.
        try:
            os.close(os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600))
        except FileExistsError:
            pass
        except OSError as err:
            raise JournalError(f"cannot create the journal {path}: {err.strerror or err}") from err


def enable_wal(db: sqlite3.Connection) -> None:
    """WAL mode, waiting like any other lock: switching a file that another process has
    open answers "database is locked" at once, without SQLite's busy wait."""
    deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
    while True:
        try:
            db.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as err:
            if "locked" not in str(err) or time.monotonic() > deadline:
                raise
            time.sleep(0.01)


def file_identity(path: Path) -> tuple[int, int] | None:
    """(device, inode) of the file at `path` now; None when there is none."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_dev, st.st_ino


def save_gone(db: sqlite3.Connection, path: Path, why: str) -> JournalError:
    """The error for a journal whose file was deleted or replaced under this connection,
    which still reads the old file: its content is written back in place (or beside it, if
    another file is there now), so nothing journaled is lost with it."""
    side = path.with_name(f"{path.name}.saved-{os.getpid()}")
    targets = [path, side] if why == "deleted" else [side]
    problem: Exception | None = None
    for target in targets:
        try:
            path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            os.close(os.open(target, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600))
            copy = sqlite3.connect(str(target))
            try:
                db.backup(copy)
            finally:
                copy.close()
        except (OSError, sqlite3.Error) as err:
            problem = err
            continue
        use = "" if target == path else f" (use --state {target})"
        return JournalError(
            f"the journal {path} was {why} during the run; what it held is saved in {target}{use}"
        )
    return JournalError(
        f"the journal {path} was {why} during the run, and what it held could not be saved "
        f"({problem})"
    )

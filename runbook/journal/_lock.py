"""One live engine per run: an flock on `state.db.<run_id>.lock` beside the database.

The kernel drops an flock when its holder dies, even by SIGKILL, so a crashed engine
never leaves a run stuck. The holder writes "pid host" into the file so that a refused
second engine can say who has it.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import socket
import time
from collections.abc import Iterator
from pathlib import Path

from runbook.errors import JournalError, RunLocked


def lock_path(db_path: Path, run_id: str) -> Path:
    """`state.db.<run_id>.lock` beside the database."""
    return db_path.with_name(f"{db_path.name}.{run_id}.lock")


@contextlib.contextmanager
def engine_lock(path: Path, run_id: str) -> Iterator[None]:
    """Hold the lock at `path` for the whole block; RunLocked if a live process holds it."""
    fd = _acquire(path, run_id)
    try:
        try:
            os.ftruncate(fd, 0)
            os.write(fd, f"{os.getpid()} {socket.gethostname()}\n".encode())
            os.fsync(fd)
        except OSError as err:  # a full or read-only disk: the journal cannot be written
            raise JournalError(f"cannot write the run lock {path}: {err.strerror or err}") from err
        yield
    finally:
        # Unlink while still holding it: a process that opened the old file sees the inode
        # change once it gets the lock, and retries on a fresh file (see _acquire).
        with contextlib.suppress(OSError):
            os.unlink(path)
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


def _acquire(path: Path, run_id: str) -> int:
    for attempt in range(20):
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as err:
            raise JournalError(f"cannot create the run lock {path}: {err.strerror}") from err
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, 200).decode(errors="replace").split()
            os.close(fd)
            # An empty file: a `status` probing liveness holds a shared lock for a
            # moment, or the holder has not written its name yet. Look again shortly.
            if attempt < 5 and not holder:
                time.sleep(0.02)
                continue
            pid, host = [*holder, "?", "?"][:2]
            raise RunLocked(
                f"run {run_id} is already being run by pid {pid} on {host}; stop that one "
                f"first, or watch it with: runbook status {run_id} --watch"
            ) from None
        try:
            same = os.fstat(fd).st_ino == os.stat(path).st_ino
        except FileNotFoundError:
            same = False
        if same:
            return fd
        os.close(fd)  # the holder released and unlinked it meanwhile: take the new file
    raise JournalError(f"cannot take the run lock {path}")


def is_held(path: Path) -> bool:
    """Whether a live process holds the lock at `path` right now."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)  # closing drops our shared lock too
    return False

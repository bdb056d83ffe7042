"""`copy` and `fetch`, written once over a small file-system interface: the host's SFTP
(executors/ssh/_sftp.py) or this machine's own (`LocalFiles`, for local steps and
`ansible_connection: local` hosts).

Files are streamed in CHUNK-sized pieces, hashed on the way: memory stays bounded
whatever their size. A copy is skipped when the target has the same sha256 (and mode,
when `mode` is given); otherwise it is written to a 0600 temporary file beside the
target, given its mode, then renamed into place. A fetch never overwrites a different
file: it fails naming it. The journal gets path, size, mode and sha256, never content.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import secrets
import stat
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Protocol

from runbook.errors import HostError
from runbook.executors._base import CommandResult, OutputCallback

CHUNK = 256 * 1024
NEW_FILE_MODE = 0o644
FETCHED_MODE = 0o600


@dataclass(frozen=True)
class CopySpec:
    """A rendered `copy`: the bytes come from `src` (a local path) or `content`."""

    dest: str
    src: str | None = None
    content: str | None = None
    mode: int | None = None

    def describe(self) -> str:
        what = self.src if self.src is not None else "content"
        mode = f" (mode {self.mode:04o})" if self.mode is not None else ""
        return f"{what} → {self.dest}{mode}"


@dataclass(frozen=True)
class FetchSpec:
    """A rendered `fetch`: `src` on the host to `folder/NAME` here (folder is DEST/HOST)."""

    src: str
    folder: str

    @property
    def target(self) -> Path:
        return Path(self.folder) / Path(self.src).name

    def describe(self) -> str:
        return f"{self.src} → {self.target}"


class Files(Protocol):
    """What copy and fetch need of the side that holds the file."""

    def stat(self, path: str) -> tuple[int, int] | None:
        """(size, permission bits), None when there is no such file."""
        ...

    def open_read(self, path: str) -> IO[bytes]: ...

    def create(self, path: str) -> IO[bytes]:
        """A new file, 0600 before anything is written to it."""
        ...

    def chmod(self, path: str, mode: int) -> None: ...

    def rename(self, src: str, dest: str) -> None:
        """Replace `dest` atomically."""
        ...

    def remove(self, path: str) -> None: ...

    def sha256(self, path: str) -> str | None:
        """The file's sha256 computed where it is (None: not available there)."""
        ...


class LocalFiles:
    """This machine's files."""

    def stat(self, path: str) -> tuple[int, int] | None:
        try:
            st = os.stat(path)
        except FileNotFoundError:
            return None
        return st.st_size, stat.S_IMODE(st.st_mode)

    def open_read(self, path: str) -> IO[bytes]:
        return open(path, "rb")

    def create(self, path: str) -> IO[bytes]:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        return os.fdopen(fd, "wb")

    def chmod(self, path: str, mode: int) -> None:
        os.chmod(path, mode)

    def rename(self, src: str, dest: str) -> None:
        os.replace(src, dest)

    def remove(self, path: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)

    def sha256(self, path: str) -> str | None:
        with open(path, "rb") as f:
            return _hash_stream(f)


def _hash_stream(f: IO[bytes]) -> str:
    h = hashlib.sha256()
    while block := f.read(CHUNK):
        h.update(block)
    return h.hexdigest()


class Cancelled(Exception):
    """The transfer was told to stop."""


def _source(spec: CopySpec) -> IO[bytes]:
    if spec.src is not None:
        return open(spec.src, "rb")
    return io.BytesIO((spec.content or "").encode())


def _chunks(f: IO[bytes], cancel: threading.Event) -> Iterator[bytes]:
    while block := f.read(CHUNK):
        if cancel.is_set():
            raise Cancelled
        yield block


def copy_file(
    files: Files, spec: CopySpec, on_output: OutputCallback, cancel: threading.Event, name: str
) -> CommandResult:
    """Put `spec`'s bytes at `spec.dest` on the side `files` reaches."""
    try:
        with _source(spec) as f:
            digest = _hash_stream(f)
    except OSError as e:
        return _error(name, f"copy: cannot read {spec.src}: {e.strerror or e}")
    try:
        with _source(spec) as f:
            size = f.seek(0, io.SEEK_END)
        there = files.stat(spec.dest)
        mode = spec.mode if spec.mode is not None else (there[1] if there else NEW_FILE_MODE)
        # a different size is a different file: hashing the target is for equal sizes only
        if there is not None and there == (size, mode) and files.sha256(spec.dest) == digest:
            on_output("stdout", f"copy: {spec.dest} unchanged (sha256 {digest[:12]}…)\n")
            return _done({"copy": _record(spec.dest, size, mode, digest, changed=False)})
        tmp = f"{spec.dest}.runbook-{secrets.token_hex(4)}.tmp"
        try:
            with _source(spec) as src, files.create(tmp) as out:
                for block in _chunks(src, cancel):
                    out.write(block)
            files.chmod(tmp, mode)
            files.rename(tmp, spec.dest)
        except BaseException:
            with contextlib.suppress(OSError, HostError):
                files.remove(tmp)
            raise
    except Cancelled:
        return CommandResult(None, 0.0)
    except OSError as e:
        return _error(name, f"copy to {spec.dest}: {e.strerror or e}")
    on_output("stdout", f"copy: {spec.dest} written, {size} bytes (sha256 {digest[:12]}…)\n")
    return _done({"copy": _record(spec.dest, size, mode, digest, changed=True)})


def fetch_file(
    files: Files, spec: FetchSpec, on_output: OutputCallback, cancel: threading.Event, name: str
) -> CommandResult:
    """Bring `spec.src` from the side `files` reaches to DEST/HOST/NAME here."""
    target = spec.target
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        return _error(name, f"fetch: cannot create {target.parent}: {e.strerror or e}")
    here = LocalFiles()
    tmp = f"{target}.runbook-{secrets.token_hex(4)}.tmp"
    h = hashlib.sha256()
    size = 0
    try:
        with files.open_read(spec.src) as src, here.create(tmp) as out:
            for block in _chunks(src, cancel):
                h.update(block)
                size += len(block)
                out.write(block)
        digest = h.hexdigest()
        if target.exists():
            same = here.sha256(str(target)) == digest
            here.remove(tmp)
            if not same:
                return _error(
                    name,
                    f"fetch: {target} exists with different content; not overwritten "
                    "(move it away to fetch again)",
                )
            on_output("stdout", f"fetch: {target} unchanged (sha256 {digest[:12]}…)\n")
            return _done({"fetch": _record(spec.src, size, FETCHED_MODE, digest, False)})
        here.rename(tmp, str(target))
    except Cancelled:
        here.remove(tmp)
        return CommandResult(None, 0.0)
    except OSError as e:
        here.remove(tmp)
        return _error(name, f"fetch {spec.src}: {e.strerror or e}")
    on_output("stdout", f"fetch: {spec.src} → {target}, {size} bytes (sha256 {digest[:12]}…)\n")
    return _done({"fetch": _record(spec.src, size, FETCHED_MODE, digest, True)})


def _record(path: str, size: int, mode: int, digest: str, changed: bool) -> dict[str, Any]:
    return {"path": path, "size": size, "mode": f"{mode:04o}", "sha256": digest, "changed": changed}


def _done(data: dict[str, Any]) -> CommandResult:
    return CommandResult(0, 0.0, data=data)


def _error(name: str, detail: str) -> CommandResult:
    return CommandResult(None, 0.0, error=HostError(name, "error", detail))


def local_transfer(
    spec: CopySpec | FetchSpec, on_output: OutputCallback, cancel: threading.Event
) -> CommandResult:
    """A copy or fetch on this machine (a plain copy)."""
    if isinstance(spec, CopySpec):
        return copy_file(LocalFiles(), spec, on_output, cancel, "localhost")
    return fetch_file(LocalFiles(), spec, on_output, cancel, "localhost")

"""A host's files over SFTP on its pooled SSH connection (paramiko's SFTPClient on a
session channel of that connection): the host key was checked when it was opened, as for
commands. executors/_files.py does the copy and fetch over this interface."""

from __future__ import annotations

import hashlib
import stat
import threading
from dataclasses import replace
from typing import IO, cast

import paramiko

from runbook.errors import HostError
from runbook.executors import (
    CommandResult,
    CopySpec,
    FetchSpec,
    OutputCallback,
    copy_file,
    fetch_file,
)

WRITE_BUFFER = 256 * 1024


class SftpFiles:
    """The `Files` interface over one SFTP session."""

    def __init__(self, client: paramiko.SFTPClient) -> None:
        self.client = client

    def stat(self, path: str) -> tuple[int, int] | None:
        try:
            st = self.client.stat(path)
        except FileNotFoundError:
            return None
        return int(st.st_size or 0), stat.S_IMODE(st.st_mode or 0)

    def open_read(self, path: str) -> IO[bytes]:
        # No prefetch: paramiko's (and readv's) keeps what arrives until it is read, and
        # memory grew with the file (bench/transfer.py: 1 GiB fetched, 190 MB of RSS, vs
        # a flat 77 MB read a request at a time, at about the same speed on loopback).
        return cast(IO[bytes], self.client.open(path, "rb"))

    def create(self, path: str) -> IO[bytes]:
        f = self.client.open(path, "wbx", bufsize=WRITE_BUFFER)  # exclusive: never an existing file
        self.client.chmod(path, 0o600)  # before a byte of content is in it
        f.set_pipelined(True)  # writes acknowledged in the background: full speed
        return cast(IO[bytes], f)

    def chmod(self, path: str, mode: int) -> None:
        self.client.chmod(path, mode)

    def rename(self, src: str, dest: str) -> None:
        self.client.posix_rename(src, dest)

    def remove(self, path: str) -> None:
        self.client.remove(path)

    def sha256(self, path: str) -> str | None:
        h = hashlib.sha256()
        with self.open_read(path) as f:
            while block := f.read(WRITE_BUFFER):
                h.update(block)
        return h.hexdigest()


def sftp_transfer(
    chan: paramiko.Channel,
    spec: CopySpec | FetchSpec,
    on_output: OutputCallback,
    cancel: threading.Event,
    name: str,
    timeout_s: float,
) -> CommandResult:
    """A copy or fetch over SFTP on a fresh session channel (the caller holds one of the
    connection's session slots); stopped at `timeout_s` like a command."""
    timed = threading.Event()

    def out_of_time() -> None:
        timed.set()
        cancel.set()

    stop = threading.Timer(max(0.0, timeout_s), out_of_time)
    stop.daemon = True
    stop.start()
    try:
        try:
            chan.invoke_subsystem("sftp")
        except paramiko.SSHException as e:
            detail = f"the server refused SFTP ({e}): is `Subsystem sftp` in its sshd_config?"
            return CommandResult(None, 0.0, error=HostError(name, "error", detail))
        with paramiko.SFTPClient(chan) as sftp:
            files = SftpFiles(sftp)
            if isinstance(spec, CopySpec):
                result = copy_file(files, spec, on_output, cancel, name)
            else:
                result = fetch_file(files, spec, on_output, cancel, name)
    finally:
        stop.cancel()
    if timed.is_set() and result.exit_code is None and result.error is None:
        return replace(result, timed_out=True)
    return result

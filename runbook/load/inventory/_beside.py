"""A large inventory loaded in a child process while the playbook is parsed.

Playbook and inventory are independent until hosts are selected, and even a laptop has
two cores: a 5,000-host inventory (~0.2 s to load) then costs the parent only its
unpickling (~0.03 s). Only where fork exists, for inputs over BESIDE_BYTES, and only
while this process has a single thread (a child forked beside other threads can
deadlock on a lock one of them held). If anything is odd (the child dies, or sends
something unreadable) the inventory is loaded here, exactly as without this.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import signal
import threading
from collections.abc import Sequence
from pathlib import Path

from runbook.errors import InputError
from runbook.load.inventory._load import load_inventory
from runbook.model import Inventory

BESIDE_BYTES = 64 * 1024  # ~1,000 hosts; below this a fork costs about what it saves
_MAX_FILES = 2_000  # an inventory folder this big is measured no further


class PendingInventory:
    """An inventory being loaded: `result()` waits for it; `cancel()` drops it."""

    def __init__(self, paths: Sequence[Path], *, default: bool = False) -> None:
        self.paths = list(paths)
        self.default = default  # `inventory/` found here, not named with -i
        self._pid = 0
        self._pipe = -1
        if _worth_a_child(self.paths):
            self._fork()

    def _fork(self) -> None:
        read_fd, write_fd = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child: load, send, and leave without running anything else
            code = 1
            try:
                # Ctrl-C, a TERM or a hang-up ends the child at once: no handler of the
                # parent's runs here (one may write to the journal), and the parent loads
                # it again. A hang-up ignored (nohup) stays ignored.
                for sig in (signal.SIGINT, signal.SIGTERM):
                    signal.signal(sig, signal.SIG_DFL)
                if signal.getsignal(signal.SIGHUP) != signal.SIG_IGN:
                    signal.signal(signal.SIGHUP, signal.SIG_DFL)
                os.close(read_fd)
                try:
                    payload: tuple[str, object] = ("ok", load_inventory(self.paths))
                except InputError as e:
                    payload = ("issues", e.issues)
                with os.fdopen(write_fd, "wb") as out:
                    out.write(pickle.dumps(payload, protocol=pickle.HIGHEST_PROTOCOL))
                code = 0
            finally:
                os._exit(code)
        os.close(write_fd)
        self._pid, self._pipe = pid, read_fd

    def result(self) -> Inventory:
        """The loaded inventory; InputError with its problems, as load_inventory."""
        if not self._pid:
            return load_inventory(self.paths)
        with os.fdopen(self._pipe, "rb") as pipe:
            data = pipe.read()
        _, status = os.waitpid(self._pid, 0)
        self._pid = 0
        try:
            kind, value = pickle.loads(data) if status == 0 else (None, None)
        except Exception:  # unreadable: load it here instead
            kind, value = None, None
        if kind == "ok" and isinstance(value, Inventory):
            return value
        if kind == "issues" and isinstance(value, list):
            raise InputError(value)
        return load_inventory(self.paths)

    def cancel(self) -> None:
        """Stop and reap the child if its result was never asked for."""
        if not self._pid:
            return
        with contextlib.suppress(OSError):
            os.kill(self._pid, signal.SIGKILL)
        with contextlib.suppress(OSError):
            os.close(self._pipe)
        with contextlib.suppress(ChildProcessError):
            os.waitpid(self._pid, 0)
        self._pid = 0


def _worth_a_child(paths: Sequence[Path]) -> bool:
    if not hasattr(os, "fork") or (os.cpu_count() or 1) < 2:
        return False
    if threading.active_count() > 1:
        return False
    return _input_bytes(paths) >= BESIDE_BYTES


def _input_bytes(paths: Sequence[Path]) -> int:
    """The size of the inventory's files (folders walked, up to _MAX_FILES files)."""
    total = 0
    seen = 0
    for path in paths:
        try:
            if path.is_file():
                total += path.stat().st_size
                seen += 1
                continue
            for root, _dirs, files in os.walk(path):
                for name in files:
                    total += os.path.getsize(os.path.join(root, name))
                    seen += 1
                    if seen > _MAX_FILES or total >= BESIDE_BYTES:
                        return total
        except OSError:
            return 0  # unreadable: load it here, where the error is reported properly
        if total >= BESIDE_BYTES:
            return total
    return total

"""The private keys offered to an SSH server, in order, each file read once.

The order: the hop's own keys (inventory, ~/.ssh/config), then the agent's, then the
default ~/.ssh/id_* files. A key file that cannot be used is remembered with why (never
the key itself), for the message that lists what was tried. No paramiko here: ssh.py
hands in how to read a key file and how to reach the agent.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Generic, Protocol, TypeVar

from runbook.executors.ssh._known_hosts import fingerprint
from runbook.executors.ssh._target import Hop

DEFAULT_KEY_NAMES = ("id_ed25519", "id_ecdsa", "id_rsa")


class PublicKey(Protocol):
    """What is used of a paramiko key here: its public blob, for the fingerprint."""

    def asbytes(self) -> bytes: ...


K = TypeVar("K", bound=PublicKey)
K_co = TypeVar("K_co", bound=PublicKey, covariant=True)


class KeyAgent(Protocol[K_co]):
    """What is used of paramiko's Agent."""

    def get_keys(self) -> tuple[K_co, ...]: ...
    def close(self) -> None: ...


class LoginKeys(Generic[K]):
    """The keys to try for each hop, loaded lazily and cached for the whole run."""

    def __init__(
        self,
        key_dir: Path,  # where the default keys (id_*) are
        allow_agent: bool,
        read: Callable[[str], K | str],  # a key file's key, or why it is unusable
        open_agent: Callable[[], KeyAgent[K] | None],  # None: no agent answers
    ) -> None:
        self._key_dir = key_dir
        self._allow_agent = allow_agent
        self._read = read
        self._open_agent = open_agent
        self._lock = threading.Lock()
        self._keys: dict[str, K | str] = {}  # path → key, or why it is unusable
        self._agent: KeyAgent[K] | None = None

    def candidates(self, hop: Hop, tried: list[str]) -> Iterator[tuple[str, K]]:
        """Inventory/config keys, then the agent's, then ~/.ssh/id_* (never a secret shown)."""
        for path in hop.key_files:
            key = self._load(path)
            if isinstance(key, str):
                tried.append(f"{path} ({key})")
            else:
                yield path, key
        for key in self._agent_keys():
            yield f"agent key {fingerprint(key.asbytes())}", key
        for name in DEFAULT_KEY_NAMES:
            path = str(self._key_dir / name)
            if path in hop.key_files or not os.path.isfile(path):
                continue
            key = self._load(path)
            if isinstance(key, str):
                tried.append(f"{path} ({key})")
            else:
                yield path, key

    def close(self) -> None:
        """Let go of the agent connection, if one was opened."""
        with self._lock:
            agent, self._agent = self._agent, None
        if agent is not None:
            agent.close()

    def _load(self, path: str) -> K | str:
        with self._lock:
            cached = self._keys.get(path)
        if cached is not None:
            return cached
        loaded = self._read(path) if os.path.isfile(path) else "no such file"
        with self._lock:
            self._keys[path] = loaded
        return loaded

    def _agent_keys(self) -> tuple[K, ...]:
        if not self._allow_agent or not os.environ.get("SSH_AUTH_SOCK"):
            return ()
        with self._lock:
            if self._agent is None:
                self._agent = self._open_agent()
                if self._agent is None:
                    return ()
            agent = self._agent
        return tuple(agent.get_keys())

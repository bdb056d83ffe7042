"""OpenSSH known_hosts files: lookup, verdicts and recording, without paramiko.

paramiko's HostKeys ignores wildcards, negations and `@revoked`, so the format is read here:
`[@marker] patterns keytype base64 [comment]`, patterns being a comma list of names with
`*`/`?`, `!negations`, `[host]:port` for non-22 ports, or one hashed `|1|salt|hmac` entry.
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import hmac
import os
import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from runbook.errors import HostError

Verdict = Literal["ok", "unknown", "changed", "revoked"]

# Public-key algorithm names a server may sign with for a key stored under a given type.
_SIGNATURE_TYPES = {"ssh-rsa": ("rsa-sha2-512", "rsa-sha2-256", "ssh-rsa")}


@dataclass(frozen=True)
class KnownKey:
    """One known_hosts entry."""

    patterns: str
    key_type: str
    blob: bytes
    source: str  # file:line, for messages
    marker: str | None = None  # "@revoked" or "@cert-authority"


@dataclass(frozen=True)
class Check:
    """What known_hosts says about the key a server presented."""

    verdict: Verdict
    known: tuple[KnownKey, ...] = ()  # the entries for this host (for "changed" messages)


def fingerprint(blob: bytes) -> str:
    """OpenSSH's SHA256 fingerprint of a public key blob."""
    digest = base64.b64encode(hashlib.sha256(blob).digest()).decode().rstrip("=")
    return f"SHA256:{digest}"


def host_name(address: str, port: int) -> str:
    """The name known_hosts stores: `addr` on port 22, else `[addr]:port`."""
    return address if port == 22 else f"[{address}]:{port}"


class KnownHosts:
    """Every entry of a list of known_hosts files; thread-safe; records accepted keys."""

    def __init__(self, paths: Sequence[Path]) -> None:
        self.paths = tuple(paths)
        self._lock = threading.Lock()
        self._entries: list[KnownKey] = []
        for path in self.paths:
            self._entries.extend(_read(path))

    def entries_for(self, address: str, port: int) -> list[KnownKey]:
        """The entries whose patterns match this server (markers included)."""
        name = host_name(address, port).lower()
        with self._lock:
            return [e for e in self._entries if _matches(e.patterns, name)]

    def key_types(self, address: str, port: int) -> list[str]:
        """Signature algorithms of the keys known for this server, to prefer in the handshake."""
        types: list[str] = []
        for e in self.entries_for(address, port):
            if e.marker is None:
                for t in _SIGNATURE_TYPES.get(e.key_type, (e.key_type,)):
                    if t not in types:
                        types.append(t)
        return types

    def check(self, address: str, port: int, blob: bytes) -> Check:
        """ok: a matching entry; revoked: `@revoked`; changed: other keys known; else unknown."""
        entries = self.entries_for(address, port)
        if any(e.marker == "@revoked" and e.blob == blob for e in entries):
            return Check("revoked", tuple(entries))
        plain = tuple(e for e in entries if e.marker is None)
        if any(e.blob == blob for e in plain):
            return Check("ok", plain)
        return Check("changed" if plain else "unknown", plain)

    def verify(
        self, label: str, address: str, port: int, key_type: str, blob: bytes, accept_new: bool
    ) -> bool:
        """Accept a known key (False) or, with `accept_new`, record an unknown one (True);
        otherwise HostError "hostkey" naming the server and the SHA256 fingerprint."""
        fp, name = fingerprint(blob), host_name(address, port)
        check = self.check(address, port, blob)
        if check.verdict == "ok":
            return False
        if check.verdict == "unknown" and accept_new:
            return self.record(address, port, key_type, blob)
        if check.verdict == "revoked":
            detail = f"host key {key_type} {fp} of {name} is marked @revoked in known_hosts"
        elif check.verdict == "changed":  # never accepted, whatever the options say
            known = "; ".join(
                f"{k.key_type} {fingerprint(k.blob)} ({k.source})" for k in check.known
            )
            detail = (
                f"HOST KEY CHANGED for {name}: it presents {key_type} {fp}, known_hosts has "
                f"{known}; if the change is expected, remove the old entry "
                f"(ssh-keygen -R '{name}')"
            )
        else:
            files = ", ".join(str(p) for p in self.paths) or "no known_hosts file"
            detail = (
                f"unknown host key for {name}: {key_type} {fp} is not in {files}; check the "
                "fingerprint and add it, or run with --accept-new-host-keys"
            )
        raise HostError(label, "hostkey", detail)

    def record(self, address: str, port: int, key_type: str, blob: bytes) -> bool:
        """Append an accepted key to the first file (created 0600, folder 0700); False when
        another thread recorded it first (two connections to one new server)."""
        name = host_name(address, port)
        with self._lock:
            if any(e.blob == blob and _matches(e.patterns, name.lower()) for e in self._entries):
                return False
            self._entries.append(KnownKey(name, key_type, blob, "accepted"))
            if not self.paths:
                return True
            path = self.paths[0]
            path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            lead = "\n" if _lacks_final_newline(path) else ""
            fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            with os.fdopen(fd, "a", encoding="utf-8") as f:
                f.write(f"{lead}{name} {key_type} {base64.b64encode(blob).decode()}\n")
            return True


def _read(path: Path) -> list[KnownKey]:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:  # missing or unreadable: like ssh, treat as empty
        return []
    out: list[KnownKey] = []
    for n, line in enumerate(text.splitlines(), 1):
        fields = line.split()
        if not fields or fields[0].startswith("#"):
            continue
        marker = None
        if fields[0].startswith("@"):
            marker, fields = fields[0].lower(), fields[1:]
        if len(fields) < 3:
            continue
        try:
            blob = base64.b64decode(fields[2], validate=True)
        except (binascii.Error, ValueError):
            continue
        out.append(KnownKey(fields[0], fields[1], blob, f"{path}:{n}", marker))
    return out


def _matches(patterns: str, name: str) -> bool:
    if patterns.startswith("|1|"):
        try:
            _, _, salt_b64, hash_b64 = patterns.split("|")[:4]
            salt, want = base64.b64decode(salt_b64), base64.b64decode(hash_b64)
        except (ValueError, binascii.Error):
            return False
        return hmac.compare_digest(hmac.new(salt, name.encode(), hashlib.sha1).digest(), want)
    matched = False
    for pattern in patterns.lower().split(","):
        negated = pattern.startswith("!")
        if _glob(pattern[1:] if negated else pattern).fullmatch(name):
            if negated:
                return False  # a matching negation excludes the line whatever else matches
            matched = True
    return matched


@functools.lru_cache(maxsize=1024)
def _glob(pattern: str) -> re.Pattern[str]:
    # Only * and ? are special in ssh patterns; brackets in `[host]:port` are literal.
    return re.compile(
        "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    )


def _lacks_final_newline(path: Path) -> bool:
    try:
        with path.open("rb") as f:
            f.seek(0, os.SEEK_END)
            if f.tell() == 0:
                return False
            f.seek(-1, os.SEEK_END)
            return f.read(1) != b"\n"
    except OSError:
        return False

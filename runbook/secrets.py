"""Which variables are secret, and scrubbing their values from anything we keep or show."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from typing import Any

# SPEC §5 names password/secret/token; Ansible's connection secrets end in `_pass`
# (ansible_ssh_pass, ansible_become_pass) and are treated the same way.
SECRET_NAME = re.compile(r"password|secret|token|passphrase|_pass$|passwd", re.IGNORECASE)
MASK = "***"
MIN_MASKED = 3  # shorter values are not masked in free text: they would hit everywhere


def is_secret_name(name: str) -> bool:
    """SPEC §5: names containing password, secret or token (and Ansible's *_pass) are secret."""
    return bool(SECRET_NAME.search(name))


class SecretText(str):
    """A secret variable's value: renders like any text, but error messages mask it."""

    __slots__ = ()


def _forms(secret: str) -> set[str]:
    """The ways a value appears in what we keep: as typed, shell-quoted in a rendered
    command (`it's` becomes `'it'"'"'s'`, which no longer contains `it's`; the inner form
    also covers a secret quoted as part of a longer value), JSON-escaped (a mapping
    variable is rendered as JSON)."""
    return {
        secret,
        secret.replace("'", "'\"'\"'"),
        json.dumps(secret)[1:-1],
        json.dumps(secret, ensure_ascii=False)[1:-1],
    }


class Redactor:
    """Replaces every known secret value with *** in text and nested data.

    Besides the values themselves it masks the forms of them that templates derive
    (`| upper`, `| urlencode`, a slice...), which `secret_forms` finds and `learn`s here
    before anything showing them is journaled.
    """

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        # Every value, short ones too: templates render them with stand-ins (secret_forms).
        self.secrets: tuple[str, ...] = tuple(dict.fromkeys(str(s) for s in secrets if s))
        # Longest first so a secret containing another is masked whole; very short values
        # (1-2 chars) would mask half of every output, so they are kept out of the journal
        # by never being echoed in our own messages instead.
        self._values = {f for s in self.secrets if len(s) >= MIN_MASKED for f in _forms(s)}
        self._pattern: re.Pattern[str] | None = None
        self._stale = bool(self._values)

    def learn(self, forms: Iterable[str]) -> None:
        """Mask `forms` too: text a template derived from a secret."""
        new = {f for s in forms if len(s) >= MIN_MASKED for f in _forms(s)} - self._values
        if new:
            # Compiled again on next use, not per form: thousands of hosts may each add one.
            self._values |= new
            self._stale = True

    def _current(self) -> re.Pattern[str] | None:
        if self._stale:
            values = sorted(self._values, key=len, reverse=True)
            self._pattern = re.compile("|".join(re.escape(v) for v in values))
            self._stale = False
        return self._pattern

    def text(self, value: str) -> str:
        """`value` with secrets masked."""
        pattern = self._current()
        if pattern is None:
            return value
        return pattern.sub(MASK, value)

    def data(self, value: Any) -> Any:
        """A copy of JSON-like data with every string masked."""
        if self._current() is None:
            return value
        return self._data(value)

    def _data(self, value: Any) -> Any:
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, Mapping):
            return {k: self._data(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [self._data(v) for v in value]
        return value

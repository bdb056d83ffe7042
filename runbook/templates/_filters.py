"""The Ansible filters that restore commands copied from a playbook most often use.

Teams bring their commands from Ansible: `{{ vars.token | b64encode }}`, `regex_replace`,
`to_json`, `basename`, `ternary`, `bool`. Jinja2 has none of them, and a template that
names an unknown filter fails validation, so without these a working command would need
rewriting on the night. Same names and meanings as ansible.builtin; `quote` is there
because Ansible users write it, and since runbook quotes every value already, its result
is marked as quoted once (never twice).
"""

from __future__ import annotations

import base64
import json
import posixpath
import re
import shlex
from collections.abc import Callable
from typing import Any

_TRUE = frozenset({"yes", "on", "1", "true", "y", "t"})


def _b64encode(value: Any, encoding: str = "utf-8") -> str:
    return base64.b64encode(str(value).encode(encoding)).decode("ascii")


def _b64decode(value: Any, encoding: str = "utf-8") -> str:
    return base64.b64decode(str(value)).decode(encoding)


def _regex_replace(
    value: Any, pattern: str = "", replacement: str = "", ignorecase: bool = False
) -> str:
    flags = re.IGNORECASE if ignorecase else 0
    return re.sub(pattern, replacement, str(value), flags=flags | re.MULTILINE)


def _regex_search(value: Any, pattern: str, ignorecase: bool = False) -> str | None:
    flags = re.IGNORECASE if ignorecase else 0
    found = re.search(pattern, str(value), flags=flags | re.MULTILINE)
    return found.group(0) if found else None


def _to_json(value: Any, **kwargs: Any) -> str:
    return json.dumps(value, default=str, **kwargs)


def _to_nice_json(value: Any, indent: int = 4) -> str:
    return json.dumps(value, default=str, indent=indent, sort_keys=True)


def _bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() in _TRUE


def _ternary(value: Any, true_val: Any, false_val: Any, none_val: Any = None) -> Any:
    if value is None and none_val is not None:
        return none_val
    return true_val if value else false_val


def ansible_filters(quoted: Callable[[str], Any]) -> dict[str, Callable[..., Any]]:
    """The filters by name; `quoted` marks a text as already shell-quoted (`| raw`)."""
    return {
        "b64encode": _b64encode,
        "b64decode": _b64decode,
        "regex_replace": _regex_replace,
        "regex_search": _regex_search,
        "to_json": _to_json,
        "to_nice_json": _to_nice_json,
        "basename": posixpath.basename,
        "dirname": posixpath.dirname,
        "bool": _bool,
        "ternary": _ternary,
        "quote": lambda value: quoted(shlex.quote(str(value))),
    }

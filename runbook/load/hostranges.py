"""Ansible host names: `name:port` shorthand and `[a:b]` / `[a:b:step]` range expansion.

The rules are Ansible's (`parse_address` and `expand_hostname_range` in ansible-core): a
range is numeric or a single letter each side, zero padding is kept when the start is
written with a leading zero, several ranges in one name multiply, and `[:5]` starts at 0.
"""

from __future__ import annotations

import re
import string

MAX_EXPANSION = 100_000  # one pattern; `web[1:100000000]` is a typo, not a datacenter

# `[v6addr]:port` and `name-or-ranges:port`, as Ansible's `parse_address` reads them.
_BRACKETED_PORT = re.compile(r"^\[([0-9a-fA-F:.%\w]*:[0-9a-fA-F:.%\w]*)\]:([0-9]+)$")
_HOST_PORT = re.compile(r"^((?:[^:\[\]]|\[[^\]]*\])*):([0-9]+)$")


class RangeError(ValueError):
    """A host range that cannot be expanded; the message says why."""


def split_host_port(pattern: str) -> tuple[str, int | None]:
    """`web1:2222` → (`web1`, 2222); IPv6 needs brackets for a port: `[fe80::1]:22`."""
    m = _BRACKETED_PORT.match(pattern) or _HOST_PORT.match(pattern)
    if m and m.group(1):
        return m.group(1), int(m.group(2))
    return pattern, None


def expand_host_pattern(pattern: str) -> list[str]:
    """Every host name a pattern stands for, in order; RangeError for a bad range."""
    if "[" not in pattern and "]" not in pattern:
        return [pattern]
    names: list[str] = []
    _expand(pattern, names)
    return names


def _expand(pattern: str, out: list[str]) -> None:
    start = pattern.find("[")
    end = pattern.find("]", start + 1)
    if start < 0 or end < 0:
        raise RangeError(f"unbalanced '[' or ']' in host name '{pattern}'")
    head, body, tail = pattern[:start], pattern[start + 1 : end], pattern[end + 1 :]
    for item in _range_items(body):
        name = f"{head}{item}{tail}"
        if "[" in tail:
            _expand(name, out)
        else:
            out.append(name)
        if len(out) > MAX_EXPANSION:
            raise RangeError(f"host range expands to more than {MAX_EXPANSION:,} names")


def _range_items(body: str) -> list[str]:
    bounds = body.split(":")
    if len(bounds) not in (2, 3):
        raise RangeError(f"range '[{body}]' must be [start:end] or [start:end:step]")
    beg, end = bounds[0] or "0", bounds[1]
    step_text = bounds[2] if len(bounds) == 3 else "1"
    if not end:
        raise RangeError(f"range '[{body}]' has no end value")
    if not step_text.isdigit() or int(step_text) == 0:
        raise RangeError(f"range '[{body}]' has step '{step_text}': it must be a whole number ≥ 1")
    step = int(step_text)
    if beg in string.ascii_letters and end in string.ascii_letters:
        i, j = string.ascii_letters.index(beg), string.ascii_letters.index(end)
        if i > j:
            raise RangeError(f"range '[{body}]' starts after it ends")
        return list(string.ascii_letters[i : j + 1 : step])
    if not (beg.isdigit() and end.isdigit()):
        raise RangeError(
            f"range '[{body}]' mixes letters and numbers or uses a word: "
            "use [01:20] (numbers) or [a:f] (single letters)"
        )
    # A leading zero asks for fixed-width names; Ansible then wants both ends that wide.
    width = len(beg) if beg.startswith("0") and len(beg) > 1 else 0
    if width and len(end) != width:
        raise RangeError(
            f"range '[{body}]' pads the start to {width} digits but not the end: "
            f"write both ends with {width} digits"
        )
    lo, hi = int(beg), int(end)
    if lo > hi:
        raise RangeError(f"range '[{body}]' starts after it ends")
    if (hi - lo) // step + 1 > MAX_EXPANSION:
        raise RangeError(f"range '[{body}]' expands to more than {MAX_EXPANSION:,} names")
    return [str(n).zfill(width) for n in range(lo, hi + 1, step)]

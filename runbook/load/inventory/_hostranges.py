"""Ansible host names: `name:port` shorthand and `[a:b]` / `[a:b:step]` range expansion.

The rules are Ansible's (`parse_address` and `expand_hostname_range` in ansible-core): a
range is numeric or a single letter each side, zero padding is kept when the start is
written with a leading zero, several ranges in one name multiply, and `[:5]` starts at 0.
"""

from __future__ import annotations

import re
import string

MAX_EXPANSION = 100_000  # one pattern; `web[1:100000000]` is a typo, not a datacenter

# `[anything]:port` and `name-or-ranges:port`, the two forms Ansible's `parse_address` strips
# a port from (in turn: `[web1]:22`, `[fe80::1]:22`, `[10.0.0.1]:22`, `web[1:3]:22`).
_BRACKETED_PORT = re.compile(r"^\[(.+)\]:([0-9]+)$")
_HOST_PORT = re.compile(r"^((?:[^:\[\]]|\[[^\]]*\])*):([0-9]+)$")
# What is left must be a host name or an IPv6 address, ranges allowed (an IPv4 address is
# a valid host name too). A name's labels are word characters and `-`, may hold `[1:3]` or
# `[a:c]` ranges, and do not end with `-` or `_`.
_NAME_RANGE = r"\[(?:[a-z]:[a-z]|[0-9]+:[0-9]+)(?::[0-9]+)?\]"
_LABEL = re.compile(rf"(?:\w|{_NAME_RANGE})(?:[\w-]|{_NAME_RANGE})*", re.IGNORECASE)
_HEX_RANGE = re.compile(r"\[[0-9a-f]+:[0-9a-f]+(?::[0-9]+)?\]", re.IGNORECASE)
_HEX = re.compile(r"[0-9a-f]{1,4}", re.IGNORECASE)
# The only IPv6 forms with an IPv4 tail that Ansible accepts.
_V4_TAIL_PREFIXES = ("0:0:0:0:0:0:", "::", "::ffff:", "0:0:0:0:0:ffff:")


class RangeError(ValueError):
    """A host range that cannot be expanded; the message says why."""


def split_host_port(pattern: str, ranges: bool = True) -> tuple[str, int | None]:
    """`web1:2222` → (`web1`, 2222); IPv6 needs brackets for a port: `[fe80::1]:22`.

    As Ansible's `parse_address`: when what is left is not a host name or an IPv6 address
    (`web_:22`, `host@x:22`), the whole text is the host's name and there is no port;
    `ranges=False` (the `-i a,b` host list) treats a name with `[` the same way.
    """
    address, port = pattern, None
    for form in (_BRACKETED_PORT, _HOST_PORT):  # Ansible tries both, the second on the rest
        m = form.match(address)
        if m:
            address, port = m.group(1), int(m.group(2))
    if not (_is_hostname(address) or _is_ipv6(address)) or (not ranges and "[" in address):
        return pattern, None
    return address, port


def _is_hostname(text: str) -> bool:
    return all(_LABEL.fullmatch(label) and label[-1] not in "-_" for label in text.split("."))


def _is_ipv6(text: str) -> bool:
    """Ansible's IPv6 grammar: eight groups, or fewer around one `::`, a `[0:f]` range
    standing for a group, plus four IPv4-tail forms (`::ffff:192.0.2.1`...)."""
    lowered = text.lower()
    if "." in lowered:
        prefix, _, tail = lowered.rpartition(":")
        parts = _HEX_RANGE.sub("0", tail).split(".")
        return (
            f"{prefix}:" in _V4_TAIL_PREFIXES
            and len(parts) == 4
            and all(_HEX.fullmatch(p) for p in parts)
        )
    groups_text = _HEX_RANGE.sub("0", lowered)
    if groups_text.count("::") > 1:
        return False
    if "::" in groups_text:
        head, _, tail = groups_text.partition("::")
        before = head.split(":") if head else []
        after = tail.split(":") if tail else []
        if len(before) > 6 or len(after) > 6 or len(before) + len(after) > 7:
            return False
        groups = before + after
    else:
        groups = groups_text.split(":")
        if len(groups) != 8:
            return False
    return all(_HEX.fullmatch(g) for g in groups)


def expand_host_pattern(pattern: str) -> list[str]:
    """Every host name a pattern stands for, in order; RangeError for a bad range."""
    if "[" not in pattern:  # Ansible looks for `[` only: `web]` is a name
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

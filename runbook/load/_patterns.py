"""Ansible host patterns (SPEC §2.3) resolved against a loaded inventory.

Semantics of ansible-core's `InventoryManager`: the pattern splits on `,` (or on `:` when
it is not one address), then unions apply first, intersections (`&`) next, exclusions
(`!`) last, whatever their written order; with only `&`/`!` parts the base is `all`. A part
is `all`, a host or group name, a glob (`web*`, matched against groups and hosts), a
regex (`~web\\d+`, anchored at the start like `re.match`), with an optional `[i]` or
`[i:j]` subscript. Two deliberate differences: the result is in inventory order (not
pattern order), and a part that names no host or group is an error, not a warning:
`web:!typo` silently restoring hosts an operator meant to exclude is worse than a stop.
A subscript counts in Ansible's order, though (`backup[0]` is the group's first host as
Ansible lists it), since that decides which hosts are selected, not how they are shown.
"""

from __future__ import annotations

import bisect
import difflib
import fnmatch
import functools
import re
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field

from runbook.errors import InputError, Issue
from runbook.model import Inventory, Location

_SUBSCRIPT = re.compile(r"^(.+)\[(?:(-?[0-9]+)|([0-9]+)([:-])([0-9]*))\]$")
_PART = re.compile(r"(?:[^\s:\[\]]|\[[^\]]*\])+")
_IPV6 = re.compile(r"^[0-9a-fA-F]*:[0-9a-fA-F:.]*:[0-9a-fA-F.]*$")
_GLOB_CHARS = (".", "?", "*", "[")


def split_pattern(pattern: str) -> list[str]:
    """`a,b` or `a:&b:!c` → its parts (as Ansible's split_host_pattern)."""
    if "," in pattern:
        parts = pattern.split(",")
    elif _IPV6.match(pattern.strip()):
        parts = [pattern]
    else:
        parts = _PART.findall(pattern)
    return [p.strip() for p in parts if p.strip()]


def select_hosts(
    inventory: Inventory, pattern: str, location: Location | None = None
) -> tuple[str, ...]:
    """Host names matching `pattern`, in inventory order; InputError when none do."""
    index = _index(inventory)
    parts = split_pattern(pattern)
    if "," not in pattern and _PART.sub("", pattern).strip(": \t"):
        # findall silently drops what it cannot read (`~[`), which would widen the match.
        raise InputError(
            [
                Issue(
                    location,
                    f"cannot read host pattern '{pattern}' (an unclosed '[' or ']'?)",
                    "separate parts with ',' when a regex holds ':' or brackets",
                )
            ]
        )
    if not parts:
        raise InputError([Issue(location, "empty host pattern", "e.g. 'all' or 'web:&paris'")])
    if not index.order:
        raise InputError(
            [
                Issue(
                    location,
                    f"host pattern '{pattern}': the inventory has no hosts",
                    "pass -i with an Ansible inventory (YAML, INI or ansible-inventory JSON)",
                )
            ]
        )
    regular = [p for p in parts if p[0] not in "&!"]
    narrow = [p for p in parts if p[0] == "&"]
    exclude = [p for p in parts if p[0] == "!"]
    issues: list[Issue] = []
    selected: set[str] = set()
    for part in regular or ["all"]:
        selected |= _match(inventory, index, part, pattern, location, issues, plain=True)
    for part in narrow:
        selected &= _match(inventory, index, part[1:], pattern, location, issues)
    for part in exclude:
        selected -= _match(inventory, index, part[1:], pattern, location, issues)
    if issues:
        raise InputError(issues)
    if not selected:
        raise InputError(
            [
                Issue(
                    location,
                    f"host pattern '{pattern}' matches no host",
                    "check the groups with `runbook hosts -i INVENTORY`",
                )
            ]
        )
    # Sort the selection rather than scan the inventory: a rack's 50 hosts out of 5,000.
    return tuple(sorted(selected, key=index.position.__getitem__))


def name_clashes(inventory: Inventory, pattern: str) -> list[str]:
    """A warning for each part of `pattern` that names both a host and a group (the group
    is what the part selects)."""
    warnings: list[str] = []
    for part in dict.fromkeys(p.lstrip("&!") for p in split_pattern(pattern)):
        if part in inventory.hosts and part in inventory.groups:
            warnings.append(
                f"'{part}' in host pattern '{pattern}' is both a host and a group: the group "
                f"'{part}' is selected (as Ansible does), not the host '{part}'; rename one"
            )
    return warnings


@dataclass
class _Index:
    """What matching needs, built once per inventory: hosts of each group, descendants too."""

    order: tuple[str, ...]
    position: dict[str, int]
    members: dict[str, list[str]]  # group → hosts in inventory order
    by_name: list[str]  # host names sorted: a glob's literal prefix narrows the scan
    groups_matching: dict[str, list[str]] = field(default_factory=dict)  # by expression


_cache: dict[int, tuple[weakref.ref[Inventory], _Index]] = {}


def _index(inventory: Inventory) -> _Index:
    # Inventory is a frozen dataclass of dicts, so unhashable: cache by id, checked by weakref.
    hit = _cache.get(id(inventory))
    if hit is not None and hit[0]() is inventory:
        return hit[1]
    order = tuple(inventory.hosts)
    members: dict[str, list[str]] = {g: [] for g in inventory.groups}
    members["all"] = list(order)
    for name, host in inventory.hosts.items():
        for g in host.groups:
            members.setdefault(g, []).append(name)
    index = _Index(order, {h: i for i, h in enumerate(order)}, members, sorted(order))
    key = id(inventory)
    _cache[key] = (weakref.ref(inventory, lambda _: _cache.pop(key, None)), index)
    return index


def _match(
    inventory: Inventory,
    index: _Index,
    part: str,
    pattern: str,
    location: Location | None,
    issues: list[Issue],
    plain: bool = False,
) -> set[str]:
    # A part that is exactly a host name is that host, unless a group has the name too:
    # then the group wins, as Ansible answers (`name_clashes` gives the warning).
    if plain and part in index.position and part not in index.members:
        return {part}
    if not part:
        issues.append(Issue(location, f"host pattern '{pattern}' has '&' or '!' with no name"))
        return set()
    expr, subscript = _split_subscript(part)
    try:
        test = _matcher(expr)
    except re.error as e:
        issues.append(Issue(location, f"bad regular expression '{expr}' in '{pattern}': {e}"))
        return set()
    groups = index.groups_matching.get(expr)
    if groups is None:  # 10,000 steps name the same few groups and globs again and again
        groups = index.groups_matching[expr] = [g for g in index.members if test(g)]
    found: set[str] = set()
    for g in groups:
        found.update(index.members[g])
    if not groups or expr[0] == "~" or any(c in expr for c in _GLOB_CHARS):
        found.update(h for h in _candidates(index.by_name, expr) if test(h))
    if not found and not groups:
        names = [*index.members, *index.order]
        close = difflib.get_close_matches(expr.lstrip("~"), names, n=3)
        hint = "did you mean " + " or ".join(f"'{c}'" for c in close) + "?" if close else ""
        issues.append(
            Issue(location, f"'{expr}' in host pattern '{pattern}' names no host or group", hint)
        )
        return set()
    if subscript is None:
        return found
    hosts_too = not groups or expr[0] == "~" or any(c in expr for c in _GLOB_CHARS)
    ordered = _ansible_order(inventory, index, groups, test if hosts_too else None)
    start, end = subscript
    try:
        if not end:  # Ansible: `[i]`, and `[i:0]` too, is one host
            return {ordered[start]}
        return set(ordered[start : (len(ordered) if end == -1 else end + 1)])
    except IndexError:
        issues.append(
            Issue(location, f"'{part}' in '{pattern}': only {len(ordered)} hosts to subscript")
        )
        return set()


def _ansible_order(
    inventory: Inventory,
    index: _Index,
    groups: list[str],
    host_test: Callable[[str], bool] | None,
) -> list[str]:
    """The list Ansible subscripts: each matching group's hosts in turn (a host in two of
    them counts twice), then the matching host names, in inventory order."""
    ordered: list[str] = []
    for g in groups:
        ordered.extend(_group_hosts(inventory, g))
    if host_test is not None:
        ordered.extend(h for h in index.order if host_test(h))
    return ordered


def _group_hosts(inventory: Inventory, name: str) -> list[str]:
    """ansible-core's `Group.get_hosts()`: the group's own hosts, then its children's, then
    each deeper level's. Ansible walks a level below the children from a set, in an order
    that varies from run to run; here it is the children's written order."""
    hosts: dict[str, None] = {}
    level = [name]
    seen = {name}
    while level:
        for g in level:
            hosts.update(dict.fromkeys(inventory.groups[g].hosts))
        below: list[str] = []
        for g in level:
            for child in inventory.groups[g].children:
                if child not in seen:
                    seen.add(child)
                    below.append(child)
        level = below
    return list(hosts)


def _candidates(names: list[str], expr: str) -> list[str]:
    """The sorted `names` a glob can match: those starting with its literal prefix
    (`r07-node-0[0-4]*` looks at rack 7's hosts, not at 5,000)."""
    if expr.startswith("~"):
        return names  # a regex: no prefix to trust
    cut = min((expr.index(c) for c in "*?[" if c in expr), default=len(expr))
    prefix = expr[:cut]
    if not prefix:
        return names
    lo = bisect.bisect_left(names, prefix)
    hi = bisect.bisect_left(names, prefix + "\U0010ffff", lo)
    return names[lo:hi]


def _split_subscript(part: str) -> tuple[str, tuple[int, int | None] | None]:
    if part.startswith("~"):  # a regex keeps its brackets, as in Ansible
        return part, None
    m = _SUBSCRIPT.match(part)
    if not m:
        return part, None
    expr, single, start, _sep, end = m.groups()
    if single is not None:
        return expr, (int(single), None)
    return expr, (int(start), int(end) if end else -1)


@functools.lru_cache(maxsize=1024)  # a glob's translation costs more than matching it
def _matcher(expr: str) -> Callable[[str], bool]:
    if expr.startswith("~"):
        regex = re.compile(expr[1:])
        return lambda name: regex.match(name) is not None
    if not any(c in expr for c in "*?["):  # no wildcard: the glob is the name itself
        return expr.__eq__
    glob = re.compile(fnmatch.translate(expr))
    return lambda name: glob.match(name) is not None

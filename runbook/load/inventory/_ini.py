"""Ansible's INI inventory form, read line by line so every error names its line.

Follows ansible-core's `plugins/inventory/ini.py`: lines before any section are
`[ungrouped]` hosts; `[g]`, `[g:children]`, `[g:vars]` sections; `#` and `;` start comment
lines; host lines are shell-split (quotes, trailing `# comment`); values go through
`ast.literal_eval` so `2222` is a number and `True` a boolean, anything else stays text.
"""

from __future__ import annotations

import ast
import re
import shlex
import warnings
from typing import Any

from runbook.load.inventory._draft import UNGROUPED, Draft
from runbook.load.inventory._hostranges import RangeError, expand_host_pattern, split_host_port
from runbook.model import Location

_SECTION = re.compile(r"^\[([^:\]\s]+)(?::(\w+))?\]\s*(?:#.*)?$")
_GROUP_NAME = re.compile(r"^([^:\]\s]+)\s*(?:#.*)?$")
_KINDS = ("hosts", "children", "vars")
_SHELL_SYNTAX = re.compile(r"[\"'\\#]")
_INT = re.compile(r"0|[1-9][0-9]*")
_NOT_LITERAL = re.compile(r"[A-Za-z_][\w.:/@-]*|[0-9]+(?:\.[0-9]+){2,}")


def parse_ini(text: str, name: str, draft: Draft) -> None:
    """Add the hosts, groups and variables of one INI inventory to `draft`."""
    group, kind = UNGROUPED, "hosts"
    # Ansible lets `[x:vars]` and `[p:children] x` come before `[x]`; a group never
    # declared by a `[x]` or `[x:children]` section of this file (or an earlier source)
    # is an error at the end, as in ansible-core.
    pending: dict[str, tuple[Location, str, str]] = {}
    declared: set[str] = set(draft.groups)
    for lineno, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line[0] in "#;":
            continue
        col = len(raw) - len(raw.lstrip()) + 1
        loc = Location(name, lineno, col)
        m = _SECTION.match(line)
        if m:
            group, kind = m.group(1), m.group(2) or "hosts"
            if kind not in _KINDS:
                draft.error(
                    loc,
                    f"section [{group}:{kind}] has unknown type '{kind}'",
                    "use [name], [name:children] or [name:vars]",
                )
                kind = "skip"
                continue
            draft.group(group, loc)
            if kind != "vars":
                declared.add(group)
            elif group not in declared:
                pending.setdefault(group, (loc, "vars", group))
            continue
        # Ansible: a `[...]` line that is no valid section is an error only when it also
        # ends with `]`; otherwise it is a host line (`[2001:db8::1]:2222 user=ops`).
        if line.startswith("[") and line.endswith("]"):
            draft.error(
                loc,
                f"invalid section header '{line}'",
                "a section is [group], [group:children] or [group:vars]: no spaces inside",
            )
            kind = "skip"
            continue
        if kind == "hosts":
            _host_line(line, raw, loc, group, draft)
        elif kind == "vars":
            _vars_line(line, loc, group, draft)
        elif kind == "children":
            cm = _GROUP_NAME.match(line)
            if not cm:
                draft.error(loc, f"expected one group name, got '{line}'", "one child per line")
                continue
            child = cm.group(1)
            if child not in declared:
                pending.setdefault(child, (loc, "children", group))
            draft.add_child(group, child, loc)
    for child, (loc, what, parent) in pending.items():
        if child in declared:
            continue
        if what == "vars":
            draft.error(
                loc,
                f"section [{child}:vars] is for a group that is never declared",
                f"add a [{child}] section (it may be empty) or fix the name",
            )
        else:
            draft.error(
                loc,
                f"[{parent}:children] names group '{child}', which is never declared",
                f"add a [{child}] section (it may be empty) or fix the name",
            )


def _host_line(line: str, raw: str, loc: Location, group: str, draft: Draft) -> None:
    try:
        # shlex reads character by character in Python; most lines need none of it.
        tokens = shlex.split(line, comments=True) if _SHELL_SYNTAX.search(line) else line.split()
    except ValueError as e:
        draft.error(loc, f"cannot read host line: {e}", "check the quotes on this line")
        return
    if not tokens:
        return
    pattern = tokens[0]
    host_part, port = split_host_port(pattern)
    if pattern.endswith(":") and port is None:
        draft.error(loc, f"host '{pattern}' ends with ':'", "write name:port, e.g. web1:2222")
        return
    if host_part == "---":
        draft.error(loc, "'---' in an INI inventory", "is this a YAML file? start it with 'all:'")
        return
    try:
        names = expand_host_pattern(host_part)
    except RangeError as e:
        hint = "ranges look like web[01:20], web[1:20:5] or db-[a:c]"
        if line.startswith("["):
            hint = "a section is [group], [group:children] or [group:vars], then only a # comment"
        draft.error(loc, str(e), hint)
        return
    variables: list[tuple[str, Any, Location]] = []
    for token in tokens[1:]:
        key, eq, value = token.partition("=")
        where = _column_of(raw, token, loc)
        if not eq or not key:
            draft.error(
                where,
                f"expected key=value after host '{pattern}', got '{token}'",
                'write variables as name=value; quote values with spaces: key="a b"',
            )
            continue
        variables.append((key, parse_value(value), where))
    for host in names:
        draft.add_host(host, loc, group, port)
        for key, value, where in variables:
            draft.set_host_var(host, key, value, where)


def _vars_line(line: str, loc: Location, group: str, draft: Draft) -> None:
    key, eq, value = line.partition("=")
    key = key.strip()
    if not eq or not key:
        draft.error(loc, f"expected key=value in [{group}:vars], got '{line}'")
        return
    draft.set_group_var(group, key, parse_value(value.strip()), loc)


def _column_of(raw: str, token: str, loc: Location) -> Location:
    key = token.partition("=")[0]
    at = raw.find(key + "=") if key else -1
    if at < 0:
        at = raw.find(key) if key else -1
    return Location(loc.file, loc.line, at + 1) if at >= 0 else loc


def parse_value(text: str) -> Any:
    """An INI value as Ansible reads it: a Python literal if it is one, else the text."""
    # Fast answers literal_eval would give, for the shapes that fill big inventories.
    if _INT.fullmatch(text):
        return int(text)
    if _NOT_LITERAL.fullmatch(text) and text not in ("True", "False", "None"):
        return text
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", SyntaxWarning)
            value: Any = ast.literal_eval(text)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return text
    return _plain(value, text)


def _plain(value: Any, text: str) -> Any:
    """Ansible converts tuples and sets to lists, complex and `...` back to text."""
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_plain(v, str(v)) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v, str(v)) for k, v in value.items()}
    if value is ... or isinstance(value, complex):
        return text if value is ... else str(value)
    return value

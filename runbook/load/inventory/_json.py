"""The JSON that `ansible-inventory --list` (and inventory scripts) print.

Shape, as ansible-core's `script` plugin reads it: `_meta.hostvars` maps each host to its
variables; every other key is a group, either a list of hosts or `{hosts: [..], vars: {..},
children: [..]}`. Only hosts listed in some group exist, as in Ansible. The stdlib json
parser has no positions, so errors are located by finding the quoted name in the text.
"""

from __future__ import annotations

import bisect
import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

from runbook.load.inventory._ansible_yaml import unmark
from runbook.load.inventory._draft import Draft
from runbook.model import Location


def load_json(text: str) -> tuple[Any, list[str]]:
    """`json.loads`, also returning the keys that a mapping repeats (json keeps the last)."""
    repeated: list[str] = []

    def pairs(items: list[tuple[str, Any]]) -> Any:
        result: dict[str, Any] = {}
        for key, value in items:
            if key in result:
                repeated.append(key)
            result[key] = value
        return unmark(result)  # `!unsafe` / `!vault` values as ansible-inventory writes them

    return json.loads(text, object_pairs_hook=pairs), repeated


def looks_like_list_output(data: Any) -> bool:
    """True for the `--list` / script shape; False for the YAML form written in JSON."""
    if not isinstance(data, Mapping):
        return False
    if "_meta" in data:
        return True
    for body in data.values():
        if isinstance(body, list):
            return True
        if isinstance(body, Mapping) and any(
            isinstance(body.get(k), list) for k in ("hosts", "children")
        ):
            return True
    return False


class _Locator:
    """Line and column of `"needle"` (after the previous needle), from one pass over the text."""

    _STRING = re.compile(r'"((?:[^"\\\n]|\\.)*)"(\s*:)?')

    def __init__(self, text: str, name: str) -> None:
        self.text = text
        self.name = name
        self._keys: dict[str, list[int]] = {}
        self._values: dict[str, list[int]] = {}
        self._lines: list[int] | None = None

    def _index(self) -> list[int]:
        if self._lines is None:
            for m in self._STRING.finditer(self.text):
                index = self._keys if m.group(2) else self._values
                index.setdefault(m.group(1), []).append(m.start())
            self._lines = [m.start() for m in re.finditer("\n", self.text)]
        return self._lines

    def __call__(self, *keys: str, value: str | None = None, again: bool = False) -> Location:
        """Where key after key (each nested in the previous) and then `value` is written;
        `again`: the second time the last one is written (a repeated key)."""
        lines = self._index()
        at = 0
        steps = [(k, self._keys) for k in keys]
        if value is not None:
            steps.append((value, self._values))
        for n, (needle, index) in enumerate(steps, 1):
            offsets = index.get(json.dumps(needle, ensure_ascii=False)[1:-1], [])
            i = bisect.bisect_left(offsets, at) + (1 if again and n == len(steps) else 0)
            if i == len(offsets):
                break
            at = offsets[i]
        line = bisect.bisect_left(lines, at)
        col = at - (lines[line - 1] + 1 if line else 0)
        return Location(self.name, line + 1, col + 1)


def parse_json_inventory(
    data: Mapping[str, Any], repeated: Sequence[str], text: str, name: str, draft: Draft
) -> None:
    """Add the hosts, groups and variables of one `ansible-inventory --list` document."""
    where = _Locator(text, name)
    for key in repeated:
        draft.error(
            where(key, again=True), f"duplicate key '{key}'", "remove one of them or merge them"
        )
    meta = data.get("_meta")
    hostvars: Mapping[str, Any] | None = None
    if meta is not None:
        if not isinstance(meta, Mapping) or not isinstance(meta.get("hostvars", {}), Mapping):
            draft.error(where("_meta"), "'_meta' must be {\"hostvars\": {host: {vars}}}")
        else:
            hostvars = meta.get("hostvars")
    listed: dict[str, str] = {}  # host → the group that first lists it
    for group, body in data.items():
        if group == "_meta":
            continue
        _group(str(group), body, where, draft, listed)
    for host in listed:
        values = (hostvars or {}).get(host) or {}
        if not values:
            continue
        # Variables get the position of the host's entry in _meta: the stdlib parser keeps
        # none, and that entry is where a reader fixes a bad value.
        at = where("_meta", host)
        if not isinstance(values, Mapping):
            draft.error(at, f"hostvars of '{host}' must be a mapping")
            continue
        for key, value in values.items():
            draft.set_host_var(host, str(key), value, at)


def _group(group: str, body: Any, where: _Locator, draft: Draft, listed: dict[str, str]) -> None:
    loc = where(group)
    draft.group(group, loc)
    if not isinstance(body, Mapping):
        body = {"hosts": body}
    elif not any(k in body for k in ("hosts", "vars", "children")):
        # Ansible's "simplified syntax": a group key holding variables is a host of that name.
        body = {"hosts": [group], "vars": body}
    hosts = body.get("hosts", [])
    if not isinstance(hosts, list) or not all(isinstance(h, (str, int)) for h in hosts):
        draft.error(loc, f"'hosts' of group '{group}' must be a list of host names")
        hosts = []
    for host in hosts:
        name = str(host)
        listed.setdefault(name, group)
        draft.add_host(name, where(group, value=name), group)
    variables = body.get("vars", {})
    if not isinstance(variables, Mapping):
        draft.error(loc, f"'vars' of group '{group}' must be a mapping")
        variables = {}
    for key, value in variables.items():
        draft.set_group_var(group, str(key), value, loc)
    children = body.get("children", [])
    if not isinstance(children, list):
        draft.error(loc, f"'children' of group '{group}' must be a list of group names")
        children = []
    for child in children:
        draft.group(str(child), None)
        draft.add_child(group, str(child), loc)

"""Ansible's YAML inventory form: top-level groups, each with `hosts`, `children`, `vars`.

Follows ansible-core's `plugins/inventory/yaml.py`, except that what Ansible only warns
about and then skips (a misspelt `host:` key, a group that is not a mapping) is an error
here: a restore must not silently lose hosts.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from typing import Any

from runbook.load import Document, PathKey, marks_in
from runbook.load.inventory._draft import Draft
from runbook.load.inventory._hostranges import RangeError, expand_host_pattern, split_host_port

SECTIONS = ("hosts", "children", "vars")


def parse_yaml_inventory(doc: Document, draft: Draft) -> None:
    """Add the groups, hosts and variables of one YAML (or YAML-shaped JSON) inventory."""
    data = doc.data
    if not isinstance(data, Mapping):
        draft.error(
            doc.loc(()),
            f"an inventory is a mapping of groups, not {_kind(data)}",
            "start with 'all:' and put hosts under 'all: {hosts: {web1: {}}}'",
        )
        return
    if "plugin" in data:
        draft.error(
            doc.key_loc(("plugin",)),
            f"inventory plugin configuration (plugin: {data['plugin']}) is not an inventory",
            "export it once with `ansible-inventory -i FILE --list > inventory.json`",
        )
        return
    for key in data:
        _group(doc, draft, str(key), data[key], (key,))


def _group(doc: Document, draft: Draft, name: str, body: Any, path: PathKey) -> bool:
    if body is not None and not isinstance(body, Mapping):
        draft.error(
            doc.loc(path),
            f"group '{name}' must be a mapping of hosts/children/vars, not {_kind(body)}",
            f"write '{name}:' followed by indented 'hosts:', 'children:' or 'vars:'",
        )
        return False
    draft.group(name, doc.key_loc(path))
    if body is None:
        return True
    for key, section in body.items():
        where = (*path, key)
        if key not in SECTIONS:
            close = difflib.get_close_matches(str(key), SECTIONS, n=1)
            hint = f"did you mean '{close[0]}'?" if close else "a group has only these keys"
            draft.error(
                doc.key_loc(where),
                f"unknown key '{key}' in group '{name}' (expected hosts, children or vars)",
                hint,
            )
            continue
        if isinstance(section, str):  # Ansible accepts `hosts: web1` for one entry
            section = {section: None}
        if section is None:
            continue
        if not isinstance(section, Mapping):
            example = {
                "hosts": "hosts: {web1: {}, web2: {}}, or one 'web1:' per line",
                "children": "children: {web: {}, db: {}}, or one 'web:' per line",
                "vars": "vars: {ntp_server: 10.0.0.1}",
            }[key]
            draft.error(
                doc.loc(where),
                f"'{key}' of group '{name}' must be a mapping, not {_kind(section)}",
                f"YAML inventories want a mapping: {example}",
            )
            continue
        if key == "vars":
            for var, value in section.items():
                draft.set_group_var(name, str(var), value, doc.loc((*where, var)))
        elif key == "children":
            for child, child_body in section.items():
                child_path = (*where, child)
                if _group(doc, draft, str(child), child_body, child_path):
                    draft.add_child(name, str(child), doc.key_loc(child_path))
        else:
            # One walk to the section, not one per host and variable: 5,000 hosts.
            shadow = doc.shadow_at(where)
            for pattern, host_vars in section.items():
                entry = shadow.get(pattern) if isinstance(shadow, dict) else None
                _hosts(doc, draft, name, pattern, host_vars, (*where, pattern), entry)
    return True


def _hosts(
    doc: Document,
    draft: Draft,
    group: str,
    key: Any,
    body: Any,
    path: PathKey,
    entry: tuple[Any, Any, Any] | None = None,
) -> None:
    """One host entry (or range) of a group; `entry`: its (key mark, value mark, shadow)."""
    at = doc.at_mark(entry[0]) if entry is not None else doc.key_loc(path)
    var_marks = marks_in(entry[2]) if entry is not None else {}
    if key is None or str(key).strip() == "":
        draft.error(at, f"empty host name in group '{group}'")
        return
    # Ansible reads `body or {}`: an empty text or list is no variables, like nothing.
    if body and not isinstance(body, Mapping):
        draft.error(
            doc.loc(path),
            f"host '{key}' in group '{group}' has {_kind(body)} where its variables should be",
            f"host variables are a mapping: '{key}: {{ansible_host: 10.0.0.5}}', or nothing",
        )
        return
    host_part, port = split_host_port(str(key))
    try:
        names = expand_host_pattern(host_part)
    except RangeError as e:
        draft.error(at, str(e), "ranges look like web[01:20], web[1:20:5] or db-[a:c]")
        return
    items = [
        (str(k), v, doc.at_mark(var_marks[k]) if k in var_marks else doc.loc((*path, k)))
        for k, v in (body or {}).items()
    ]
    for host in names:
        draft.add_host(host, at, group, port)
        for var, value, where in items:
            draft.set_host_var(host, var, value, where)


def _kind(value: Any) -> str:
    if value is None:
        return "nothing"
    if isinstance(value, str):
        return f"the text '{value[:40]}'"
    if isinstance(value, list):
        return "a list"
    return f"a {type(value).__name__}"

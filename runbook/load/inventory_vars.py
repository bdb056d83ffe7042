"""`group_vars/` and `host_vars/` beside an inventory, read as Ansible's host_group_vars does.

For a source file they sit in its folder, for a source folder inside it. An entity's vars
are `NAME`, `NAME.yml`, `NAME.yaml` or `NAME.json`, or every such file under a `NAME/`
folder (sorted, recursively). Only names of known groups and hosts are read. A file
encrypted whole with ansible-vault cannot be read without the vault password: it is
skipped, as its content is secrets that SSH with keys does not need.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from runbook.errors import InputError
from runbook.load.ansible_yaml import VAULT_HEADER, load_ansible_yaml
from runbook.load.inventory_draft import Draft
from runbook.model import Location
from runbook.source import read_text

VARS_EXTENSIONS = ("", ".yml", ".yaml", ".json")


def load_vars_dirs(roots: Iterable[Path], draft: Draft) -> None:
    """Read group_vars/ and host_vars/ under each root folder, in order (later wins)."""
    for root in roots:
        for kind in ("group_vars", "host_vars"):
            folder = root / kind
            if not folder.is_dir():
                continue
            known = draft.groups if kind == "group_vars" else draft.hosts
            for name, files in _entries(folder):
                if name not in known:
                    continue
                for path in files:
                    _load_file(path, kind, name, draft)


def _entries(folder: Path) -> list[tuple[str, list[Path]]]:
    found: list[tuple[str, list[Path]]] = []
    for entry in sorted(folder.iterdir()):
        if entry.name.startswith("."):
            continue
        if entry.is_dir():
            files = sorted(p for p in entry.rglob("*") if p.is_file() and _vars_file(p))
            found.append((entry.name, files))
        elif _vars_file(entry):
            found.append((entry.name[: len(entry.name) - len(entry.suffix)], [entry]))
    return found


def _vars_file(path: Path) -> bool:
    if any(part.startswith(".") for part in path.parts[-1:]):
        return False
    return path.suffix in VARS_EXTENSIONS and not path.name.endswith("~")


def _load_file(path: Path, kind: str, name: str, draft: Draft) -> None:
    try:
        if read_text(path).lstrip().startswith(VAULT_HEADER):
            return
        doc = load_ansible_yaml(str(path))
    except InputError as e:
        draft.issues.extend(e.issues)
        return
    data: Any = doc.data
    if data is None:
        return
    if not isinstance(data, dict):
        draft.error(
            doc.loc(()),
            f"{kind} file for '{name}' must be a mapping of variables",
            "write one 'name: value' per line",
        )
        return
    for key, value in data.items():
        loc: Location = doc.loc((key,))
        if kind == "group_vars":
            g = draft.groups[name]
            g.file_vars[str(key)] = value
            g.file_var_locs[str(key)] = loc
        else:
            h = draft.hosts[name]
            h.file_vars[str(key)] = value
            h.file_var_locs[str(key)] = loc

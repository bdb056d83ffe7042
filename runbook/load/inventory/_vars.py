"""`group_vars/` and `host_vars/` beside an inventory, read as Ansible's host_group_vars does.

For a source file they sit in its folder, for a source folder inside it. An entity's vars
are the first of `NAME` (a file or a folder), `NAME.yml`, `NAME.yaml`, `NAME.json` that
exists, and only that one: `group_vars/web/` hides `group_vars/web.yml`, `web.yml` hides
`web.yaml`. A folder gives every file under it, sorted, recursively, skipping hidden names,
`~` backups, sub-folders with a dot in their name (`conf.d/`) and files whose extension is
not `.yml`/`.yaml`/`.json` (a file without extension counts). Only names of known groups and
hosts are read. A file encrypted whole with ansible-vault cannot be read without the vault
password: it is skipped, as its content is secrets that SSH with keys does not need.

Each source's files are a layer of their own (`file_layers[source]`): Ansible merges group
files source by source, which decides between groups of different sources (see
inventory_resolve).
"""

from __future__ import annotations

import os
from collections.abc import Container, Sequence
from pathlib import Path
from typing import Any

from runbook.errors import InputError
from runbook.load import read_text
from runbook.load.inventory._ansible_yaml import VAULT_HEADER, load_ansible_yaml
from runbook.load.inventory._draft import Draft
from runbook.model import Location

VARS_EXTENSIONS = ("", ".yml", ".yaml", ".json")  # in the order Ansible tries them


def load_vars_dirs(roots: Sequence[Path], draft: Draft) -> None:
    """Read group_vars/ and host_vars/ of each source's folder, in source order."""
    distinct = list(dict.fromkeys(roots))
    # A folder named by two sources is read once but applies at each of its places.
    draft.vars_order = [distinct.index(r) for r in roots]
    for layer, root in enumerate(distinct):
        for kind in ("group_vars", "host_vars"):
            folder = root / kind
            if not folder.is_dir():
                continue
            known: Container[str] = draft.groups if kind == "group_vars" else draft.hosts
            for name, files in _entries(folder, known):
                for path in files:
                    _load_file(path, kind, name, layer, draft)


def _entries(folder: Path, known: Container[str]) -> list[tuple[str, list[Path]]]:
    """(entity, its files) for each known entity with vars here; one listing of the folder
    rather than four lookups per host of a 5,000-host inventory."""
    best: dict[str, tuple[int, Path]] = {}
    for entry in folder.iterdir():
        name = entry.name
        for rank, ext in enumerate(VARS_EXTENSIONS):
            entity = name[: len(name) - len(ext)] if ext else name
            if (ext and not name.endswith(ext)) or not entity or entity not in known:
                continue
            if entry.exists() and (entity not in best or rank < best[entity][0]):
                best[entity] = (rank, entry)
    found: list[tuple[str, list[Path]]] = []
    for entity in sorted(best):
        path = best[entity][1]
        found.append((entity, _folder_files(path, set()) if path.is_dir() else [path]))
    return found


def _folder_files(folder: Path, seen: set[Path]) -> list[Path]:
    real = folder.resolve()
    if real in seen:  # a symlink loop
        return []
    seen.add(real)
    files: list[Path] = []
    for entry in sorted(folder.iterdir(), key=lambda p: p.name):
        name = entry.name
        if name.startswith(".") or name.endswith("~"):
            continue
        ext = os.path.splitext(name)[1]
        if entry.is_dir():
            if not ext:
                files.extend(_folder_files(entry, seen))
        elif entry.is_file() and ext in VARS_EXTENSIONS:
            files.append(entry)
    return files


def _load_file(path: Path, kind: str, name: str, layer: int, draft: Draft) -> None:
    try:
        if read_text(path).lstrip().startswith(VAULT_HEADER):
            return
        doc = load_ansible_yaml(str(path))
    except InputError as e:
        draft.issues.extend(e.issues)
        return
    data: Any = doc.data
    if not data:  # Ansible skips an empty file, `{}` or `[]` alike
        return
    if not isinstance(data, dict):
        draft.error(
            doc.loc(()),
            f"{kind} file for '{name}' must be a mapping of variables",
            "write one 'name: value' per line",
        )
        return
    entity = draft.groups[name] if kind == "group_vars" else draft.hosts[name]
    layer_vars = entity.file_layers.setdefault(layer, {})
    for key, value in data.items():
        loc: Location = doc.loc((key,))
        layer_vars[str(key)] = value
        entity.file_vars[str(key)] = value
        entity.file_var_locs[str(key)] = loc

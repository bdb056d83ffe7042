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
from collections.abc import Callable, Container, Sequence
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
        found.append((entity, folder_files(path, _vars_entry) if path.is_dir() else [path]))
    return found


def folder_files(
    folder: Path, wanted: Callable[[str, bool], bool], seen: set[Path] | None = None
) -> list[Path]:
    """The files below `folder` in name order, through the entries `wanted(name, is_dir)`
    accepts; hidden ones never, and a symlink loop is walked once."""
    real = folder.resolve()
    seen = set() if seen is None else seen
    if real in seen:
        return []
    seen.add(real)
    files: list[Path] = []
    for entry in sorted(folder.iterdir(), key=lambda p: p.name):
        is_dir = entry.is_dir()
        if entry.name.startswith(".") or not wanted(entry.name, is_dir):
            continue
        if is_dir:
            files.extend(folder_files(entry, wanted, seen))
        elif entry.is_file():
            files.append(entry)
    return files


def _vars_entry(name: str, is_dir: bool) -> bool:
    """Ansible's rule in a vars folder: sub-folders without an extension, vars files."""
    ext = os.path.splitext(name)[1]
    return not name.endswith("~") and (not ext if is_dir else ext in VARS_EXTENSIONS)


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

"""Load Ansible inventories: files, folders and host lists, in any of Ansible's forms.

The form is told from the content, as Ansible's plugins do by trying each in turn: the
JSON that `ansible-inventory --list` prints, the YAML form (`all:` / group mappings), or
INI (`[section]` lines, or text that is not a YAML mapping). A folder loads every file in
it, sorted and recursively, skipping what Ansible skips (hidden files, `group_vars/`,
`host_vars/`, backups like `~` `.orig` `.bak` `.swp`, `.md` `.txt` `.cfg` ...). `.ini`
files inside a folder are read, as ansible-core does since it dropped `.ini` from its
ignored extensions (older releases skipped them).
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from pathlib import Path

from runbook.errors import InputError, Issue
from runbook.load import read_text
from runbook.load.inventory._ansible_yaml import parse_ansible
from runbook.load.inventory._draft import UNGROUPED, Draft
from runbook.load.inventory._hostranges import split_host_port
from runbook.load.inventory._ini import parse_ini
from runbook.load.inventory._json import load_json, looks_like_list_output, parse_json_inventory
from runbook.load.inventory._resolve import resolve
from runbook.load.inventory._vars import folder_files, load_vars_dirs
from runbook.load.inventory._yaml import parse_yaml_inventory
from runbook.model import Inventory, Location

DEFAULT_FOLDER = Path("inventory")
IGNORED_NAMES = frozenset({"group_vars", "host_vars", "vars_plugins"})
IGNORED_SUFFIXES = (
    "~", ".orig", ".bak", ".swp", ".pyc", ".pyo", ".rpm", ".md", ".txt", ".rst", ".cfg",
    ".retry",
)  # fmt: skip
YAML_SUFFIXES = (".yml", ".yaml", ".json")

_INI_SECTION = re.compile(r"^\[[^\]\n]*\]", re.MULTILINE)
_YAML_KEY_LINE = re.compile(r"^[^\s#;\[][^=\n]*:[ \t]*(?:#.*)?$", re.MULTILINE)


def find_inventory(paths: Sequence[Path], cwd: Path | None = None) -> tuple[Path, ...]:
    """The `-i` paths given, else `inventory/` under `cwd` if it exists, else an InputError."""
    if paths:
        return tuple(paths)
    folder = (cwd or Path.cwd()) / DEFAULT_FOLDER
    if folder.is_dir():
        return (DEFAULT_FOLDER if cwd is None else folder,)
    raise InputError(
        [
            Issue(
                None,
                "no inventory given and no inventory/ folder here",
                "pass -i FILE or -i FOLDER (Ansible YAML, INI or ansible-inventory --list JSON)",
            )
        ]
    )


def load_inventory(paths: Sequence[Path]) -> Inventory:
    """Every host and group of `paths` with Ansible's precedence applied; InputError lists all."""
    draft = Draft()
    roots: list[Path] = []
    for path in paths:
        if not path.exists():
            if "," in str(path):
                _host_list(str(path), draft)
            else:
                draft.error(None, f"{path}: no such inventory file or folder", "check the -i path")
            continue
        if path.is_dir():
            files = folder_files(path, _source_entry)
            roots.append(path)
        else:
            files = [path]
            roots.append(path.parent)
        for f in files:
            _load_file(f, draft)
    load_vars_dirs(roots, draft)  # one entry per source, repeats included, as Ansible
    inventory = resolve(draft)
    if draft.issues:
        raise InputError(draft.issues)
    return inventory


def _source_entry(name: str, is_dir: bool) -> bool:
    """Ansible's rule in an inventory folder: not the vars folders, not backups or docs."""
    return name not in IGNORED_NAMES and not name.endswith(IGNORED_SUFFIXES)


def _host_list(text: str, draft: Draft) -> None:
    """`-i web1,web2:2222,` as Ansible's host_list plugin reads it."""
    for item in text.split(","):
        item = item.strip()
        if item:
            host, port = split_host_port(item)
            draft.add_host(host, None, UNGROUPED, port)
    draft.sources.append(text)


def _load_file(path: Path, draft: Draft) -> None:
    name = str(path)
    draft.sources.append(name)
    try:
        text = read_text(path, name)
    except InputError as e:
        draft.issues.extend(e.issues)
        return
    start = Location(name, 1, 1)
    if not text.strip():
        draft.error(start, "the inventory file is empty", "add hosts to it, or remove it")
        return
    if text.startswith("#!"):
        draft.error(
            start,
            "this is an inventory script; runbook does not run scripts",
            "export it once: `ansible-inventory -i SCRIPT --list > inventory.json`",
        )
        return
    suffix = path.suffix.lower()
    has_sections = bool(_INI_SECTION.search(text))
    if suffix == ".ini" or (has_sections and suffix not in YAML_SUFFIXES):
        parse_ini(text, name, draft)
        return
    if text.lstrip().startswith("{") and _try_json(text, name, suffix, draft):
        return
    # Like Ansible's plugin chain: YAML first; INI when that is not a YAML mapping. Which
    # error to show when neither reads it depends on what the file looks like.
    yaml_like = not has_sections and (suffix in YAML_SUFFIXES or _YAML_KEY_LINE.search(text))
    try:
        doc = parse_ansible(text, name)
    except InputError as e:
        if yaml_like:
            draft.issues.extend(e.issues)
        else:
            parse_ini(text, name, draft)
        return
    if doc.data is None:
        draft.error(start, "the inventory file has no hosts or groups (only comments)")
    elif isinstance(doc.data, dict) or (yaml_like and suffix in YAML_SUFFIXES):
        parse_yaml_inventory(doc, draft)
    else:
        parse_ini(text, name, draft)


def _try_json(text: str, name: str, suffix: str, draft: Draft) -> bool:
    """Handle `--list` JSON; False lets the YAML reader take a YAML-shaped JSON document."""
    try:
        data, repeated = load_json(text)
    except json.JSONDecodeError as e:
        if suffix != ".json":
            return False
        draft.error(Location(name, e.lineno, e.colno), f"JSON syntax: {e.msg}")
        return True
    except RecursionError:
        draft.error(Location(name, 1, 1), "JSON nesting is too deep to be an inventory")
        return True
    if not looks_like_list_output(data):
        return False
    parse_json_inventory(data, repeated, text, name, draft)
    return True

"""`include:` — a playbook and the files it includes, merged into one list of step drafts."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from runbook.errors import Issue
from runbook.load._playbook_file import PlaybookFile, read_playbook_file
from runbook.load._steps import Draft
from runbook.model import Variable


@dataclass
class Tree:
    """The root file, and everything its includes contribute."""

    root: PlaybookFile | None
    vars: dict[str, Variable] = field(default_factory=dict)
    drafts: list[Draft] = field(default_factory=list)
    files: list[str] = field(default_factory=list)  # labels, in load order


def load_tree(path: Path, label: str, issues: list[Issue]) -> Tree:
    """Read `path` and its includes (nested); every problem is appended to `issues`."""
    walker = _Walker(issues)
    tree = Tree(None)
    tree.vars, tree.drafts, tree.root = walker.visit(path, label, ())
    tree.files = walker.files
    return tree


_Chain = tuple[tuple[Path, str], ...]


class _Walker:
    def __init__(self, issues: list[Issue]) -> None:
        self.issues = issues
        self.loaded: set[Path] = set()
        self.files: list[str] = []

    def visit(
        self, path: Path, label: str, chain: _Chain
    ) -> tuple[dict[str, Variable], list[Draft], PlaybookFile | None]:
        real = path.resolve()
        if real in self.loaded:
            # Included twice through different files (a diamond): its steps are already in;
            # a second copy would only produce duplicate-id errors.
            return {}, [], None
        self.loaded.add(real)
        self.files.append(label)
        part = read_playbook_file(path, label, self.issues)
        if part is None:
            return {}, [], None
        chain = (*chain, (real, label))
        included_vars: dict[str, Variable] = {}
        included: list[Draft] = []
        for text, where in part.includes:
            target = path.parent / text
            target_label = os.path.normpath(os.path.join(os.path.dirname(label), text))
            target_real = target.resolve()
            reals = [r for r, _ in chain]
            if target_real in reals:
                loop = [lbl for _, lbl in chain[reals.index(target_real) :]]
                self.issues.append(
                    Issue(
                        where,
                        "include cycle: " + " → ".join([*loop, target_label]),
                        "a file cannot include itself, directly or through others; "
                        "remove one of these includes",
                    )
                )
                continue
            if not target.is_file():
                what = "is a folder" if target.is_dir() else "does not exist"
                self.issues.append(
                    Issue(
                        where,
                        f"included file '{text}' {what} (looked for {target_label})",
                        f"include paths are relative to the including file's folder "
                        f"({os.path.dirname(label) or '.'})",
                    )
                )
                continue
            sub_vars, sub_drafts, _ = self.visit(target, target_label, chain)
            included_vars.update(sub_vars)  # a later include wins over an earlier one
            included.extend(sub_drafts)
        merged = {**included_vars, **part.vars}  # the includer's vars win (SPEC §2)
        drafts = [*included, *part.drafts] if part.includes_first else [*part.drafts, *included]
        return merged, drafts, part

"""Compare runbook's inventory loader with Ansible's own, inventory by inventory.

For each inventory of a corpus folder (default tests/data/ansible_corpus/) this runs
`ansible-inventory -i PATH --list` and `runbook hosts -i PATH --format json`, then compares
every host: its groups, its variables (all of them), and the address, port and user runbook
derives from `ansible_host`/`ansible_port`/`ansible_user`. It prints each difference and a
final "N inventories, M hosts, K differences" line; the exit status is 1 on any difference.

Run: .venv/bin/python bench/inventory_vs_ansible.py [CORPUS] [--ansible-inventory PATH]

What one corpus entry is (each entry directly inside CORPUS):
- a file: one `-i FILE`;
- a folder: one `-i FOLDER` (Ansible reads every file in it, and its group_vars/host_vars);
- a folder holding `sources.txt`: the paths listed in it (one per line, relative to the
  folder), each as its own `-i`, in order: a single inventory file with group_vars/ and
  host_vars/ beside it, or several sources whose group_vars merge in source order.
  `.txt` is skipped by both loaders when they read a folder, so it never counts as hosts.

Where runbook differs on purpose, the Ansible side is normalised before comparing:
- Secrets: `runbook hosts` prints `***` for variables whose names say password, secret,
  token (docs/journal.md) or end in `_pass` (ansible_ssh_pass...). The same names are masked in
  Ansible's output, at every depth, as runbook masks them.
- `ansible-inventory` encodes trust and vault markers in its JSON (the `inventory_legacy`
  profile): `{"__ansible_unsafe": TEXT}` for `!unsafe` strings, `{"__ansible_vault":
  CIPHERTEXT}` for `!vault` values. runbook keeps the plain text (it never templates
  inventory values, and cannot decrypt a vault on a restore night), so the markers are
  unwrapped.
- Dates and times: both keep a YAML timestamp as a date/datetime; Ansible's JSON writes
  `isoformat()` (`2024-01-05T10:30:00`), runbook's `str()` (`2024-01-05 10:30:00`, the text a
  template would show). The runbook text is compared as the same instant.
- `ansible-inventory --list` JSON (what runbook reads as a file) is something Ansible itself
  only reads from an inventory *script*: the bench wraps such a file in a small executable
  script for the Ansible side.
- Address, port and user written as a template or a vault value are not compared here:
  `--list` shows them unrendered; bench/record_real_inventories.py records what Ansible
  renders when it connects, and tests/load/inventory/test_real_inventories.py compares.
- Port: runbook prints 22 when no `ansible_port` is set (docs/commands.md: `hosts` json has a port).

Host patterns: `patterns.txt` in the corpus lists "ENTRY PATTERN" lines; each pattern is
resolved by `ansible -i ... PATTERN --list-hosts` and `runbook hosts PATTERN`, and the hosts
selected are compared as sets (runbook prints them in inventory order on purpose, Ansible
in pattern order). A difference there counts like any other.

Kept out of the corpus because runbook differs on purpose, and stricter (see the loader's
docstrings): a range that runs backwards (`web[5:1]`, nothing in Ansible, an error here), a
misspelt group key or a group that is not a mapping (skipped with a warning by Ansible), a
vault-encrypted vars file (skipped here: no vault password on a restore night), duplicate
YAML keys, a UTF-8 byte order mark before an INI file's first host (part of its name in
Ansible), and `ungrouped` made the child of another group (Ansible then loses its hosts).

Ansible runs in an empty temporary folder with its own ANSIBLE_HOME and an empty config, so
no ansible.cfg and no playbook-adjacent group_vars/ of the current folder leak in, and with
INVENTORY_UNPARSED_FAILED so a file Ansible cannot read fails loudly instead of being skipped.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shlex
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from runbook.load.inventory._json import looks_like_list_output
from runbook.secrets import MASK, is_secret_name

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CORPUS = ROOT / "tests" / "data" / "ansible_corpus"
DEFAULT_ANSIBLE = Path("/tmp/runbook-bench-ansible/bin/ansible-inventory")
SOURCES_FILE = "sources.txt"
PATTERNS_FILE = "patterns.txt"
SKIPPED_SUFFIXES = (".md", ".txt", ".rst", "~")
DEFAULT_SSH_PORT = 22
# runbook's `hosts` masks these names (runbook/cli/_hosts.py): password, secret, token, *_pass.
_ANSIBLE_PASS = re.compile(r"(^|_)pass$", re.IGNORECASE)


@dataclass
class Entry:
    """One corpus inventory: a label and the `-i` paths it stands for."""

    label: str
    paths: list[Path]


@dataclass
class Outcome:
    label: str
    hosts: int = 0
    differences: list[str] = field(default_factory=list)


def entries(corpus: Path) -> list[Entry]:
    """The corpus inventories, sorted by name."""
    found: list[Entry] = []
    for item in sorted(corpus.iterdir(), key=lambda p: p.name):
        if item.name.startswith(".") or item.name.endswith(SKIPPED_SUFFIXES):
            continue
        if item.name in ("group_vars", "host_vars"):
            continue
        sources = item / SOURCES_FILE
        if item.is_dir() and sources.is_file():
            lines = [ln.strip() for ln in sources.read_text().splitlines()]
            paths = [item / ln for ln in lines if ln and not ln.startswith("#")]
            found.append(Entry(item.name, paths))
        else:
            found.append(Entry(item.name, [item]))
    return found


def _is_list_json(path: Path) -> bool:
    """`ansible-inventory --list` output (or a script's): Ansible needs a script to read it."""
    if not path.is_file() or path.suffix != ".json":
        return False
    try:
        data = json.loads(path.read_text())
    except ValueError:
        return False
    return looks_like_list_output(data)


def _script_for(path: Path, folder: Path) -> Path:
    script = folder / f"{path.stem}-script.sh"
    quoted = shlex.quote(str(path))
    script.write_text(
        f'#!/bin/sh\nif [ "$1" = "--list" ]; then cat {quoted}; else echo "{{}}"; fi\n'
    )
    script.chmod(0o755)
    return script


def _ansible(
    command: Path,
    entry: Entry,
    work: Path,
    *extra: str,
    env_extra: Mapping[str, str] | None = None,
    ok_codes: tuple[int, ...] = (0,),
) -> str:
    """Run an Ansible command on the entry's sources from an empty folder with no config;
    its standard output (`env_extra`: more environment; `ok_codes`: exit statuses that
    still give output, as `ansible`'s 2 when a host failed)."""
    cwd = Path(tempfile.mkdtemp(dir=work))
    config = work / "empty-ansible.cfg"
    config.touch()
    args = [str(command)]
    for p in entry.paths:
        args += ["-i", str(_script_for(p.resolve(), cwd) if _is_list_json(p) else p.resolve())]
    args += extra
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("ANSIBLE_")},
        "ANSIBLE_CONFIG": str(config),
        "ANSIBLE_HOME": str(work / "ansible-home"),
        "ANSIBLE_INVENTORY_UNPARSED_FAILED": "1",
        "ANSIBLE_INVENTORY_ANY_UNPARSED_IS_FAILED": "1",
        "ANSIBLE_NOCOLOR": "1",
        "ANSIBLE_DEPRECATION_WARNINGS": "0",
        **(env_extra or {}),
    }
    done = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, check=False)
    if done.returncode not in ok_codes:
        raise RuntimeError(f"{command.name} failed ({done.returncode}): {done.stderr.strip()}")
    return done.stdout


def run_ansible(ansible: Path, entry: Entry, work: Path) -> dict[str, Any]:
    """`ansible-inventory --list` for the entry."""
    result: dict[str, Any] = json.loads(_ansible(ansible, entry, work, "--list"))
    return result


def ansible_pattern(ansible: Path, entry: Entry, pattern: str, work: Path) -> set[str]:
    """The hosts `ansible -i ... PATTERN --list-hosts` selects (`ansible` sits beside
    `ansible-inventory`)."""
    out = _ansible(ansible.with_name("ansible"), entry, work, "--list-hosts", "--", pattern)
    # "  hosts (N):" then one indented name per line
    return {line.strip() for line in out.splitlines()[1:] if line.strip()}


def run_runbook(entry: Entry, work: Path, pattern: str = "all") -> list[dict[str, Any]]:
    """`runbook hosts PATTERN --format json` for the entry (same interpreter as this script)."""
    args = [sys.executable, "-m", "runbook", "hosts", "--format", "json"]
    for p in entry.paths:
        args += ["-i", str(p.resolve())]
    args += ["--", pattern]
    env = {**os.environ, "NO_COLOR": "1", "RUNBOOK_STATE": str(work / "state.db")}
    done = subprocess.run(args, cwd=work, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        output = (done.stderr or done.stdout).strip()
        raise RuntimeError(f"runbook hosts failed ({done.returncode}): {output}")
    rows: list[dict[str, Any]] = json.loads(done.stdout)
    return rows


def ansible_groups(listing: Mapping[str, Any]) -> dict[str, set[str]]:
    """host → every group holding it, ancestors included, `all` left out (Ansible's
    group_names; runbook's `groups`)."""
    children = {g: list(body.get("children", [])) for g, body in listing.items() if g != "_meta"}
    direct = {g: list(body.get("hosts", [])) for g, body in listing.items() if g != "_meta"}
    parents: dict[str, set[str]] = {}
    for g, kids in children.items():
        for kid in kids:
            parents.setdefault(kid, set()).add(g)

    def ancestors(g: str, seen: set[str]) -> set[str]:
        for p in parents.get(g, ()):
            if p not in seen:
                seen.add(p)
                ancestors(p, seen)
        return seen

    result: dict[str, set[str]] = {}
    for g, hosts in direct.items():
        for h in hosts:
            result.setdefault(h, set()).update({g} | ancestors(g, set()))
    for groups in result.values():
        groups.discard("all")
    return result


def _secret(name: str) -> bool:
    return is_secret_name(name) or bool(_ANSIBLE_PASS.search(name))


def unwrap(value: Any) -> Any:
    """Ansible's values without the JSON profile's trust and vault markers."""
    if isinstance(value, Mapping):
        if set(value) == {"__ansible_unsafe"}:
            return unwrap(value["__ansible_unsafe"])
        if set(value) == {"__ansible_vault"}:
            return value["__ansible_vault"]
        return {str(k): unwrap(v) for k, v in value.items()}
    if isinstance(value, list):
        return [unwrap(v) for v in value]
    return value


def masked(value: Any) -> Any:
    """Secret-named variables as `runbook hosts` shows them, at every depth."""
    if isinstance(value, Mapping):
        return {str(k): MASK if _secret(str(k)) else masked(v) for k, v in value.items()}
    if isinstance(value, list):
        return [masked(v) for v in value]
    return value


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False)


def _same(ansible: Any, runbook: Any) -> bool:
    if _canonical(ansible) == _canonical(runbook):
        return True
    if isinstance(ansible, str) and isinstance(runbook, str):
        return _same_timestamp(ansible, runbook)
    if isinstance(ansible, Mapping) and isinstance(runbook, Mapping):
        return ansible.keys() == runbook.keys() and all(
            _same(ansible[k], runbook[k]) for k in ansible
        )
    if isinstance(ansible, list) and isinstance(runbook, list):
        return len(ansible) == len(runbook) and all(map(_same, ansible, runbook))
    return False


def _same_timestamp(ansible: str, runbook: str) -> bool:
    for kind in (datetime, date):
        try:
            return str(kind.fromisoformat(ansible)) == runbook
        except ValueError:
            continue
    return False


def _connection(name: str, hostvars: Mapping[str, Any]) -> dict[str, Any]:
    """Address, port and user as Ansible's ssh connection reads them from the variables:
    the legacy `ansible_ssh_*` name wins when both are set (it is listed last)."""

    def first(*names: str) -> Any:
        for n in names:
            if hostvars.get(n) is not None:
                return hostvars[n]
        return None

    address = first("ansible_ssh_host", "ansible_host")
    port = first("ansible_ssh_port", "ansible_port")
    user = first("ansible_ssh_user", "ansible_user")
    return {
        "address": str(address) if address is not None else name,
        "port": port if _raw(port) else int(port) if port is not None else DEFAULT_SSH_PORT,
        "user": str(user) if user is not None else None,
    }


def _raw(value: Any) -> bool:
    """A template or a vault ciphertext: Ansible renders it only when it connects, so
    `--list` cannot say what it becomes (bench/record_real_inventories.py records that)."""
    text = value if isinstance(value, str) else ""
    return "{{" in text or "{%" in text or text.lstrip().startswith("$ANSIBLE_VAULT;")


def _show(value: Any) -> str:
    text = _canonical(value)
    return text if len(text) <= 120 else text[:117] + "..."


def compare(listing: Mapping[str, Any], rows: list[dict[str, Any]]) -> Iterator[str]:
    """Every difference between Ansible's `--list` and runbook's `hosts` json."""
    hostvars: Mapping[str, Any] = listing.get("_meta", {}).get("hostvars", {})
    groups = ansible_groups(listing)
    ours = {row["name"]: row for row in rows}
    for name in sorted(set(groups) - set(ours)):
        yield f"host {name}: only in Ansible"
    for name in sorted(set(ours) - set(groups)):
        yield f"host {name}: only in runbook"
    for name in sorted(set(groups) & set(ours)):
        row = ours[name]
        if sorted(groups[name]) != sorted(row["groups"]):
            yield (
                f"host {name}: groups: ansible={sorted(groups[name])} "
                f"runbook={sorted(row['groups'])}"
            )
        plain = unwrap(hostvars.get(name, {}))
        theirs = masked(plain)
        mine = row["vars"]
        for key in sorted(set(theirs) | set(mine)):
            if key not in mine:
                yield f"host {name}: var {key}: ansible={_show(theirs[key])} runbook=(missing)"
            elif key not in theirs:
                yield f"host {name}: var {key}: ansible=(missing) runbook={_show(mine[key])}"
            elif not _same(theirs[key], mine[key]):
                yield (
                    f"host {name}: var {key}: ansible={_show(theirs[key])} "
                    f"runbook={_show(mine[key])}"
                )
        try:
            expected = _connection(name, plain)
        except (TypeError, ValueError):
            yield f"host {name}: Ansible's port is not a number: {plain.get('ansible_port')}"
            continue
        for key, value in expected.items():
            if row[key] != value and not _raw(value):
                yield f"host {name}: {key}: ansible={_show(value)} runbook={_show(row[key])}"


def check(entry: Entry, ansible: Path, work: Path) -> Outcome:
    outcome = Outcome(entry.label)
    try:
        listing = run_ansible(ansible, entry, work)
        rows = run_runbook(entry, work)
    except (RuntimeError, ValueError) as e:
        outcome.differences.append(str(e))
        return outcome
    outcome.hosts = len(ansible_groups(listing))
    outcome.differences.extend(compare(listing, rows))
    return outcome


def patterns(corpus: Path, known: Mapping[str, Entry]) -> list[tuple[Entry, str]]:
    """The (entry, pattern) pairs of the corpus's patterns.txt."""
    listed = corpus / PATTERNS_FILE
    if not listed.is_file():
        return []
    found: list[tuple[Entry, str]] = []
    for line in listed.read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            label, pattern = line.split(None, 1)
            found.append((known[label], pattern.strip()))
    return found


def check_pattern(entry: Entry, pattern: str, ansible: Path, work: Path) -> Outcome:
    outcome = Outcome(f"{entry.label} {pattern!r}")
    try:
        theirs = ansible_pattern(ansible, entry, pattern, work)
        mine = {row["name"] for row in run_runbook(entry, work, pattern)}
    except (RuntimeError, ValueError) as e:
        outcome.differences.append(str(e))
        return outcome
    outcome.hosts = len(theirs)
    if theirs != mine:
        outcome.differences.append(
            f"pattern {pattern!r}: only Ansible selects {sorted(theirs - mine)}, "
            f"only runbook selects {sorted(mine - theirs)}"
        )
    return outcome


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpus", nargs="?", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--ansible-inventory", type=Path, default=DEFAULT_ANSIBLE)
    parser.add_argument("-j", "--jobs", type=int, default=os.cpu_count() or 2)
    args = parser.parse_args(argv)
    if not args.ansible_inventory.exists():
        print(
            f"{args.ansible_inventory}: not found; create it with `python3 -m venv "
            "/tmp/runbook-bench-ansible && /tmp/runbook-bench-ansible/bin/pip install "
            "ansible-core`",
            file=sys.stderr,
        )
        return 2
    todo = entries(args.corpus)
    pairs = patterns(args.corpus, {e.label: e for e in todo})
    ansible = args.ansible_inventory
    with tempfile.TemporaryDirectory(prefix="inventory-vs-ansible-") as tmp:
        work = Path(tmp)
        with ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
            outcomes = list(pool.map(lambda e: check(e, ansible, work), todo))
            selections = list(pool.map(lambda p: check_pattern(*p, ansible, work), pairs))
    total_hosts = total_diffs = 0
    for o in outcomes:
        total_hosts += o.hosts
        total_diffs += len(o.differences)
        status = "ok" if not o.differences else f"{len(o.differences)} difference(s)"
        print(f"{o.label}: {o.hosts} hosts, {status}")
        for d in o.differences:
            print(f"  {d}")
    failed = [o for o in selections if o.differences]
    for o in failed:
        for d in o.differences:
            print(f"{o.label}: {d}")
    total_diffs += sum(len(o.differences) for o in failed)
    print(f"{len(selections)} host patterns, {len(selections) - len(failed)} select the same hosts")
    print(f"{len(outcomes)} inventories, {total_hosts} hosts, {total_diffs} differences")
    return 1 if total_diffs else 0


if __name__ == "__main__":
    sys.exit(main())

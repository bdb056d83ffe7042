"""Record what Ansible makes of the real-world inventories, for tests that need no Ansible.

For each entry of tests/data/inventories/real/ (the corpus layout of
bench/inventory_vs_ansible.py: a file, a folder, or a folder with sources.txt) this writes
tests/data/inventories/real-expected/ENTRY.json holding:
- "list": `ansible-inventory --list` (hosts, groups, every variable as written);
- "connection": for each host, the connection values as Ansible renders them when it
  connects (`ansible HOST -m debug`, which runs on the controller and dials nothing):
  address, port, user, key file and ssh common/extra args; a value Ansible cannot render
  (an undefined variable, a lookup failing, a vault value without its password) is
  recorded as {"error": FIRST LINE OF ANSIBLE'S MESSAGE}.
An entry Ansible refuses is recorded as {"error": ...}.

Run: .venv/bin/python bench/record_real_inventories.py [--ansible-inventory PATH]
(ansible-core in its own venv: python3 -m venv /tmp/ansible-venv && \
/tmp/ansible-venv/bin/pip install ansible-core). Prints one line per entry.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from inventory_vs_ansible import ROOT, Entry, _ansible, entries

CORPUS = ROOT / "tests" / "data" / "inventories" / "real"
EXPECTED = ROOT / "tests" / "data" / "inventories" / "real-expected"
FIELDS = {
    "address": "ansible_ssh_host | default(ansible_host) | default(inventory_hostname)",
    "port": "ansible_ssh_port | default(ansible_port) | default(None)",
    "user": "ansible_ssh_user | default(ansible_user) | default(None)",
    "key_file": "ansible_ssh_private_key_file | default(ansible_private_key_file) | default(None)",
    "ssh_common_args": "ansible_ssh_common_args | default(None)",
    "ssh_extra_args": "ansible_ssh_extra_args | default(None)",
}


def _connection(ansible: Path, entry: Entry, work: Path, field: str) -> dict[str, Any]:
    """host → the rendered value of one field, or {"error": ...}."""
    expr = "{{ " + FIELDS[field] + " }}"
    out = _ansible(
        ansible.with_name("ansible"),
        entry,
        work,
        "all",
        "-m",
        "debug",
        "-a",
        f"msg={expr}",
        env_extra={"ANSIBLE_STDOUT_CALLBACK": "oneline", "ANSIBLE_LOAD_CALLBACK_PLUGINS": "1"},
        ok_codes=(0, 2),
    )
    result: dict[str, Any] = {}
    for line in out.splitlines():  # the oneline callback: `HOST | SUCCESS => {json}`
        head, sep, body = line.partition(" => ")
        if not sep or " | " not in head:
            continue
        host = head.split(" | ", 1)[0]
        res = json.loads(body)
        if res.get("failed") or " | FAILED" in head or " | UNREACHABLE" in head:
            result[host] = {"error": str(res.get("msg", "")).splitlines()[0]}
        else:
            result[host] = res["msg"]
    return result


def record(ansible: Path, entry: Entry, work: Path) -> str:
    target = EXPECTED / f"{entry.label}.json"
    sources = [str(p.relative_to(CORPUS)) for p in entry.paths]
    try:
        listing = json.loads(_ansible(ansible, entry, work, "--list"))
    except RuntimeError as e:
        first = str(e).splitlines()[0] if str(e) else "failed"
        target.write_text(json.dumps({"sources": sources, "error": first}, indent=1) + "\n")
        return f"{entry.label}: Ansible refuses it"
    hosts = sorted(listing.get("_meta", {}).get("hostvars", {}))
    per_field = {f: _connection(ansible, entry, work, f) for f in FIELDS}
    connection = {h: {f: per_field[f].get(h) for f in FIELDS} for h in hosts}
    body = {"sources": sources, "list": listing, "connection": connection}
    target.write_text(json.dumps(body, indent=1, sort_keys=True, ensure_ascii=False) + "\n")
    return f"{entry.label}: {len(hosts)} hosts"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--ansible-inventory", type=Path, default=Path("/tmp/ansible-venv/bin/ansible-inventory")
    )
    args = parser.parse_args()
    EXPECTED.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp, ThreadPoolExecutor(2) as pool:
        work = Path(tmp)
        for line in pool.map(lambda e: record(args.ansible_inventory, e, work), entries(CORPUS)):
            print(line)


if __name__ == "__main__":
    main()

"""CPU time to load 5,000-host inventories and to match patterns (prints numbers).

Run: .venv/bin/python bench/inventory_bench.py [HOSTS]
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from runbook.load._patterns import select_hosts
from runbook.load.inventory._load import load_inventory

GROUPS = 50


def write_yaml(path: Path, n: int) -> None:
    lines = ["all:", "  vars:", "    ansible_user: ops", "  children:"]
    for g in range(GROUPS):
        lines += [f"    g{g}:", "      vars:", f"        role: r{g}", "      hosts:"]
        for i in range(n // GROUPS):
            lines += [
                f"        h{g}-{i}:",
                f"          ansible_host: 10.{g}.{i // 250}.{i % 250}",
                "          ansible_port: 22",
                f"          rack: r{i % 7}",
            ]
    for site, first in (("lyon", 0), ("paris", 1)):
        lines += [f"    {site}:", "      children:"]
        lines += [f"        g{g}:" for g in range(first, GROUPS, 2)]
    path.write_text("\n".join(lines) + "\n")


def write_ini(path: Path, n: int) -> None:
    lines = ["[all:vars]", "ansible_user=ops"]
    for g in range(GROUPS):
        lines += [f"[g{g}]"]
        lines += [
            f"h{g}-{i} ansible_host=10.{g}.{i // 250}.{i % 250} ansible_port=22 rack=r{i % 7}"
            for i in range(n // GROUPS)
        ]
        lines += [f"[g{g}:vars]", f"role=r{g}", f"[{'paris' if g % 2 else 'lyon'}:children]"]
        lines += [f"g{g}"]
    path.write_text("\n".join(lines) + "\n")


def write_json(path: Path, n: int) -> None:
    data: dict[str, object] = {"all": {"children": [f"g{g}" for g in range(GROUPS)]}}
    hostvars = {}
    for g in range(GROUPS):
        names = [f"h{g}-{i}" for i in range(n // GROUPS)]
        data[f"g{g}"] = {"hosts": names}
        for i, name in enumerate(names):
            hostvars[name] = {"ansible_host": f"10.{g}.{i // 250}.{i % 250}", "rack": f"r{i % 7}"}
    data["_meta"] = {"hostvars": hostvars}
    path.write_text(json.dumps(data, indent=4))


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 5000
    with tempfile.TemporaryDirectory() as folder:
        for form, writer in (("yaml", write_yaml), ("ini", write_ini), ("json", write_json)):
            path = Path(folder) / f"hosts.{form}"
            writer(path, n)
            best = min(_timed(lambda p=path: load_inventory([p])) for _ in range(3))
            inventory = load_inventory([path])
            print(f"load {form:4} {len(inventory.hosts):6} hosts: {best * 1000:7.1f} ms")
        patterns = ("all", "g1:g2:&g2", "h1-*:h2-1", "~h4[0-9]-1", "all:!g3")
        start = time.process_time()
        for _ in range(100):
            for p in patterns:
                select_hosts(inventory, p)
        per = (time.process_time() - start) / (100 * len(patterns))
        print(f"select_hosts, {len(patterns)} patterns x100: {per * 1000:.2f} ms per pattern")


def _timed(fn: Callable[[], object]) -> float:
    start = time.process_time()
    fn()
    return time.process_time() - start


if __name__ == "__main__":
    main()

"""`runbook hosts`: which inventory hosts a pattern selects, and how we would reach them."""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Mapping, Sequence
from enum import StrEnum
from pathlib import Path
from typing import Any

import typer

from runbook.cli._app import app, settings
from runbook.errors import EXIT_FAILED, EXIT_OK
from runbook.model import Host, Inventory
from runbook.secrets import MASK, is_secret_name

DEFAULT_SSH_PORT = 22
PIPE_WIDTH = 120
CHECK_PIPE_WIDTH = 200  # the check details (SSH errors) are long
# Ansible's own password variables (ansible_ssh_pass, ansible_become_pass, ...) do not say
# "password", yet are exactly what must never be printed.
_ANSIBLE_PASS = re.compile(r"(^|_)pass$", re.IGNORECASE)


class HostsFormat(StrEnum):
    table = "table"
    json = "json"


@app.command("hosts")
def hosts_command(
    pattern: str = typer.Argument(
        "all",
        help="Ansible host pattern: web, 'web:&paris', 'all:!db', 'mx*', '~re'.",
        metavar="PATTERN",
    ),
    inventory: list[Path] | None = typer.Option(
        None,
        "-i",
        "--inventory",
        help="Inventory file or folder (Ansible YAML, INI or JSON); repeatable. "
        "Default: inventory/ here.",
        show_default=False,
        metavar="INVENTORY",
    ),
    fmt: HostsFormat = typer.Option(
        HostsFormat.table, "--format", "-f", help="table for people; json for scripts."
    ),
    check: bool = typer.Option(
        False,
        "--check",
        help="Try SSH to each selected host (log in, run `true`); exit 1 if any fails.",
    ),
    forks: int = typer.Option(
        50, "--forks", min=1, help="With --check: hosts tried at once.", metavar="N"
    ),
    accept_new_host_keys: bool = typer.Option(
        False,
        "--accept-new-host-keys",
        help="With --check: record unknown host keys in known_hosts; a changed key is "
        "always refused.",
    ),
) -> None:
    """Resolve a host pattern against the inventory: name, address, port, user, groups.

    json prints a list of {name, address, port, user, groups, vars}; secret variables
    (names with password, secret, token, or Ansible's *_pass) are shown as ***.
    """
    from runbook.load import name_clashes, select_hosts
    from runbook.load.inventory import find_inventory, load_inventory

    paths = find_inventory(list(inventory or ()))
    inv = load_inventory(paths)
    names = select_hosts(inv, pattern)
    for warning in name_clashes(inv, pattern):
        typer.echo(f"warning: {warning}", err=True)
    if check:
        raise typer.Exit(_check(inv, names, paths, fmt, forks, accept_new_host_keys))
    if fmt is HostsFormat.json:
        rows = [host_json(inv.hosts[n]) for n in names]
        sys.stdout.write(json.dumps(rows, indent=2, ensure_ascii=False, default=str) + "\n")
    else:
        _print_table(inv, names)


def host_json(host: Host) -> dict[str, Any]:
    """One host as `hosts --format json` prints it."""
    return {
        "name": host.name,
        "address": host.address,
        "port": host.port or DEFAULT_SSH_PORT,
        "user": host.user,
        "groups": list(host.groups),
        "vars": _masked(host.vars),
    }


def _secret(name: str) -> bool:
    return is_secret_name(name) or bool(_ANSIBLE_PASS.search(name))


def _masked(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): MASK if _secret(str(k)) else _masked(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_masked(v) for v in value]
    return value


def _print_table(inv: Inventory, names: Sequence[str]) -> None:
    from runbook.present import Column, Grid, print_out

    jumps = any(inv.hosts[n].proxy_jump for n in names)
    headers = ("HOST", "ADDRESS", "PORT", "USER", "GROUPS", *(["JUMP"] if jumps else []))
    grid = Grid([Column(h, wrap=h == "GROUPS") for h in headers])
    for n in names:
        h = inv.hosts[n]
        row = [h.name, h.address, str(h.port or DEFAULT_SSH_PORT), h.user or "-"]
        row.append(", ".join(h.groups) or "-")
        if jumps:
            row.append(h.proxy_jump or "-")
        grid.add_row(*row)
    count = f"{len(names)} host{'s' if len(names) != 1 else ''}"
    print_out([grid, count], color=settings().color, pipe_width=PIPE_WIDTH)


def _check(
    inv: Inventory,
    names: Sequence[str],
    paths: Sequence[Path],
    fmt: HostsFormat,
    forks: int,
    accept_new: bool,
) -> int:
    """`--check`: one SSH login per host, a table (or json) of how each went."""
    from runbook.app import check_hosts

    if sys.stderr.isatty() and settings().verbosity >= 0:
        print(f"checking {len(names)} host(s), {forks} at a time...", file=sys.stderr)
    results = check_hosts(
        inv, names, forks=forks, accept_new_host_keys=accept_new, inventory_sources=paths
    )
    failed = sum(not r.ok for r in results)
    if fmt is HostsFormat.json:
        rows = [r.as_json() for r in results]
        sys.stdout.write(json.dumps(rows, indent=2, ensure_ascii=False) + "\n")
        return EXIT_FAILED if failed else EXIT_OK
    from rich.text import Text

    from runbook.present import Column, Grid, print_out

    color = sys.stdout.isatty() and settings().color
    grid = Grid(
        [
            Column("HOST"),
            Column("ADDRESS"),
            Column("RESULT"),
            Column("DETAIL", wrap=True),
            Column("TIME", justify="right"),
        ]
    )
    for r in results:
        style = ("green" if r.ok else "red") if color else ""
        # Text, not markup: details hold `[host]:port`, which rich would read as a style tag.
        result = Text(r.result, style=style)
        grid.add_row(r.name, r.endpoint, result, r.detail or "-", f"{r.duration_s:.2f}s")
    summary = f"{len(results) - failed} ok, {failed} failed"
    print_out([grid, summary], color=color, pipe_width=CHECK_PIPE_WIDTH)
    return EXIT_FAILED if failed else EXIT_OK

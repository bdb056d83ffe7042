"""`resolve()`: the one call every command makes — playbook + inventory → hosts per step.

Every problem of both files, of every host pattern and of every template is collected
and raised as one InputError, so `validate` lists everything in one pass.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from runbook.bulk import paused_gc
from runbook.connection import connection, runbook_can_reach
from runbook.errors import InputError, Issue
from runbook.load._playbook import load_playbook, sort_issues
from runbook.model import Inventory, Playbook, Step
from runbook.templates import has_template

if TYPE_CHECKING:
    from runbook.load.inventory import PendingInventory

DEFAULT_INVENTORY = Path("inventory")


@dataclass(frozen=True)
class Resolved:
    """A valid playbook, its inventory, and the hosts each step runs on (inventory order)."""

    playbook: Playbook
    inventory: Inventory
    step_hosts: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    @property
    def hosts(self) -> tuple[str, ...]:
        """Every host some step names, in inventory order."""
        used = {h for names in self.step_hosts.values() for h in names}
        return tuple(h for h in self.inventory.hosts if h in used)


def resolve(
    playbook_path: Path | str,
    inventory_paths: Sequence[Path | str] = (),
    limit: str | None = None,
) -> Resolved:
    """Load, select hosts, apply `--limit`, check templates; one InputError with everything."""
    with paused_gc():
        return _resolve(playbook_path, inventory_paths, limit)


def _resolve(
    playbook_path: Path | str,
    inventory_paths: Sequence[Path | str],
    limit: str | None,
) -> Resolved:
    issues: list[Issue] = []
    playbook = None
    # A big inventory loads in a child process while the playbook is parsed here.
    pending = _start_inventory(inventory_paths)
    try:
        try:
            playbook = load_playbook(playbook_path)
        except InputError as e:
            issues.extend(e.issues)
        needs_hosts = playbook is None or any(_pattern_step(s) for s in playbook.steps)
        known = len(issues)
        inventory, given = _inventory(pending, needs_hosts, issues)
        broken = len(issues) > known
    finally:
        if pending is not None:
            pending.cancel()
    if playbook is None:
        raise InputError(issues)
    step_hosts: dict[str, tuple[str, ...]] = {s.id: () for s in playbook.steps}
    if broken:
        pass  # its own errors say what to fix: "no inventory was given" would be wrong
    elif given:
        step_hosts = _select(playbook, inventory, limit, issues)
        _unreachable(playbook, inventory, step_hosts, issues)
        if any(s.min_ok is not None for s in playbook.steps):
            from runbook.load._step_extras import count_issues

            issues.extend(count_issues(playbook, step_hosts))
    elif limit is not None:
        issues.append(Issue(None, "--limit needs an inventory", "pass -i INVENTORY"))
    else:
        _no_inventory(playbook, issues)
    if not issues and _templated(playbook):
        from runbook.load._template_check import check_templates  # jinja2 only when needed

        issues.extend(check_templates(playbook, step_hosts, inventory))
    if issues:
        raise InputError(sort_issues(issues, playbook.files))
    return Resolved(playbook, inventory, step_hosts)


TEMPLATE_FIELDS = ("title", "manual", "run", "skip_if", "until", "verify")  # as _template_check's


def _templated(playbook: Playbook) -> bool:
    """Whether a step field check_templates reads holds Jinja syntax (else: nothing to
    check, and Jinja2 stays unloaded: ~40 ms of a run's start)."""
    return any(has_template(getattr(s, f) or "") for s in playbook.steps for f in TEMPLATE_FIELDS)


def _pattern_step(step: Step) -> bool:
    return step.hosts is not None and step.kind in ("remote", "manual")


def _start_inventory(paths: Sequence[Path | str]) -> PendingInventory | None:
    """The inventory to load: the -i paths, else `inventory/` here if it exists."""
    chosen = [Path(p) for p in paths]
    if not chosen and DEFAULT_INVENTORY.is_dir():
        chosen = [DEFAULT_INVENTORY]
    if not chosen:
        return None
    from runbook.load.inventory import PendingInventory

    return PendingInventory(chosen, default=not paths)


def _inventory(
    pending: PendingInventory | None, needed: bool, issues: list[Issue]
) -> tuple[Inventory, bool]:
    """The inventory, and whether there is one (`inventory/` here only when needed)."""
    if pending is None or (pending.default and not needed):
        return Inventory(), False
    try:
        return pending.result(), True
    except InputError as e:
        issues.extend(e.issues)
        return Inventory(), False


def _select(
    playbook: Playbook, inventory: Inventory, limit: str | None, issues: list[Issue]
) -> dict[str, tuple[str, ...]]:
    from runbook.load._patterns import select_hosts

    allowed: set[str] | None = None
    if limit is not None:
        try:
            allowed = set(select_hosts(inventory, limit))
        except InputError as e:
            issues.extend(Issue(i.location, f"--limit: {i.message}", i.hint) for i in e.issues)
            return {}
    # 10,000 steps often share a few patterns: select each once; an error repeats per step.
    cache: dict[str, tuple[str, ...] | list[tuple[str, str]]] = {}
    result: dict[str, tuple[str, ...]] = {}
    for step in playbook.steps:
        if not _pattern_step(step) or step.hosts is None or step.hosts_at_run_time:
            result[step.id] = ()  # templated hosts: resolved when the step starts
            continue
        names = cache.get(step.hosts)
        if names is None:
            where = step.field_locations.get("hosts", step.location)
            try:
                names = cache[step.hosts] = tuple(select_hosts(inventory, step.hosts, where))
            except InputError as e:
                names = cache[step.hosts] = [(i.message, i.hint) for i in e.issues]
        if isinstance(names, list):
            where = step.field_locations.get("hosts", step.location)
            issues.extend(Issue(where, message, hint) for message, hint in names)
            continue
        # --limit narrows every step, like Ansible's: a step left with no host is skipped.
        result[step.id] = names if allowed is None else tuple(h for h in names if h in allowed)
    return result


def _unreachable(
    playbook: Playbook,
    inventory: Inventory,
    step_hosts: Mapping[str, tuple[str, ...]],
    issues: list[Issue],
) -> None:
    """Remote steps on hosts Ansible reaches otherwise than by SSH (winrm, docker...)."""
    other = {
        n: connection(h.vars) for n, h in inventory.hosts.items() if not runbook_can_reach(h.vars)
    }
    if not other:
        return  # the usual case: a look at each host, none at each step's
    for step in playbook.steps:
        if step.kind != "remote":
            continue  # a manual step's hosts are information for the operator
        by_kind: dict[str, list[str]] = {}
        for name in step_hosts.get(step.id, ()):
            if name in other:
                by_kind.setdefault(other[name], []).append(name)
        for kind, names in sorted(by_kind.items()):
            first = inventory.hosts[names[0]]
            shown = names[0] + (f" ({first.location})" if first.location else "")
            shown += "".join(f", {n}" for n in names[1:3])
            shown += f" and {len(names) - 3} more" if len(names) > 3 else ""
            issues.append(
                Issue(
                    step.field_locations.get("hosts", step.location),
                    f"step '{step.id}' would run on {shown}, which Ansible reaches with"
                    f" ansible_connection: {kind}; runbook runs commands over SSH, or on this"
                    " machine for `local`",
                    f"leave them out of the step's hosts (e.g. '{step.hosts}:!"
                    f"{_leave_out(inventory, names)}'), or set ansible_connection: ssh for a"
                    " host that runs an SSH server",
                )
            )


def _leave_out(inventory: Inventory, names: Sequence[str]) -> str:
    """The smallest group holding all of `names` (e.g. `windows`), else the first name."""
    common = set.intersection(*(set(inventory.hosts[n].groups) for n in names))
    common -= {"all", "ungrouped"}
    if not common:
        return names[0]
    size = dict.fromkeys(common, 0)
    for host in inventory.hosts.values():
        for g in common.intersection(host.groups):
            size[g] += 1
    return min(common, key=lambda g: (size[g], g))


def _no_inventory(playbook: Playbook, issues: list[Issue]) -> None:
    remote = [s for s in playbook.steps if s.kind == "remote"]
    if not remote:
        return  # a manual step's `hosts` is information for the operator; no -i needed then
    others = len(remote) - 1
    more = f" (and {others} more remote step{'s' if others > 1 else ''})" if others else ""
    first = remote[0]
    issues.append(
        Issue(
            first.field_locations.get("hosts", first.location),
            f"step '{first.id}' runs on hosts '{first.hosts}' but no inventory was given{more}",
            "pass -i INVENTORY (a file or a folder), or run from a folder that has inventory/",
        )
    )

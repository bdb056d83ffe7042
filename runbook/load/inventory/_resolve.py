"""Ansible's rules applied to a draft: implicit groups, cycles, depth, variable precedence.

Precedence is ansible-core's `VariableManager.get_vars` with default settings:
`all` inline vars, then every other group's inline vars sorted by (depth, priority,
name), then `group_vars/all`, then `group_vars/<group>` in the same order, then the host's
inline vars, then `host_vars/<host>`. Depth is the longest path from `all` (a group's depth
grows when it is nested deeper anywhere), and merging replaces whole values (Ansible's
default `hash_behaviour = replace`). With several sources, group_vars/ folders are merged
source by source (each in group order), so a later source's shallow group beats an
earlier source's deep one.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from runbook.errors import Issue
from runbook.load.inventory._ansible_yaml import VAULT_HEADER
from runbook.load.inventory._draft import ALL, UNGROUPED, Draft, GroupDraft, HostDraft
from runbook.load.inventory._ssh_args import proxy_jump_from_args
from runbook.load.inventory._templates import is_template, rendered
from runbook.model import Group, Host, Inventory, Location


def resolve(draft: Draft) -> Inventory:
    """The finished Inventory; problems found here are appended to `draft.issues`."""
    groups = draft.groups
    # Groups without a parent hang under `all`, as Ansible's reconcile_inventory does.
    has_parent = {child for g in groups.values() for child in g.children}
    for name in groups:
        if name != ALL and name not in has_parent:
            groups[ALL].children.setdefault(name, None)
    order = _topological(draft)
    if order is None:
        return Inventory(sources=tuple(draft.sources))
    depth = {ALL: 0}
    for name in order:
        for child in groups[name].children:
            depth[child] = max(depth.get(child, 0), depth.get(name, 0) + 1)
    ancestors: dict[str, frozenset[str]] = {}
    parents: dict[str, list[str]] = {name: [] for name in groups}
    for name in order:
        for child in groups[name].children:
            parents[child].append(name)
    for name in order:
        acc: set[str] = set()
        for p in parents[name]:
            acc.add(p)
            acc |= ancestors[p]
        ancestors[name] = frozenset(acc)
    _reconcile_ungrouped(draft, ancestors)
    member_of: dict[str, set[str]] = {h: set() for h in draft.hosts}
    for name, g in groups.items():
        for member in g.hosts:
            member_of[member].add(name)
            member_of[member] |= ancestors[name]
    rank = {n: (depth.get(n, 0), groups[n].priority, n) for n in groups}
    # Hosts mostly share a few group sets: merge each set's group vars once.
    merged_cache: dict[frozenset[str], tuple[list[str], dict[str, Any]]] = {}
    port_errors: set[Location | None] = set()
    hosts: dict[str, Host] = {}
    for name, h in draft.hosts.items():
        in_groups = frozenset(member_of[name] - {ALL})
        cached = merged_cache.get(in_groups)
        if cached is None:
            ordered = sorted(in_groups, key=rank.__getitem__)
            cached = merged_cache[in_groups] = (
                ordered,
                _group_vars(groups, ordered, draft.vars_order),
            )
        ordered, base = cached
        hostvars = {**base, **h.vars}
        for layer in draft.vars_order if h.file_layers else ():
            hostvars.update(h.file_layers.get(layer, {}))
        hosts[name] = _host(h, hostvars, tuple(sorted(in_groups)))
        problem = _port_problem(h, hostvars, hosts[name], [groups[g] for g in (ALL, *ordered)])
        if problem and problem.location not in port_errors:
            # A bad group-level port would otherwise repeat once per host of the group.
            port_errors.add(problem.location)
            draft.issues.append(problem)
    return Inventory(
        hosts=hosts,
        groups={name: _group(g) for name, g in groups.items()},
        sources=tuple(draft.sources),
    )


def _topological(draft: Draft) -> list[str] | None:
    """Groups parents-first; None (with an issue per cycle) if a group is its own ancestor."""
    groups = draft.groups
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    order: list[str] = []
    found = False
    for root in groups:
        if root in state:
            continue
        path: list[str] = [root]
        iters = [iter(groups[root].children)]
        state[root] = 1
        while iters:
            child = next(iters[-1], None)
            if child is None:
                iters.pop()
                state[path[-1]] = 2
                order.append(path.pop())
                continue
            if state.get(child) == 1:
                found = True
                cycle = [*path[path.index(child) :], child]
                draft.error(
                    groups[path[-1]].children[child],
                    "group cycle: " + " → ".join(cycle),
                    f"a group cannot be its own ancestor; remove '{child}' from the children "
                    f"of '{path[-1]}'",
                )
                continue
            if child not in state:
                state[child] = 1
                path.append(child)
                iters.append(iter(groups[child].children))
    if found:
        return None
    order.reverse()
    return order


def _reconcile_ungrouped(draft: Draft, ancestors: Mapping[str, frozenset[str]]) -> None:
    """Ansible's reconcile_inventory: `ungrouped` holds exactly the hosts in no other group."""
    grouped: set[str] = set()
    for name, g in draft.groups.items():
        if name not in (ALL, UNGROUPED) and UNGROUPED not in ancestors[name]:
            grouped.update(g.hosts)
    ungrouped = draft.groups[UNGROUPED].hosts
    for h in list(ungrouped):
        if h in grouped:
            del ungrouped[h]
    for h in draft.hosts:
        if h not in grouped:
            ungrouped.setdefault(h, None)


def _group_vars(
    groups: Mapping[str, GroupDraft], ordered: list[str], vars_order: list[int]
) -> dict[str, Any]:
    result: dict[str, Any] = dict(groups[ALL].vars)
    for g in ordered:
        result.update(groups[g].vars)
    # ansible-core's host_group_vars: `group_vars/all` of every source first, then for each
    # source in turn, that source's files of the host's groups in precedence order.
    for layer in vars_order:
        result.update(groups[ALL].file_layers.get(layer, {}))
    with_files = [groups[g] for g in ordered if groups[g].file_layers]
    for layer in vars_order:
        for group in with_files:
            result.update(group.file_layers.get(layer, {}))
    return result


def _first(values: Mapping[str, Any], *names: str) -> Any:
    # Ansible reads the legacy `ansible_ssh_*` name first (MAGIC_VARIABLE_MAPPING, and the
    # ssh plugin's option list where the last listed name wins), so it wins when both are set.
    for n in names:
        if values.get(n) is not None:
            return values[n]
    return None


def _host(h: HostDraft, hostvars: dict[str, Any], group_names: tuple[str, ...]) -> Host:
    def var(*names: str) -> Any:  # rendered when written as a template, as Ansible does
        value = _first(hostvars, *names)
        if isinstance(value, str) and value.lstrip().startswith(VAULT_HEADER):
            # `!vault` ciphertext: no password to decrypt it here. Its header line alone
            # marks it, and the host fails saying so when a step reaches it (ssh/_target).
            return value.strip().split("\n", 1)[0] + "…"
        return rendered(value, h.name, hostvars, group_names)

    address = var("ansible_ssh_host", "ansible_host")
    user = var("ansible_ssh_user", "ansible_user")
    key_file = var("ansible_ssh_private_key_file", "ansible_private_key_file")
    jump = None
    for args_var in ("ansible_ssh_common_args", "ansible_ssh_extra_args"):
        args = var(args_var)  # `-o ProxyJump={{ bastion }}` is rendered as Ansible does
        if isinstance(args, str):
            jump = proxy_jump_from_args(args)
            if jump and is_template(args):
                jump = args  # not renderable here: kept whole, the host fails saying so
            if jump:
                break
    return Host(
        name=h.name,
        address=str(address) if address is not None else h.name,
        port=_port(var("ansible_ssh_port", "ansible_port")),
        user=str(user) if user not in (None, "") else None,  # '': Ansible's default user
        key_file=str(key_file) if key_file is not None else None,
        proxy_jump=jump,
        groups=group_names,
        vars=hostvars,
        location=h.location,
    )


def _port_problem(
    h: HostDraft, hostvars: Mapping[str, Any], host: Host, ordered: list[GroupDraft]
) -> Issue | None:
    var = "ansible_ssh_port" if hostvars.get("ansible_ssh_port") is not None else "ansible_port"
    value = hostvars.get(var)
    if value is None or host.port is not None:
        return None
    hint = "write a whole number from 1 to 65535"
    if is_template(value):
        hint += " (a template runbook cannot render: a lookup, or an undefined variable?)"
    where = _where_set(h, var, ordered) or h.location
    return Issue(where, f"{var} of host '{h.name}' is {value!r}, not a port number", hint)


def _port(value: Any) -> int | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        n = value
    elif isinstance(value, str) and value.strip().isdigit():
        n = int(value.strip())
    else:
        return None
    return n if 1 <= n <= 65535 else None


def _where_set(h: HostDraft, var: str, ordered: list[GroupDraft]) -> Location | None:
    """Where the winning value of `var` was written: the precedence order, backwards."""
    if var in h.file_vars:
        return h.file_var_locs.get(var)
    if var in h.vars:
        return h.var_locs.get(var)
    for g in reversed(ordered):
        if var in g.file_vars:
            return g.file_var_locs.get(var)
    for g in reversed(ordered):
        if var in g.vars:
            return g.var_locs.get(var)
    return None


def _group(g: GroupDraft) -> Group:
    return Group(
        name=g.name,
        hosts=tuple(g.hosts),
        children=tuple(g.children),
        vars={**g.vars, **g.file_vars},
        location=g.location,
    )

"""The dependency graph of a playbook's steps: checks, order, waves, critical path (pure).

Kahn's algorithm with a heap gives one stable order (smallest id first among ready steps);
networkx is imported only to name cycles when there are some.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from runbook.errors import InputError, Issue
from runbook.model import Step

if TYPE_CHECKING:
    import networkx as nx


def graph_issues(steps: Sequence[Step]) -> list[Issue]:
    """Duplicate ids and unknown `needs`, as located issues (cycles: `cycle_issues`)."""
    import difflib

    known = {s.id for s in steps}
    if len(known) == len(steps) and all(known.issuperset(s.needs) for s in steps):
        return []  # the usual case, in one look at each step
    issues: list[Issue] = []
    ids: dict[str, Step] = {}
    for s in steps:
        if s.id in ids:
            issues.append(
                Issue(s.location, f"duplicate step id '{s.id}'", f"first at {ids[s.id].location}")
            )
        else:
            ids[s.id] = s
    for s in steps:
        for n in s.needs:
            if n not in ids:
                close = difflib.get_close_matches(n, list(ids), n=1)
                hint = f"did you mean '{close[0]}'?" if close else "no step has this id"
                where = s.field_locations.get("needs", s.location)
                issues.append(Issue(where, f"step '{s.id}' needs unknown step '{n}'", hint))
    return issues


def cycle_issues(steps: Sequence[Step]) -> list[Issue]:
    """Every dependency cycle, as its path (`a → b → a`), located at its first step."""
    order = topological_order(steps, strict=False)
    if len(order) == len(steps):
        return []
    # Only the steps Kahn's algorithm could not place are on or behind a cycle; networkx
    # then names one cycle per strongly connected component, in a stable order.
    import networkx as nx

    placed = set(order)
    g = nx.DiGraph()
    for s in steps:
        if s.id not in placed:
            g.add_node(s.id)
            g.add_edges_from((s.id, n) for n in s.needs if n not in placed)
    by_id = {s.id: s for s in steps}
    issues = []
    components = [c for c in nx.strongly_connected_components(g) if len(c) > 1 or _self_loop(g, c)]
    for comp in sorted(components, key=min):
        start = min(comp)
        cycle = _cycle_from(g.subgraph(comp), start)
        shown = " → ".join([*cycle, cycle[0]])
        s = by_id[start]
        where = s.field_locations.get("needs", s.location)
        issues.append(
            Issue(
                where,
                f"dependency cycle: {shown} (each step needs the next)",
                "remove one of these `needs`",
            )
        )
    return issues


def _self_loop(g: nx.DiGraph, comp: set[str]) -> bool:
    (node,) = comp
    return bool(g.has_edge(node, node))


def _cycle_from(g: nx.DiGraph, start: str) -> list[str]:
    """The shortest cycle through `start` (breadth first, smallest ids first: stable)."""
    from collections import deque

    parent: dict[str, str | None] = {start: None}
    queue = deque([start])
    while queue:
        node = queue.popleft()
        for n in sorted(g.successors(node)):
            if n == start:
                path = [node]
                while (p := parent[path[-1]]) is not None:
                    path.append(p)
                return list(reversed(path))
            if n not in parent:
                parent[n] = node
                queue.append(n)
    return [start]  # unreachable inside a strongly connected component


def topological_order(steps: Sequence[Step], strict: bool = True) -> list[str]:
    """Kahn's order, smallest id first among ready steps; with strict=False, cycles are left out."""
    import heapq

    needs = {s.id: set(s.needs) for s in steps}
    dependents: dict[str, list[str]] = {s.id: [] for s in steps}
    for sid, ns in needs.items():
        for n in ns:
            dependents.setdefault(n, []).append(sid)
    waiting = {sid: len(ns) for sid, ns in needs.items()}
    ready = [sid for sid, n in waiting.items() if n == 0]
    heapq.heapify(ready)
    order: list[str] = []
    while ready:
        sid = heapq.heappop(ready)
        order.append(sid)
        for d in dependents[sid]:
            waiting[d] -= 1
            if waiting[d] == 0:
                heapq.heappush(ready, d)
    if strict and len(order) != len(needs):
        raise InputError(cycle_issues(steps) or "the steps' needs form a cycle")
    return order


def waves_of(steps: Sequence[Step], order: Sequence[str]) -> dict[str, int]:
    """Longest-path layering: a step runs one wave after the latest of its needs."""
    needs = {s.id: s.needs for s in steps}
    wave: dict[str, int] = {}
    for sid in order:
        wave[sid] = 1 + max((wave[n] for n in needs[sid]), default=-1)
    return wave


def critical_path(steps: Sequence[Step], order: Sequence[str]) -> tuple[tuple[str, ...], float]:
    """The longest chain by likely estimate; ties go to the smaller step id."""
    by_id = {s.id: s for s in steps}
    finish: dict[str, float] = {}
    came_from: dict[str, str | None] = {}
    for sid in order:
        best: str | None = None
        for n in sorted(by_id[sid].needs):
            if best is None or finish[n] > finish[best]:
                best = n
        came_from[sid] = best
        finish[sid] = (finish[best] if best else 0.0) + by_id[sid].estimate.likely_s
    return _path_to(finish, came_from)


def _path_to(
    finish: dict[str, float], came_from: dict[str, str | None]
) -> tuple[tuple[str, ...], float]:
    """The chain that ends last (ties: the smaller id), walked back from its end."""
    if not finish:
        return (), 0.0
    end = min(finish, key=lambda k: (-finish[k], k))
    path: list[str] = []
    node: str | None = end
    while node is not None:
        path.append(node)
        node = came_from[node]
    return tuple(reversed(path)), finish[end]


def layout(steps: Sequence[Step]) -> tuple[dict[str, int], tuple[str, ...], float]:
    """`waves_of` and `critical_path` of valid steps (no unknown need, no duplicate id).

    Neither depends on which topological order they are computed in; a playbook's own
    order usually is one (each step after its needs), and then a single walk over it
    does both without sorting the graph first.
    """
    wave: dict[str, int] = {}
    finish: dict[str, float] = {}
    came_from: dict[str, str | None] = {}
    for s in steps:
        top = -1
        best: str | None = None
        for n in sorted(s.needs):
            w = wave.get(n)
            if w is None:  # a need further down: sort the graph first
                order = topological_order(steps)
                return waves_of(steps, order), *critical_path(steps, order)
            if w > top:
                top = w
            if best is None or finish[n] > finish[best]:
                best = n
        wave[s.id] = top + 1
        came_from[s.id] = best
        finish[s.id] = (finish[best] if best else 0.0) + s.estimate.likely_s
    return wave, *_path_to(finish, came_from)

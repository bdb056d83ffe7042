"""`load_playbook(path) -> Playbook`: includes, defaults, vars, `phase:` needs, every problem.

Every file is read and every problem collected before one InputError is raised, so a user
fixes a playbook in one pass instead of one error per attempt.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from runbook.bulk import frozen, paused_gc
from runbook.errors import InputError, Issue
from runbook.load._includes import load_tree
from runbook.load._step_reads import step_reads
from runbook.load._steps import Draft
from runbook.load._values import slug_id
from runbook.model import Playbook, Step

DEFAULT_PHASE = "default"
PHASE_PREFIX = "phase:"


def load_playbook(path: Path | str) -> Playbook:
    """Load a playbook and its includes; raise one InputError listing every problem."""
    with paused_gc():
        return _load(path)


def _load(path: Path | str) -> Playbook:
    label = str(path)
    issues: list[Issue] = []
    tree = load_tree(Path(path), label, issues)
    steps = _steps(tree.drafts, issues)
    if not issues:
        steps, problems = step_reads(steps)
        issues.extend(problems)
    root = tree.root
    if root is not None and not tree.drafts and not issues:
        issues.append(
            Issue(
                root.location,
                "the playbook has no steps",
                "add `steps:` with at least one step, or `include:` a file that has some",
            )
        )
    if not issues:
        from runbook.load._step_extras import step_issues

        issues.extend(step_issues(steps, tree.vars))
    if issues or root is None:
        issues.extend(_template_syntax(tree.drafts))
        raise InputError(sort_issues(issues, tree.files))
    top = root.top
    playbook_id = top.get("playbook") or slug_id(Path(path).stem)
    return Playbook(
        id=playbook_id,
        title=top.get("title") or playbook_id,
        path=label,
        location=root.location,
        steps=tuple(steps),
        description=top.get("description", ""),
        rto_s=top.get("rto"),
        vars=tree.vars,
        files=tuple(tree.files),
    )


def _template_syntax(drafts: Sequence[Draft]) -> list[Issue]:
    """Template syntax errors, checked here only when other errors stop the playbook (a
    valid one has all its templates checked by `resolve`, names included)."""
    from runbook.load._template_check import TEMPLATE_FIELDS, syntax_issues

    return syntax_issues(
        (name, d.values[name], d.locations[name])
        for d in drafts
        for name in TEMPLATE_FIELDS
        if isinstance(d.values.get(name), str) and name in d.locations
    )


def sort_issues(issues: Sequence[Issue], files: Sequence[str]) -> list[Issue]:
    """Issues in reading order: file by file as loaded, then line and column."""
    rank = {f: i for i, f in enumerate(files)}

    def key(issue: Issue) -> tuple[int, int, int]:
        loc = issue.location
        if loc is None:
            return (-1, 0, 0)
        return (rank.get(loc.file, len(rank)), loc.line, loc.col)

    return sorted(issues, key=key)


def _steps(drafts: list[Draft], issues: list[Issue]) -> list[Step]:
    by_id: dict[str, Draft] = {}
    for draft in drafts:
        if draft.id is None:
            continue
        first = by_id.get(draft.id)
        if first is not None:
            issues.append(
                Issue(
                    draft.locations["id"],
                    f"duplicate step id '{draft.id}' (first at {first.locations['id']})",
                    "step ids must be unique across the playbook and its includes; rename one",
                )
            )
            continue
        by_id[draft.id] = draft
    phases: dict[str, list[str]] = {}
    for step_id, draft in by_id.items():
        phases.setdefault(draft.values.get("phase", DEFAULT_PHASE), []).append(step_id)
    unreadable = {d.bad_id for d in drafts if d.bad_id is not None}
    needs = {
        step_id: _needs(draft, by_id, phases, unreadable, issues)
        for step_id, draft in by_id.items()
    }
    # No cycle is possible when each step comes after all it needs, as usual.
    placed: set[str] = set()
    for step_id, own in needs.items():
        if not placed.issuperset(own):
            break
        placed.add(step_id)
    if len(placed) == len(needs):
        cycles = []
    else:
        cycles = find_cycles(list(by_id), {k: sorted(v) for k, v in needs.items()})
    for cycle in cycles:
        issues.append(
            Issue(
                by_id[cycle[0]].need_at[needs[cycle[0]][cycle[1]]],
                "dependency cycle: " + " → ".join(cycle),
                "each step needs the next one; remove one of these needs",
            )
        )
    return [
        _step(draft, tuple(sorted(needs[step_id])))
        for step_id, draft in by_id.items()
        if draft.kind is not None
    ]


def _needs(
    draft: Draft,
    by_id: Mapping[str, Draft],
    phases: Mapping[str, list[str]],
    unreadable: set[str],
    issues: list[Issue],
) -> dict[str, Any]:
    """Step ids this step needs (`phase:NAME` expanded), each with the key of where it
    was written in `draft.need_at`."""
    result: dict[str, Any] = {}
    for name, at in draft.needs:
        if name.startswith(PHASE_PREFIX):
            phase = name[len(PHASE_PREFIX) :].strip()
            members = phases.get(phase)
            if members is None:
                issues.append(
                    Issue(
                        draft.need_at[at],
                        f"unknown phase '{phase}' in `needs`",
                        _did_you_mean(phase, phases),
                    )
                )
                continue
            for member in members:
                # A step naming its own phase waits for the rest of it, not for itself.
                if member != draft.id:
                    result.setdefault(member, at)
        elif name in by_id:
            result.setdefault(name, at)
        elif name not in unreadable:
            hint = _did_you_mean(name, by_id)
            if name in phases and hint.startswith("known"):
                hint = f"did you mean 'phase:{name}'?"
            issues.append(Issue(draft.need_at[at], f"unknown step '{name}' in `needs`", hint))
    return result


def _did_you_mean(name: str, known: Mapping[str, Any]) -> str:
    close = difflib.get_close_matches(name, list(known), n=1)
    if close:
        return f"did you mean '{close[0]}'?"
    names = sorted(known)
    shown = ", ".join(names[:8]) + (", ..." if len(names) > 8 else "")
    return f"known: {shown}" if names else "there is nothing to name here yet"


def find_cycles(order: Sequence[str], edges: Mapping[str, Sequence[str]]) -> list[list[str]]:
    """Dependency cycles as paths `[a, b, c, a]`, at most one per set of steps involved.

    Iterative: a 10,000-step chain must not hit Python's recursion limit.
    """
    rank = {node: i for i, node in enumerate(order)}
    state: dict[str, int] = {}  # 1: on the current path, 2: finished
    cycles: list[list[str]] = []
    in_cycle: set[str] = set()
    for start in order:
        if start in state:
            continue
        state[start] = 1
        path = [start]
        where = {start: 0}
        stack = [iter(edges.get(start, ()))]
        while stack:
            nxt = next(stack[-1], None)
            if nxt is None:
                stack.pop()
                done = path.pop()
                del where[done]
                state[done] = 2
                continue
            seen = state.get(nxt)
            if seen is None:
                state[nxt] = 1
                where[nxt] = len(path)
                path.append(nxt)
                stack.append(iter(edges.get(nxt, ())))
            elif seen == 1:
                loop = path[where[nxt] :]
                if in_cycle.isdisjoint(loop):
                    in_cycle.update(loop)
                    first = min(range(len(loop)), key=lambda i: rank[loop[i]])
                    loop = loop[first:] + loop[:first]
                    cycles.append([*loop, loop[0]])
    return cycles


# A step field (as written) → the Step attribute it fills as it is. Missing fields keep
# the Step's defaults (None, False, or what the field's absence means).
_STEP_ATTRS = {
    "every": "every_s",
    "timeout": "timeout_s",
    "retry_delay": "retry_delay_s",
    **{
        name: name
        for name in [
            "retries",
            "on_failure",
            "idempotent",
            "estimate",
            "parallel",
            "serial",
            "max_fail",
            "min_ok",
            "fetch",
            "become",
            "become_user",
            "become_password",
            "env",
            "stdin",
            "doc",
            "title",
            "phase",
            "manual",
            "hosts",
            "run",
            "skip_if",
            "until",
            "verify",
            "owner",
            "output",
            "example",
            "input",
            "when",
            "chance",
            "run_once",
        ]
    },
}


def _step(draft: Draft, needs: tuple[str, ...]) -> Step:
    v = draft.values
    assert draft.id is not None and draft.kind is not None
    # One look at each field the step has, not one at each field a step may have.
    attrs = _STEP_ATTRS
    values: dict[str, Any] = {attrs[k]: x for k, x in v.items() if k in attrs}
    if "copy" in v:  # `src` is relative to the file that defines the step
        values["copy"] = replace(v["copy"], base=str(Path(draft.location.file).parent))
    values["id"] = draft.id
    if "title" not in values:
        values["title"] = draft.id
    if "phase" not in values:
        values["phase"] = DEFAULT_PHASE
    values["kind"] = draft.kind
    values["location"] = draft.location
    values["needs"] = needs
    values["field_locations"] = draft.locations
    return frozen(Step, values)

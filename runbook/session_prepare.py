"""What `run` and `rehearse` were asked, and the playbook resolved and planned for it.

Every problem with the request — playbook, inventory, variables, `--only`/`--from` — is
an InputError here, before a journal is opened or anything runs.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from runbook.errors import InputError, Issue
from runbook.model import Step
from runbook.plan import Plan, build_plan
from runbook.secrets import Redactor
from runbook.variables import inventory_secrets


@dataclass(frozen=True)
class RunRequest:
    """What `run` / `rehearse` were asked to do."""

    playbook: Path
    inventories: tuple[Path, ...] = ()
    limit: str | None = None
    only: tuple[str, ...] = ()
    from_step: str | None = None
    concurrency: int | None = None
    forks: int = 50
    step_gate: bool = False
    accept_new_host_keys: bool = False
    operator: str | None = None
    durations: Path | None = None  # rehearsal only
    speed: float | None = None  # rehearsal only; None: max
    seed: int | None = None
    interactive: bool = False


@dataclass(frozen=True)
class Prepared:
    """A resolved playbook ready to run."""

    resolved: Any
    plan: Plan
    steps: Mapping[str, Step]
    step_hosts: Mapping[str, tuple[str, ...]]
    values: Mapping[str, Any]
    redactor: Redactor
    skips: Mapping[str, str]


def _did_you_mean(name: str, ids: Sequence[str]) -> str:
    close = difflib.get_close_matches(name, list(ids), n=1)
    return f"did you mean '{close[0]}'?" if close else "see: runbook plan PLAYBOOK"


def _ancestors(plan: Plan, sid: str) -> set[str]:
    needs = {s.id: s.needs for s in plan.steps}
    seen: set[str] = set()
    todo = list(needs.get(sid, ()))
    while todo:
        n = todo.pop()
        if n not in seen:
            seen.add(n)
            todo.extend(needs.get(n, ()))
    return seen


def initial_skips(plan: Plan, only: Sequence[str], from_step: str | None) -> dict[str, str]:
    """Steps a new run journals as skipped: --only, --from, and --limit leaving no host.

    `--from STEP` skips what STEP depends on, transitively (taken as done already); STEP,
    everything after it and every independent branch run.
    """
    ids = [s.id for s in plan.steps]
    issues = [
        Issue(None, f"--only/--from: no step '{n}' in the playbook", _did_you_mean(n, ids))
        for n in [*only, *([from_step] if from_step else [])]
        if n not in ids
    ]
    if issues:
        raise InputError(issues)
    skips: dict[str, str] = {}
    if from_step:
        for sid in _ancestors(plan, from_step):
            skips[sid] = "from"
    if only:
        for sid in ids:
            if sid not in only:
                skips.setdefault(sid, "only")
    for s in plan.steps:
        if s.kind == "remote" and not s.hosts:
            skips.setdefault(s.id, "limit")
    return skips


def prepare(req: RunRequest, environ: Mapping[str, str], state: Path | None = None) -> Prepared:
    """Load, resolve and plan; every problem is an InputError before anything runs.

    With `state`, earlier runs of the playbook refine the planned P50/P90 journaled in
    `run_started`, as they refine the run's first ETA (and `runbook plan`).
    """
    from runbook.history import history_at
    from runbook.load.resolve import resolve
    from runbook.variables import resolve_vars

    if req.forks < 1:
        raise InputError("--forks must be at least 1")
    resolved = resolve(req.playbook, list(req.inventories), limit=req.limit)
    history = history_at(state, resolved.playbook.id) if state is not None else None
    plan = build_plan(resolved, concurrency=req.concurrency, history=history)
    playbook = resolved.playbook
    step_hosts = {k: tuple(v) for k, v in resolved.step_hosts.items()}
    variables = resolve_vars(playbook, environ)
    skips = initial_skips(plan, req.only, req.from_step)
    steps = {s.id: s for s in playbook.steps}
    return Prepared(
        resolved,
        plan,
        steps,
        step_hosts,
        variables.values,
        Redactor((*variables.secrets, *inventory_secrets(resolved.inventory.hosts))),
        skips,
    )


def run_options(req: RunRequest, seed: int | None, rehearsal: bool) -> dict[str, Any]:
    """`run_started.data.options`: what `resume` needs to run the same way again."""
    return {
        "concurrency": req.concurrency,
        "forks": req.forks,
        "limit": req.limit,
        "only": list(req.only),
        "from": req.from_step,
        "step": req.step_gate,
        "accept_new_host_keys": req.accept_new_host_keys,
        "speed": ("max" if req.speed is None else req.speed) if rehearsal else None,
        "seed": seed,
        "durations": str(req.durations.resolve()) if req.durations else None,
        "interactive": req.interactive,
    }

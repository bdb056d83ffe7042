"""What `run` and `rehearse` were asked, and the playbook resolved and planned for it.

Every problem with the request — playbook, inventory, variables, `--only`/`--from` — is
an InputError here, before a journal is opened or anything runs. `check` finds them all
without building the plan, whose planned P50/P90 (numpy, Monte Carlo) `plan_checked`
adds: `runbook run` connects to its first hosts in between.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from runbook.errors import InputError, Issue
from runbook.load import inventory_secrets
from runbook.model import Step, StepKind
from runbook.plan import Plan, build_plan, graph_issues, topological_order, waves_of
from runbook.secrets import Redactor

if TYPE_CHECKING:
    from runbook.forecast import History


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


class StepLike(Protocol):
    """What the start of a run reads of a step: a PlanStep, or a StepShape before the plan."""

    @property
    def id(self) -> str: ...
    @property
    def needs(self) -> tuple[str, ...]: ...
    @property
    def kind(self) -> StepKind: ...
    @property
    def hosts(self) -> tuple[str, ...]: ...
    @property
    def wave(self) -> int: ...


@dataclass(frozen=True)
class StepShape:
    """A step as its plan will show it, minus the estimates."""

    id: str
    needs: tuple[str, ...]
    kind: StepKind
    hosts: tuple[str, ...]
    wave: int


@dataclass(frozen=True)
class Checked:
    """A request found valid: resolved, its variables read, its skips known; not yet planned."""

    resolved: Any
    shapes: tuple[StepShape, ...]
    steps: Mapping[str, Step]
    step_hosts: Mapping[str, tuple[str, ...]]
    values: Mapping[str, Any]
    redactor: Redactor
    skips: Mapping[str, str]


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


def _ancestors(steps: Sequence[StepLike], sid: str) -> set[str]:
    needs = {s.id: s.needs for s in steps}
    seen: set[str] = set()
    todo = list(needs.get(sid, ()))
    while todo:
        n = todo.pop()
        if n not in seen:
            seen.add(n)
            todo.extend(needs.get(n, ()))
    return seen


def initial_skips(
    steps: Sequence[StepLike],
    only: Sequence[str],
    from_step: str | None,
    defined: Mapping[str, Step] | None = None,
) -> dict[str, str]:
    """Steps a new run journals as skipped: --only, --from, and --limit leaving no host.

    `--from STEP` skips what STEP depends on, transitively (taken as done already); STEP,
    everything after it and every independent branch run.
    """
    ids = [s.id for s in steps]
    issues = [
        Issue(None, f"--only/--from: no step '{n}' in the playbook", _did_you_mean(n, ids))
        for n in [*only, *([from_step] if from_step else [])]
        if n not in ids
    ]
    if issues:
        raise InputError(issues)
    skips: dict[str, str] = {}
    if from_step:
        for sid in _ancestors(steps, from_step):
            skips[sid] = "from"
    if only:
        for sid in ids:
            if sid not in only:
                skips.setdefault(sid, "only")
    defined = defined or {}
    for s in steps:
        step = defined.get(s.id)
        if s.kind == "remote" and not s.hosts and not (step and step.hosts_at_run_time):
            skips.setdefault(s.id, "limit")
    _check_reads_selected(skips, defined)
    return skips


def _check_reads_selected(skips: Mapping[str, str], defined: Mapping[str, Step]) -> None:
    """A step this run starts may not read one that --only/--from leaves out: nothing
    would be journaled for it to read."""
    issues = []
    for sid, step in defined.items():
        if sid in skips:
            continue
        for read in step.reads:
            why = skips.get(read)
            if why in ("only", "from"):
                issues.append(
                    Issue(
                        step.field_locations.get("when", step.location),
                        f"--{why}: step '{sid}' reads steps['{read}'], which this run skips",
                        f"add '{read}' to --only, or start --from a step before it",
                    )
                )
    if issues:
        raise InputError(issues)


def prepare(req: RunRequest, environ: Mapping[str, str], state: Path | None = None) -> Prepared:
    """Load, resolve and plan; every problem is an InputError before anything runs.

    With `state`, earlier runs of the playbook refine the planned P50/P90 journaled in
    `run_started`, as they refine the run's first ETA (and `runbook plan`).
    """
    from runbook.app._history import history_at

    checked = check(req, environ)
    playbook_id = checked.resolved.playbook.id
    history = history_at(state, playbook_id) if state is not None else None
    return plan_checked(checked, req, history)


def check(req: RunRequest, environ: Mapping[str, str]) -> Checked:
    """Everything `prepare` finds wrong with a request, in the same order, without a plan."""
    from runbook.load import resolve, resolve_vars

    if req.forks < 1:
        raise InputError("--forks must be at least 1")
    resolved = resolve(req.playbook, list(req.inventories), limit=req.limit)
    playbook = resolved.playbook
    issues = graph_issues(playbook.steps)
    if issues:
        raise InputError(issues)
    wave = waves_of(playbook.steps, topological_order(playbook.steps))  # cycles: InputError
    step_hosts = {k: tuple(v) for k, v in resolved.step_hosts.items()}
    shapes = tuple(
        StepShape(s.id, tuple(sorted(s.needs)), s.kind, step_hosts.get(s.id, ()), wave[s.id])
        for s in playbook.steps
    )
    variables = resolve_vars(playbook, environ)
    steps = {s.id: s for s in playbook.steps}
    skips = initial_skips(shapes, req.only, req.from_step, steps)
    return Checked(
        resolved,
        shapes,
        steps,
        step_hosts,
        variables.values,
        Redactor((*variables.secrets, *inventory_secrets(resolved.inventory.hosts))),
        skips,
    )


def plan_checked(checked: Checked, req: RunRequest, history: History | None) -> Prepared:
    """The plan of a checked request, its P50/P90 refined by `history` (earlier runs)."""
    plan = build_plan(checked.resolved, concurrency=req.concurrency, history=history)
    return Prepared(
        checked.resolved,
        plan,
        checked.steps,
        checked.step_hosts,
        checked.values,
        checked.redactor,
        checked.skips,
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

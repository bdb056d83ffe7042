"""The plan: dependency graph, parallel waves, critical path and planned P50/P90 (pure).

Same playbook and hosts in, same plan out, byte for byte: waves are sorted, ties on the
critical path are broken by step id, and the Monte Carlo uses a fixed seed. The planned
P50/P90 come from the run's own forecaster (runbook/forecast/_montecarlo.py) at t = 0, so
the plan and a run's first `eta` agree. The plan's JSON is stored in the journal
(`run_started.data.plan`), so everything after the start of a run can work from it alone.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Protocol, cast

from runbook.bulk import frozen, paused_gc
from runbook.errors import InputError
from runbook.model import Estimate, OnFailure, Playbook, Step, StepKind
from runbook.plan._graph import graph_issues, layout

if TYPE_CHECKING:
    import networkx as nx

    from runbook.forecast import History


class HasPlanInput(Protocol):
    """What `load.resolve.resolve` returns, as far as the plan cares."""

    @property
    def playbook(self) -> Playbook: ...

    @property
    def step_hosts(self) -> Mapping[str, Sequence[str]]: ...


def _estimate_json(e: Estimate) -> dict[str, Any]:
    return {
        "min_s": float(e.min_s),
        "likely_s": float(e.likely_s),
        "max_s": float(e.max_s),
        "given": e.given,
    }


@dataclass(frozen=True)
class PlanStep:
    """A step as the engine, the forecaster and the reports see it."""

    id: str
    title: str
    phase: str
    kind: StepKind
    needs: tuple[str, ...]
    hosts: tuple[str, ...]
    parallel: int | None
    timeout_s: float
    retries: int
    idempotent: bool
    on_failure: OnFailure
    owner: str | None
    estimate: Estimate
    wave: int
    # steps that decide: shown for what they are, counted by `chance` until decided
    when: str | None = None
    chance: float | None = None
    hosts_template: str | None = None  # `hosts:` rendered when the step starts
    doc: str | None = None  # a link shown with the step (in the JSON only when set)

    @property
    def conditional_in_full(self) -> bool:
        """A `when` without a `chance`: plan and forecast count it as if it runs."""
        return self.when is not None and self.chance is None

    def to_json(self) -> dict[str, Any]:
        found = {
            "id": self.id,
            "title": self.title,
            "phase": self.phase,
            "kind": self.kind,
            "needs": list(self.needs),
            "hosts": list(self.hosts),
            "parallel": self.parallel,
            "timeout_s": float(self.timeout_s),
            "retries": self.retries,
            "idempotent": self.idempotent,
            "on_failure": self.on_failure,
            "owner": self.owner,
            "estimate": _estimate_json(self.estimate),
            "wave": self.wave,
        }
        # Only steps that decide carry these: other plans keep their bytes.
        if self.when is not None:
            found["when"] = self.when
            found["chance"] = self.chance
        if self.hosts_template is not None:
            found["hosts_template"] = self.hosts_template
        if self.doc:
            found["doc"] = self.doc
        return found

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> PlanStep:
        e = data["estimate"]
        return cls(
            id=str(data["id"]),
            title=str(data["title"]),
            phase=str(data["phase"]),
            kind=cast(StepKind, data["kind"]),
            needs=tuple(data["needs"]),
            hosts=tuple(data["hosts"]),
            parallel=data["parallel"],
            timeout_s=float(data["timeout_s"]),
            retries=int(data["retries"]),
            idempotent=bool(data["idempotent"]),
            on_failure=cast(OnFailure, data["on_failure"]),
            owner=data["owner"],
            estimate=Estimate(
                float(e["min_s"]), float(e["likely_s"]), float(e["max_s"]), bool(e["given"])
            ),
            wave=int(data["wave"]),
            when=data.get("when"),
            chance=None if data.get("chance") is None else float(data["chance"]),
            hosts_template=data.get("hosts_template"),
            doc=data.get("doc"),
        )


@dataclass(frozen=True)
class Plan:
    """The whole restore, ordered; `steps` keep the playbook's order, `waves` the run order."""

    playbook: str
    title: str
    rto_s: float | None
    steps: tuple[PlanStep, ...]
    waves: tuple[tuple[str, ...], ...]
    phases: tuple[str, ...]
    critical_path: tuple[str, ...]
    critical_path_s: float
    p50_s: float
    p90_s: float
    default_estimates: tuple[str, ...]

    def step(self, step_id: str) -> PlanStep:
        """The step with this id (KeyError if none)."""
        return self.by_id()[step_id]

    def by_id(self) -> dict[str, PlanStep]:
        return {s.id: s for s in self.steps}

    def dependents(self) -> dict[str, tuple[str, ...]]:
        """For each step, the steps that need it directly (sorted)."""
        out: dict[str, list[str]] = {s.id: [] for s in self.steps}
        for s in self.steps:
            for n in s.needs:
                out[n].append(s.id)
        return {k: tuple(sorted(v)) for k, v in out.items()}

    def graph(self) -> nx.DiGraph:
        """The dependency graph: an edge need → step, node attribute `step` (a PlanStep)."""
        import networkx as nx

        g = nx.DiGraph()
        for s in self.steps:
            g.add_node(s.id, step=s)
        for s in self.steps:
            g.add_edges_from((n, s.id) for n in s.needs)
        return g

    @property
    def host_count(self) -> int:
        """Distinct hosts the plan touches."""
        return len({h for s in self.steps for h in s.hosts})

    def to_json(self) -> dict[str, Any]:
        """JSON-plain data (docs/ARCHITECTURE.md); `json.dumps(..., sort_keys=True)` is stable."""
        # Durations are always floats: `300` and `300.0` must not make two different plans.
        return {
            "playbook": self.playbook,
            "title": self.title,
            "rto_s": None if self.rto_s is None else float(self.rto_s),
            "steps": [s.to_json() for s in self.steps],
            "waves": [list(w) for w in self.waves],
            "phases": list(self.phases),
            "critical_path": list(self.critical_path),
            "critical_path_s": float(self.critical_path_s),
            "p50_s": float(self.p50_s),
            "p90_s": float(self.p90_s),
            "default_estimates": list(self.default_estimates),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Plan:
        """The inverse of `to_json` (e.g. read back from `run_started.data.plan`)."""
        rto = data["rto_s"]
        return cls(
            playbook=str(data["playbook"]),
            title=str(data["title"]),
            rto_s=None if rto is None else float(rto),
            steps=tuple(PlanStep.from_json(s) for s in data["steps"]),
            waves=tuple(tuple(w) for w in data["waves"]),
            phases=tuple(data["phases"]),
            critical_path=tuple(data["critical_path"]),
            critical_path_s=float(data["critical_path_s"]),
            p50_s=float(data["p50_s"]),
            p90_s=float(data["p90_s"]),
            default_estimates=tuple(data["default_estimates"]),
        )


def build_plan(
    source: Playbook | HasPlanInput,
    step_hosts: Mapping[str, Sequence[str]] | None = None,
    concurrency: int | None = None,
    history: History | None = None,
) -> Plan:
    """Order a playbook into a plan: `build_plan(resolved)` or `build_plan(playbook, hosts)`.

    `history` (earlier runs of the playbook) refines the planned P50/P90 as it refines a
    run's ETA.
    """
    if isinstance(source, Playbook):
        playbook, hosts = source, step_hosts or {}
    else:
        playbook, hosts = source.playbook, step_hosts or source.step_hosts
    if concurrency is not None and concurrency < 1:
        raise InputError("--concurrency must be at least 1")
    # Acyclic objects only, as in loading: ~50 ms of collections at 10,000 steps.
    with paused_gc():
        return _build(playbook, hosts, concurrency, history)


def _build(
    playbook: Playbook,
    hosts: Mapping[str, Sequence[str]],
    concurrency: int | None,
    history: History | None,
) -> Plan:
    steps = playbook.steps
    issues = graph_issues(steps)
    if issues:
        raise InputError(issues)
    wave_of, path, path_s = layout(steps)
    waves: dict[int, list[str]] = {}
    for sid, w in wave_of.items():
        waves.setdefault(w, []).append(sid)
    wave_list = tuple(tuple(sorted(waves[w])) for w in sorted(waves))
    plan = Plan(
        playbook=playbook.id,
        title=playbook.title,
        rto_s=playbook.rto_s,
        steps=tuple(_plan_step(s, hosts.get(s.id, ()), wave_of[s.id]) for s in steps),
        waves=wave_list,
        phases=_phases_in_run_order(steps, wave_of),
        critical_path=path,
        critical_path_s=path_s,
        p50_s=0.0,
        p90_s=0.0,
        default_estimates=tuple(sorted(s.id for s in steps if not s.estimate.given)),
    )
    p50, p90 = planned_quantiles(plan, history, concurrency)
    return replace(plan, p50_s=p50, p90_s=p90)


def planned_quantiles(
    plan: Plan, history: History | None = None, concurrency: int | None = None
) -> tuple[float, float]:
    """(P50, P90) seconds of the whole restore: the forecaster's answer before any run."""
    if not plan.steps:
        return 0.0, 0.0
    from runbook.forecast import planned  # numpy: only when a plan is actually built

    # Only what the forecaster reads: a 10,000-step plan's host lists would cost more
    # to copy than the forecast itself.
    light = {
        "playbook": plan.playbook,
        "rto_s": plan.rto_s,
        "phases": list(plan.phases),
        "steps": [
            {
                "id": s.id,
                "phase": s.phase,
                "kind": s.kind,
                "needs": s.needs,
                "wave": s.wave,
                "estimate": _estimate_json(s.estimate),
                **({"when": s.when, "chance": s.chance} if s.when is not None else {}),
            }
            for s in plan.steps
        ],
    }
    # The plan's critical path is its own (likely durations), not the forecast's.
    f = planned(light, history, concurrency, critical_path=False)
    # Whole seconds: stable output bytes even if the last float bits differ by platform.
    return float(round(f.remaining_p50_s)), float(round(f.remaining_p90_s))


def _phases_in_run_order(steps: Sequence[Step], wave_of: Mapping[str, int]) -> tuple[str, ...]:
    """Phases by the first wave they appear in, then by the playbook's order.

    Not simply the playbook's order: included files' steps may come first in the file,
    and a table or a diagram should read power → storage → … as the restore runs.
    """
    first: dict[str, tuple[int, int]] = {}
    for index, s in enumerate(steps):
        wave = wave_of[s.id]
        known = first.get(s.phase)
        if known is None or wave < known[0]:  # an equal wave: the earlier index stays
            first[s.phase] = (wave, index)
    return tuple(sorted(first, key=first.__getitem__))


def _plan_step(s: Step, hosts: Sequence[str], wave: int) -> PlanStep:
    return frozen(
        PlanStep,
        {
            "id": s.id,
            "title": s.title,
            "phase": s.phase,
            "kind": s.kind,
            "needs": tuple(sorted(s.needs)),
            "hosts": tuple(hosts),
            "parallel": s.parallel,
            "timeout_s": s.timeout_s,
            "retries": s.retries,
            "idempotent": s.idempotent,
            "on_failure": s.on_failure,
            "owner": s.owner,
            "estimate": s.estimate,
            "wave": wave,
            "when": s.when,
            "chance": s.chance,
            "hosts_template": s.hosts if s.hosts_at_run_time else None,
            "doc": s.doc,
        },
    )

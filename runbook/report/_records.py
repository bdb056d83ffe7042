"""The records a report timeline is made of: per step, per host, per decision, per ETA.

Steps and hosts are views of the fold's state (runbook/report/_timeline.py builds them);
nothing here decides where a step stands.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from runbook.report._schedule import PlannedSlot

LOCAL = ""  # the host key of a local step's command


@dataclass
class HostRecord:
    """What happened to one host of one step over its attempts (the latest one's result)."""

    host: str
    start: float | None = None  # its first start
    end: float | None = None  # its latest outcome
    result: str = "not run"  # not run | running | succeeded | already done | failed
    attempts: int = 0


@dataclass
class Segment:
    """One stretch of a step's execution: from a start to its outcome."""

    start: float
    end: float | None = None
    outcome: str = "running"  # succeeded | failed | skipped | interrupted | running


@dataclass
class StepRecord:
    """One step: plan facts, outcome, and the people involved."""

    id: str
    title: str = ""
    phase: str = ""
    kind: str = ""
    needs: tuple[str, ...] = ()
    planned_hosts: tuple[str, ...] = ()
    owner: str | None = None
    doc: str | None = None
    estimate_s: float | None = None
    planned: PlannedSlot | None = None
    status: str = "pending"
    start: float | None = None
    end: float | None = None
    attempts: int = 0
    operator: str | None = None
    note: str | None = None
    blocked_by: tuple[str, ...] = ()
    blocked_at: float | None = None
    wait_s: float | None = None
    work_s: float | None = None
    segments: list[Segment] = field(default_factory=list)
    hosts: dict[str, HostRecord] = field(default_factory=dict)

    @property
    def host_names(self) -> list[str]:
        """Planned hosts first (inventory order), then any the journal adds."""
        extra = [h for h in self.hosts if h not in self.planned_hosts]
        return [*self.planned_hosts, *extra]


@dataclass(frozen=True)
class Entry:
    """One line of the human timeline."""

    ts: float
    step: str | None
    host: str | None
    kind: str  # run | step | host | decision | failure | eta
    text: str
    operator: str | None = None
    note: str | None = None


@dataclass(frozen=True)
class Failure:
    """One failed attempt, kept even when a later attempt or a retry succeeded."""

    ts: float
    step: str
    host: str | None  # None: the step itself (a manual "fail", a local command)
    attempt: int
    reason: str
    exit_code: int | None
    message: str
    output: str
    truncated: bool


@dataclass(frozen=True)
class EtaPoint:
    ts: float
    p50: float
    p90: float
    rto_risk: float | None
    method: str | None


@dataclass
class Timeline:
    """Everything the reports draw, built by `build_timeline`."""

    run_id: str = ""
    playbook: str = ""
    title: str = ""
    mode: str = ""
    operator: str | None = None
    playbook_path: str | None = None
    rto_s: float | None = None
    rto_warning_at: float | None = None  # the `eta` that first gave P(miss RTO) over 50%
    plan_p50_s: float | None = None
    plan_p90_s: float | None = None
    critical_path: tuple[str, ...] = ()
    started: float | None = None
    finished: float | None = None
    last_ts: float | None = None
    status: str = "running"  # running | interrupted | succeeded | failed | aborted
    steps: dict[str, StepRecord] = field(default_factory=dict)
    phases: list[str] = field(default_factory=list)
    entries: list[Entry] = field(default_factory=list)
    etas: list[EtaPoint] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)
    event_count: int = 0
    head: str = ""

    @property
    def decisions(self) -> list[Entry]:
        return [e for e in self.entries if e.kind == "decision"]

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for s in self.steps.values():
            out[s.status] = out.get(s.status, 0) + 1
        return out

    @property
    def rto_deadline(self) -> float | None:
        if self.rto_s is None or self.started is None:
            return None
        return self.started + self.rto_s

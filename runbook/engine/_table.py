"""Every step's place in the run, as the engine tracks it: the one owner of step status.

`StepTable` holds each step's `StepRun`, the ready queue (wave, id: deterministic order),
which failed steps block which others, and how many steps are busy. A step's status is
changed only through `StepTable.set`, so the busy count and the queue can never drift
from the statuses.
"""

from __future__ import annotations

import heapq
from collections import deque
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from runbook.engine._attempt import Finished, Mode
from runbook.engine._jobs import Job
from runbook.model import Step
from runbook.plan import Plan, PlanStep

# Statuses in which a step holds the run open (something will still happen to it).
ACTIVE = frozenset({"running", "waiting", "retry_wait", "gate", "ask"})
DONE_OK = frozenset({"succeeded", "skipped"})


@dataclass(eq=False)
class StepRun:
    """The engine's view of one step (its status is set by `StepTable.set` only)."""

    plan: PlanStep
    step: Step
    _status: str = "pending"  # pending ready gate ask running retry_wait waiting resuming
    attempt: int = 0  # + succeeded failed skipped blocked, elsewhere (another engine's)
    failures: int = 0  # failed attempts counted against `retries`
    started: float | None = None
    hosts_ok: set[str | None] = field(default_factory=set)
    todo: deque[str | None] = field(default_factory=deque)
    active: dict[str | None, Job] = field(default_factory=dict)
    away: set[str | None] = field(default_factory=set)  # team mode: offered to another engine
    failed: dict[str | None, Finished] = field(default_factory=dict)
    modes: dict[str | None, Mode] = field(default_factory=dict)  # resume: per-host start
    unmet: int = 0  # needs not yet succeeded or skipped
    blocked_by: set[str] = field(default_factory=set)
    gate_passed: bool = False
    uncertain: list[str | None] = field(default_factory=list)  # resume: hosts to ask about
    # decided when it became ready (engine/_deciding.py): `when`, run-time hosts, run_once
    decided: bool = False
    chosen: tuple[str, ...] | None = None  # its hosts, when decided at its start
    pattern: str | None = None  # a templated `hosts:` as rendered
    tolerated: bool = False  # failed with `on_failure: continue`
    input: dict[str, Any] | None = None  # a manual step's `input`, as rendered when it waited
    quota: Any = None  # _batches.Quota: serial, max_fail, min_ok (None: none of them)

    @property
    def status(self) -> str:
        return self._status

    @property
    def id(self) -> str:
        return self.plan.id

    @property
    def hosts(self) -> tuple[str | None, ...]:
        if self.plan.kind != "remote":
            return (None,)
        return self.chosen if self.chosen is not None else self.plan.hosts

    @property
    def met(self) -> bool:
        """Lets its dependents start: succeeded, skipped, or a tolerated failure."""
        return self.status in DONE_OK or (self.status == "failed" and self.tolerated)


class StepTable:
    """Steps by id, the ready queue, the blocked index and the busy count."""

    def __init__(self, plan: Plan, steps: Mapping[str, Step]) -> None:
        self.runs: dict[str, StepRun] = {
            p.id: StepRun(p, steps[p.id], unmet=len(p.needs)) for p in plan.steps
        }
        self.dependents = plan.dependents()
        self.order = {p.id: (p.wave, p.id) for p in plan.steps}
        self.active = 0  # steps in an ACTIVE status: the loop never scans thousands to know
        self.elsewhere = 0  # steps another engine works on (team mode: engine/_claims.py)
        self._ready: list[tuple[int, str]] = []
        self._blocked_index: dict[str, set[str]] = {}  # root → steps it blocks

    def __getitem__(self, sid: str) -> StepRun:
        return self.runs[sid]

    def __iter__(self) -> Iterator[StepRun]:
        return iter(self.runs.values())

    def get(self, sid: str) -> StepRun | None:
        return self.runs.get(sid)

    def in_order(self) -> list[StepRun]:
        """Every step, in plan order (wave, then id)."""
        return sorted(self.runs.values(), key=lambda r: self.order[r.id])

    def set(self, run: StepRun, status: str) -> None:
        """The one place a step's status changes."""
        self.active += (status in ACTIVE) - (run.status in ACTIVE)
        self.elsewhere += (status == "elsewhere") - (run.status == "elsewhere")
        run._status = status
        if status == "ready":
            heapq.heappush(self._ready, self.order[run.id])

    # -- ready ----------------------------------------------------------------------------

    def has_ready(self) -> bool:
        while self._ready and self.runs[self._ready[0][1]].status != "ready":
            heapq.heappop(self._ready)
        return bool(self._ready)

    def peek_ready(self) -> StepRun:
        """The first ready step, left in the queue (call `has_ready` first)."""
        return self.runs[self._ready[0][1]]

    def pop_ready(self) -> StepRun:
        """The first ready step in plan order (call `has_ready` first)."""
        return self.runs[heapq.heappop(self._ready)[1]]

    def ready_if_free(self, run: StepRun) -> None:
        """A pending step whose needs are all met becomes ready."""
        if run.status == "pending" and run.unmet == 0:
            self.set(run, "ready")

    # -- blocks ---------------------------------------------------------------------------

    def block_from(self, root: str) -> list[StepRun]:
        """Block every not-yet-started step downstream of `root`; the newly blocked ones."""
        newly: list[StepRun] = []
        todo = list(self.dependents.get(root, ()))
        seen: set[str] = set()
        while todo:
            sid = todo.pop(0)
            if sid in seen:
                continue
            seen.add(sid)
            run = self.runs[sid]
            if run.status in ("pending", "ready", "blocked"):
                run.blocked_by.add(root)
                self._blocked_index.setdefault(root, set()).add(sid)
                if run.status != "blocked":
                    self.set(run, "blocked")
                    newly.append(run)
                todo.extend(self.dependents.get(sid, ()))
        return newly

    def release(self, sid: str) -> None:
        """`sid` succeeded or was skipped: its blocks lift and its dependents may start."""
        self.unblock(sid)
        for d in self.dependents.get(sid, ()):
            run = self.runs[d]
            run.unmet -= 1
            self.ready_if_free(run)

    def unblock(self, root: str) -> None:
        """`root` no longer blocks anything: steps blocked only by it are pending again."""
        for sid in sorted(self._blocked_index.pop(root, set())):
            run = self.runs[sid]
            run.blocked_by.discard(root)
            if run.status == "blocked" and not run.blocked_by:
                self.set(run, "pending")
                self.ready_if_free(run)

    def clear_blocks(self, run: StepRun) -> None:
        """`run` is no longer blocked by anything (an operator retried or skipped it)."""
        for root in run.blocked_by:
            self._blocked_index.get(root, set()).discard(run.id)
        run.blocked_by.clear()

    def restore_blocks(self, run: StepRun, roots: tuple[str, ...]) -> None:
        """Resume: `run` was blocked by `roots` when the engine stopped."""
        run.blocked_by = set(roots)
        for root in roots:
            self._blocked_index.setdefault(root, set()).add(run.id)
        self.set(run, "blocked")

    def count_unmet(self) -> None:
        """Resume: each step's needs not yet succeeded or skipped, from the statuses."""
        for run in self.runs.values():
            run.unmet = sum(1 for n in run.plan.needs if not self.runs[n].met)

"""Where one step stands within a run (built by the fold in runbook/events/_fold.py).

Manual steps keep the operator's waiting time apart from the work (SPEC §5), because
estimates must learn from the work alone:

- `wait_s` runs from `manual_waiting` until someone claims the step (`manual_claimed`);
- `work_s` runs from the claim to the answer.
- An answer without a claim counts the whole span as work and no wait (`claimed: false`
  in the answer). We cannot tell when the operator started; counting it as wait would
  teach the estimates that the step takes no time at all, while counting it as work errs
  on the long side, which is the honest side for an ETA. `claim` exists to do better.

`manual_times` holds that rule; the engine's prompt and `runbook confirm` both use it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from runbook.events._host_state import HostState

STEP_STATUSES = (
    "pending",
    "running",
    "waiting",  # a manual step nobody has claimed yet
    "claimed",
    "succeeded",
    "failed",
    "skipped",
    "blocked",
)
FINISHED_STEP = frozenset({"succeeded", "failed", "skipped"})
FINISHED_RUN = frozenset({"succeeded", "failed", "aborted"})


@dataclass
class Attempt:
    """One attempt of a step, from its start to its outcome: the history reports draw."""

    number: int
    started: float
    life: int  # the engine life it started in (runbook/events/_host_state.py)
    hosts: dict[str, HostState] = field(default_factory=dict)  # its hosts, as they ended
    listed: tuple[str, ...] = ()  # the hosts its step_started named
    finished: float | None = None
    finished_life: int | None = None
    # running, succeeded, failed, skipped; retrying: it failed and the step tries again;
    # abandoned: a new attempt started before it ended (its engine stopped during it)
    outcome: str = "running"


@dataclass
class Expectation:
    """An operator's word on how much longer a step takes (`runbook expect`)."""

    remaining_s: float
    at: float
    operator: str | None = None
    note: str | None = None

    def remaining_at(self, now: float) -> float:
        """What is left of the expectation at `now` (never negative)."""
        return max(0.0, self.remaining_s - (now - self.at))


@dataclass
class HostResult:
    """What a later step may read of one host's outcome (`steps['x'].results`)."""

    status: str  # succeeded, failed, skipped
    rc: int | None = None
    stdout: str | None = None  # None: not journaled (the step is read by no one)
    stdout_cut: bool = False  # past the 64 KiB kept: stdout and value are not readable
    value: Any = None


@dataclass
class StepState:
    """Where one step stands."""

    id: str
    title: str = ""
    phase: str = ""
    kind: str = "remote"
    needs: tuple[str, ...] = ()
    hosts: tuple[str, ...] = ()  # planned hosts
    estimate: Mapping[str, Any] = field(default_factory=dict)  # plan JSON estimate
    owner: str | None = None
    doc: str | None = None  # the step's link (docs/playbook.md `doc`)
    planned: bool = True  # False: the journal names a step its plan does not (damaged, older)
    status: str = "pending"
    attempts: int = 0
    started: float | None = None  # first start
    attempt_started: float | None = None  # latest attempt's start
    finished: float | None = None
    duration_s: float | None = None
    host_states: dict[str, HostState] = field(default_factory=dict)  # the latest attempt's
    hosts_done: set[str] = field(default_factory=set)  # succeeded or skipped, in any attempt
    history: list[Attempt] = field(default_factory=list)  # every attempt, oldest first
    failures: int = 0  # failed attempts counted against `retries` (an operator retry resets)
    retry_due: float | None = None  # a failed attempt waits until then for its retry
    failed_hosts: tuple[str, ...] = ()
    reason: str | None = None  # why it failed, or why it was skipped
    blocked_by: tuple[str, ...] = ()  # failed steps upstream
    blocked_at: float | None = None  # when it was blocked (while it is)
    retry_pending: bool = False  # operator_retry recorded, not started again yet
    # manual steps
    instructions: str | None = None
    waiting_since: float | None = None
    claimed_by: str | None = None
    claimed_at: float | None = None
    answer: str | None = None  # done, skip, fail
    answered_at: float | None = None
    wait_s: float | None = None
    work_s: float | None = None
    # the last operator who acted on the step (answer, skip, retry) and their note
    operator: str | None = None
    note: str | None = None
    expect: Expectation | None = None
    # steps that decide (docs/playbook.md): what later steps may read of this one
    selected: tuple[str, ...] = ()  # the hosts its first attempt started on, in order
    pattern: str | None = None  # `hosts:` as rendered when it started (templated hosts)
    results: dict[str, HostResult] = field(default_factory=dict)  # host → its last outcome
    value: Any = None  # a manual step's `input` answer
    input: Mapping[str, Any] | None = None  # the rendered `input` it waits with
    when: str | None = None  # the `when` that skipped it
    tolerated: bool = False  # failed with `on_failure: continue`: dependents went on

    @property
    def retry_wait(self) -> bool:
        """A failed attempt waits for the next one (`retries`, `retry_delay`)."""
        return self.retry_due is not None

    @property
    def finished_ok(self) -> bool:
        """Succeeded, skipped, or failed with `on_failure: continue`: what lets dependents start."""
        return self.status in ("succeeded", "skipped") or (
            self.status == "failed" and self.tolerated
        )

    def elapsed(self, now: float) -> float:
        """Seconds since the latest attempt started (to its end if it ended)."""
        start = self.attempt_started or self.started or self.waiting_since
        if start is None:
            return 0.0
        return max(0.0, (self.finished or now) - start)


def manual_times(step: StepState, now: float) -> tuple[float, float, bool]:
    """(wait_s, work_s, claimed) of a manual step answered at `now` (module docstring)."""
    since = step.waiting_since if step.waiting_since is not None else now
    if step.claimed_at is not None:
        claimed = max(step.claimed_at, since)
        return claimed - since, max(0.0, now - claimed), True
    return 0.0, max(0.0, now - since), False


@dataclass
class PhaseProgress:
    """Progress of one phase."""

    name: str
    total: int = 0
    done: int = 0  # succeeded or skipped
    counts: dict[str, int] = field(default_factory=dict)

"""What the console shows of one moment of a run.

`board_of(state, now, ...)` copies out of the fold what the screen needs into frozen
values: the engine thread builds one at most once a second and the screen thread draws it
(runbook/present/_draw.py), so the screen never reads a RunState the engine is changing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from runbook.clock import parse_iso
from runbook.events import RunState, StepState
from runbook.report import failure_text
from runbook.visible import visible

ACTIVE = ("running", "waiting", "claimed")
TAIL_SHOWN = 3  # a failed host's last output lines on the board
ROWS = 30  # active steps listed; more than a screen holds is a count (and costs a draw)


@dataclass(frozen=True)
class Eta:
    """The forecast against the RTO, as absolute times (seconds since the epoch)."""

    p50: float
    p90: float
    risk: float | None
    first_p50: float  # the run's first forecast: the trend is measured from it
    previous_p50: float  # the forecast before this one
    warned_at: float | None = None  # when P(miss RTO) first passed 50% (the RTO warning)


@dataclass(frozen=True)
class PhaseRow:
    name: str
    done: int
    total: int
    extra: str  # "1 running, 1 failed"


@dataclass(frozen=True)
class StepRow:
    id: str
    status: str
    where: str  # "3/5" hosts done, or the step's kind
    elapsed_s: float
    estimate_s: float
    last: str  # the last output line, or who it waits for


@dataclass(frozen=True)
class HostFailure:
    host: str
    why: str
    tail: tuple[str, ...]


@dataclass(frozen=True)
class Failure:
    step: str
    reason: str
    holds_up: tuple[str, ...]
    hosts: tuple[HostFailure, ...]


@dataclass(frozen=True)
class Board:
    run_id: str
    playbook: str
    title: str
    mode: str
    status: str  # running, succeeded, failed, aborted, interrupted
    started: float | None
    now: float
    rto_s: float | None
    eta: Eta | None
    phases: tuple[PhaseRow, ...]
    active: tuple[StepRow, ...]
    finished: tuple[StepRow, ...]  # the latest to end, newest first
    failures: tuple[Failure, ...]
    counts: tuple[tuple[str, int], ...]
    more_active: int = 0  # active steps not listed (past ROWS)


def _tail(text: str, n: int) -> tuple[str, ...]:
    lines = [visible(ln) for ln in text.splitlines() if ln.strip()]
    return tuple(lines[-n:])


def _row(s: StepState, now: float, last_lines: Mapping[str, str]) -> StepRow:
    done = sum(1 for h in s.host_states.values() if h.status in ("succeeded", "skipped"))
    where = f"{done}/{len(s.host_states)}" if s.kind == "remote" and s.host_states else s.kind
    if s.status in ("waiting", "claimed"):
        last = f"claimed by {s.claimed_by}" if s.claimed_by else "waits for an operator"
    elif s.status == "running":
        last = last_lines.get(s.id, "")
    else:
        last = s.reason or s.status
    est = float(s.estimate.get("likely_s", 0) or 0)
    return StepRow(s.id, s.status, where, s.elapsed(now), est, last)


def _failure(state: RunState, s: StepState) -> Failure:
    hosts = []
    for h in s.host_states.values():
        if h.status != "failed":
            continue
        why = failure_text(h.reason, h.message, h.exit_code)
        hosts.append(HostFailure(h.name or "this machine", why, _tail(h.tail, TAIL_SHOWN)))
    return Failure(s.id, s.reason or "failed", tuple(state.holds_up(s.id)), tuple(hosts))


def _eta(state: RunState, first: float | None, previous: float | None) -> Eta | None:
    eta = state.eta
    if not eta:
        return None
    p50, p90 = parse_iso(str(eta["p50"])), parse_iso(str(eta["p90"]))
    risk = eta.get("rto_risk")
    return Eta(
        p50,
        p90,
        float(risk) if isinstance(risk, (int, float)) else None,
        first if first is not None else p50,
        previous if previous is not None else p50,
        state.rto_warning_at,
    )


def board_of(
    state: RunState,
    now: float,
    last_lines: Mapping[str, str] | None = None,
    first_p50: float | None = None,
    previous_p50: float | None = None,
    recent: int = 5,
) -> Board:
    """Copy out of the fold what the console draws (called on the engine's thread)."""
    last_lines = last_lines or {}
    phases = tuple(
        PhaseRow(
            p.name or "-",
            p.done,
            p.total,
            ", ".join(
                f"{n} {k}"
                for k, n in sorted(p.counts.items())
                if k not in ("succeeded", "skipped", "pending") and n
            ),
        )
        for p in state.phases()
    )
    busy = [s for s in state.steps.values() if s.status in ACTIVE]
    active = tuple(_row(s, now, last_lines) for s in busy[:ROWS])
    ended = sorted(
        (s for s in state.steps.values() if s.finished is not None and s.status not in ACTIVE),
        key=lambda s: s.finished or 0.0,
        reverse=True,
    )
    finished = tuple(_row(s, now, last_lines) for s in ended[:recent])
    failures = tuple(_failure(state, s) for s in state.with_status("failed"))
    counts = tuple((k, n) for k, n in state.counts().items() if n)
    status = state.result or state.status
    return Board(
        state.run_id,
        state.playbook,
        state.title,
        state.mode,
        status,
        state.started,
        now,
        state.rto_s,
        _eta(state, first_p50, previous_p50),
        phases,
        active,
        finished,
        failures,
        counts,
        max(0, len(busy) - ROWS),
    )

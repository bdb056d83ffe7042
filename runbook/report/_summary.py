"""Figures every report agrees on: phase progress, the RTO verdict, the ETA's moves."""

from __future__ import annotations

from dataclasses import dataclass

from runbook.durations import format_duration
from runbook.report._mdtext import percent, utc
from runbook.report._timeline import EtaPoint, StepRecord, Timeline

DONE = ("succeeded", "skipped")
ACTIVE = ("running", "waiting", "claimed")


@dataclass(frozen=True)
class PhaseRow:
    phase: str
    steps: tuple[StepRecord, ...]
    start: float | None
    end: float | None  # only once every step of the phase is done

    def count(self, *statuses: str) -> int:
        return sum(1 for s in self.steps if s.status in statuses)

    @property
    def state(self) -> str:
        n = len(self.steps)
        if self.count("succeeded") == n:
            return "back"
        if self.count(*DONE) == n:
            return "done (with skips)"
        if self.count("failed", "blocked"):
            return "needs a decision"
        if self.count(*ACTIVE) or self.count(*DONE):
            return "in progress"
        return "not started"


def step_order(tl: Timeline) -> list[StepRecord]:
    """Steps grouped by phase, phases and steps in the order the plan has them start."""
    index = {sid: i for i, sid in enumerate(tl.steps)}

    def start(s: StepRecord) -> float:
        if s.planned is not None:
            return s.planned.start_s
        return (s.start - tl.started) if s.start is not None and tl.started else float("inf")

    phase_start: dict[str, float] = {}
    for s in tl.steps.values():
        phase_start[s.phase] = min(phase_start.get(s.phase, float("inf")), start(s))
    phase_rank = {p: i for i, p in enumerate(dict.fromkeys([*tl.phases, *phase_start]))}
    return sorted(
        tl.steps.values(),
        key=lambda s: (phase_start[s.phase], phase_rank[s.phase], start(s), index[s.id]),
    )


def phase_rows(tl: Timeline) -> list[PhaseRow]:
    """Phases in plan order (then any the journal adds), with their steps."""
    order = list(dict.fromkeys(s.phase for s in step_order(tl)))
    out = []
    for phase in order:
        steps = tuple(s for s in tl.steps.values() if s.phase == phase)
        if not steps:
            continue
        start = min((s.start for s in steps if s.start is not None), default=None)
        ends = [s.end for s in steps if s.end is not None and s.status in DONE]
        end = max(ends) if len(ends) == len(steps) else None
        out.append(PhaseRow(phase, steps, start, end))
    return out


def elapsed(tl: Timeline) -> float | None:
    """Run duration so far (to the finish, else to the last event)."""
    end = tl.finished if tl.finished is not None else tl.last_ts
    return None if tl.started is None or end is None else end - tl.started


def rto_verdict(tl: Timeline) -> str:
    """`met with 2h11m to spare`, `missed by 40m`, `2h left`, or `no RTO set`."""
    deadline = tl.rto_deadline
    if deadline is None or tl.rto_s is None:
        return "no RTO set"
    rto = format_duration(tl.rto_s)
    if tl.finished is not None and tl.status == "succeeded":
        margin = deadline - tl.finished
        if margin >= 0:
            return f"{rto}: met with {format_duration(margin)} to spare"
        return f"{rto}: missed by {format_duration(-margin)}"
    now = tl.last_ts or tl.started or deadline
    if tl.finished is not None:  # stopped without succeeding: never "met"
        left = deadline - tl.finished
        if left >= 0:
            when = f"{format_duration(left)} before"
            return f"{rto}: not met yet: the run stopped ({tl.status}) {when} the deadline"
        when = f"{format_duration(-left)} after"
        return f"{rto}: missed: the run stopped ({tl.status}) {when} the deadline"
    if now > deadline:
        return f"{rto}: missed (deadline passed {format_duration(now - deadline)} ago)"
    return f"{rto}: {format_duration(deadline - now)} left before the deadline"


def rto_warning_text(tl: Timeline) -> str | None:
    """`given 14:02:10 UTC, 1h05m before the deadline (risk 62%)`, or None: never warned."""
    at = tl.rto_warning_at
    if at is None:
        return None
    text = f"given {utc(at)}"
    deadline = tl.rto_deadline
    if deadline is not None:
        lead = deadline - at
        when = "before" if lead >= 0 else "after"
        text += f", {format_duration(abs(lead))} {when} the deadline"
    risk = next((p.rto_risk for p in tl.etas if p.ts >= at and p.rto_risk is not None), None)
    return text + (f" (risk {percent(risk)})" if risk is not None else "")


def rto_card(tl: Timeline) -> tuple[str, str]:
    """(headline, detail) of the RTO verdict, short enough for a summary card."""
    verdict = rto_verdict(tl)
    if tl.rto_s is None or ":" not in verdict:
        return "none", verdict
    detail = verdict.split(":", 1)[1].strip()
    for head in ("met", "missed", "not met yet"):
        if detail.startswith(head):
            return head, f"RTO {format_duration(tl.rto_s)}: {detail}"
    return detail.split(" left", 1)[0] + " left", f"RTO {format_duration(tl.rto_s)}"


def eta_moves(etas: list[EtaPoint], limit: int = 40, min_move_s: float = 60.0) -> list[EtaPoint]:
    """The ETA points worth a row: first, last, and each that moved P50/P90 or the risk."""
    if len(etas) <= 2:
        return list(etas)
    kept = [etas[0]]
    for p in etas[1:-1]:
        last = kept[-1]
        moved = abs(p.p50 - last.p50) >= min_move_s or abs(p.p90 - last.p90) >= min_move_s
        risk = (p.rto_risk is None) != (last.rto_risk is None) or (
            p.rto_risk is not None
            and last.rto_risk is not None
            and abs(p.rto_risk - last.rto_risk) >= 0.05
        )
        if moved or risk:
            kept.append(p)
    kept.append(etas[-1])
    if len(kept) > limit:  # a long run: an even sample, always with the ends
        step = (len(kept) - 1) / (limit - 1)
        kept = [kept[round(i * step)] for i in range(limit)]
    return kept


def counts_text(tl: Timeline) -> str:
    order = ("succeeded", "failed", "blocked", "skipped", "running", "waiting", "claimed")
    counts = tl.counts()
    parts = [f"{counts[k]} {k}" for k in order if counts.get(k)]
    parts += [f"{n} {k}" for k, n in sorted(counts.items()) if k not in order]
    return ", ".join(parts) or "no steps"

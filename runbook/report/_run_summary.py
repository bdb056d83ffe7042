"""How a run ended, in words: the summary every `run`, `resume`, `rehearse` and `watch` ends with.

Pure: `run_summary(state, now)` reads the fold and nothing else, so the plain lines, the
live view and the console tell the same story. What it decides:

- counts are words with numbers, in the order an operator reads them ("12 succeeded,
  1 failed, 3 blocked"); steps that never started are "not started";
- the RTO: "met" only for a run that succeeded by its deadline; a run that succeeded late
  "missed" it; a run that stopped without succeeding has "not met yet" while the deadline
  is ahead, "missed" once it has passed (nothing was restored in time);
- the next command is the one to type now: retry a failed step (the last one with
  `--resume`, which starts the run again), answer a waiting question, resume an
  interrupted run, or export the report of a finished one.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from runbook.durations import format_duration
from runbook.events import RunState, StepState
from runbook.visible import visible

LAST_LINES = 5  # of a failed host's output
MAX_HOSTS = 3  # failed hosts shown per step (the rest are counted)
# Step statuses in the order a summary names them, with the word it uses.
COUNT_WORDS = (
    ("succeeded", "succeeded"),
    ("failed", "failed"),
    ("blocked", "blocked"),
    ("skipped", "skipped"),
    ("running", "running"),
    ("waiting", "waiting for an operator"),
    ("claimed", "being worked on"),
    ("pending", "not started"),
)
LOCAL_HOST = "this machine"  # a local step's host is "" in the journal


@dataclass(frozen=True)
class FailedHost:
    """One failed host of a failed step, with the end of what it printed."""

    host: str  # as the journal names it ("" for the control machine)
    label: str  # as a person reads it ("this machine" for "")
    reason: str
    exit_code: int | None
    message: str
    last_lines: tuple[str, ...]

    @property
    def text(self) -> str:
        """What went wrong, once: `run exited 3`, `unreachable: connection refused`."""
        return failure_text(self.reason, self.message, self.exit_code)


def failure_text(reason: str | None, message: str | None, exit_code: int | None) -> str:
    """A host's failure in one phrase, nothing said twice: `unreachable: no route to host`.

    The reason is a category (exit, timeout, unreachable ...), the message the detail; an
    `exit` reason says nothing a message `run exited 3` does not.
    """
    text = message or reason or "failed"
    if reason and message and reason != "exit" and reason not in message:
        text = f"{reason}: {message}"
    if exit_code is not None and str(exit_code) not in text:
        text += f" (exit {exit_code})"
    return text


@dataclass(frozen=True)
class FailedStep:
    id: str
    title: str
    reason: str
    hosts: tuple[FailedHost, ...]
    more_hosts: int  # failed hosts not listed
    holds_up: int  # unfinished steps downstream
    tolerated: bool = False  # `on_failure: continue`: the run went on without it


@dataclass(frozen=True)
class RunSummary:
    """A run's ending (or where it stands), ready to print."""

    run_id: str
    playbook: str
    title: str
    mode: str
    result: str  # succeeded, failed, aborted, interrupted, stopped (engine gone), running
    finished: bool
    counts: tuple[tuple[str, int], ...]  # (status, n), non-zero, in COUNT_WORDS order
    duration_s: float | None
    rto_s: float | None
    rto_word: str | None  # met, missed, not met yet; None without an RTO
    rto_text: str  # "RTO 4h: met with 12m to spare", "no RTO set"
    failed: tuple[FailedStep, ...]
    waiting: tuple[str, ...]  # manual steps waiting for an answer
    next_commands: tuple[str, ...]  # the first is the one to type now

    @property
    def counts_text(self) -> str:
        words = dict(COUNT_WORDS)
        return ", ".join(f"{n} {words.get(k, k)}" for k, n in self.counts) or "no steps"

    @property
    def headline(self) -> str:
        kind = "rehearsal" if self.mode == "rehearsal" else "run"
        took = f" in {format_duration(self.duration_s)}" if self.duration_s is not None else ""
        if self.result == "running":
            so_far = format_duration(self.duration_s or 0)
            return f"{kind} {self.run_id} is still running ({so_far} so far)"
        result = self.result
        if result == "succeeded" and (n := sum(f.tolerated for f in self.failed)):
            result += f" with {n} tolerated failure{'s' if n > 1 else ''}"
        return f"{kind} {self.run_id} {result}{took}"

    def lines(self) -> tuple[str, ...]:
        """The summary as plain lines (the last lines of a piped run)."""
        out = [f"== {self.headline}: {self.counts_text}", f"   {self.rto_text}"]
        for f in self.failed:
            held = f"; holds up {f.holds_up} step(s)" if f.holds_up else ""
            label = "failed (tolerated)" if f.tolerated else "failed"
            out.append(f"   {label}: {f.id}: {f.reason}{held}")
            for h in f.hosts:
                out.append(f"     {h.label}: {h.text}")
                out.extend(f"       | {line}" for line in h.last_lines)
            if f.more_hosts:
                out.append(f"     … and {f.more_hosts} more host(s) failed")
        for step in self.waiting:
            out.append(f"   waiting for an operator: {step}")
        if self.next_commands:
            out.append(f"   next: {self.next_commands[0]}")
            out.extend(f"     or: {c}" for c in self.next_commands[1:])
        return tuple(out)


def _counts(state: RunState) -> tuple[tuple[str, int], ...]:
    counts = state.counts()
    known = [(k, counts.get(k, 0)) for k, _ in COUNT_WORDS]
    extra = [(k, n) for k, n in sorted(counts.items()) if k not in dict(COUNT_WORDS)]
    return tuple((k, n) for k, n in (*known, *extra) if n)


def _result(state: RunState, engine_stopped: bool) -> str:
    if state.is_finished:
        return state.status
    if state.status == "interrupted":
        return "interrupted"
    # The engine is gone but journaled no end (it crashed): the run is not running.
    return "stopped" if engine_stopped else "running"


def _rto(state: RunState, result: str, end: float | None) -> tuple[str | None, str]:
    if state.rto_s is None or state.started is None:
        return None, "no RTO set"
    rto = f"RTO {format_duration(state.rto_s)}"
    deadline = state.started + state.rto_s
    if end is None:
        return "not met yet", f"{rto}: not met yet"
    if result == "succeeded":
        margin = deadline - end
        if margin >= 0:
            return "met", f"{rto}: met with {format_duration(margin)} to spare"
        return "missed", f"{rto}: missed by {format_duration(-margin)}"
    if end > deadline:
        return "missed", f"{rto}: missed by {format_duration(end - deadline)} (not restored)"
    left = format_duration(deadline - end)
    return "not met yet", f"{rto}: not met yet ({left} left before the deadline)"


def host_label(name: str) -> str:
    """A host as a person reads it: the control machine has no name in the journal."""
    return name or LOCAL_HOST


def _last_lines(tail: str, n: int = LAST_LINES) -> tuple[str, ...]:
    lines = [visible(line.rstrip()) for line in tail.splitlines() if line.strip()]
    return tuple(lines[-n:])


def _failed(state: RunState, s: StepState) -> FailedStep:
    failed = [h for h in s.host_states.values() if h.status == "failed"]
    hosts = tuple(
        FailedHost(
            host=h.name,
            label=host_label(h.name),
            reason=h.reason or "failed",
            exit_code=h.exit_code,
            message=visible(" ".join((h.message or "").split())),
            last_lines=_last_lines(h.tail),
        )
        for h in failed[:MAX_HOSTS]
    )
    return FailedStep(
        id=s.id,
        title=s.title,
        reason=visible(s.reason or "failed"),
        hosts=hosts,
        more_hosts=max(0, len(failed) - MAX_HOSTS),
        holds_up=len(state.holds_up(s.id)),
        tolerated=s.tolerated,
    )


def _next(state: RunState, result: str, failed: list[str], waiting: list[str]) -> list[str]:
    run = state.run_id
    out: list[str] = []
    if result == "succeeded":
        return [f"runbook export {run} --format html -o {run}.html"]
    if result == "running":
        out = [f"runbook confirm {run} {s}{_value_flag(state, s)}" for s in waiting]
        return [*out, f"runbook status {run}"]
    if failed:
        out = [f"runbook retry {run} {s}" for s in failed[:-1]]
        out.append(f"runbook retry {run} {failed[-1]} --resume")
        out.append(f"runbook skip {run} {failed[0]} --note TEXT")
        out.append(f"runbook logs {run} {failed[0]}")
        return out
    # Interrupted, or ended with steps left (blocked by an earlier life's failure): no
    # engine holds the run, so an answer would only wait; resume asks the questions again.
    return [f"runbook resume {run}"]


def _value_flag(state: RunState, step: str) -> str:
    """` --value a|b` for a waiting step that asks for a value (as its prompt line says)."""
    spec = state.steps[step].input if step in state.steps else None
    if not isinstance(spec, Mapping):
        return ""
    choices = spec.get("choices") or []
    return " --value " + ("|".join(map(str, choices)) if choices else "TEXT")


def run_summary(state: RunState, now: float, *, engine_stopped: bool = False) -> RunSummary:
    """The summary of `state` at `now` (a finished run's clock stops at its end).

    `engine_stopped`: the engine that ran it has just stopped (a run's own ending), so a
    run its journal still calls running was cut short, not running on elsewhere.
    """
    result = _result(state, engine_stopped)
    end: float | None
    if state.finished is not None and state.is_finished:
        end = state.finished
    elif result in ("interrupted", "stopped"):
        end = state.last_ts
    else:
        end = max(now, state.last_ts or now)
    duration = None if state.started is None or end is None else max(0.0, end - state.started)
    rto_end = end if result != "running" else None
    if result == "running" and state.rto_s is not None and state.started is not None:
        rto_end = end if end is not None and end > state.started + state.rto_s else None
    rto_word, rto_text = _rto(state, result, rto_end)
    failed_steps = state.with_status("failed")
    waiting = [s.id for s in state.with_status("waiting", "claimed")]
    return RunSummary(
        run_id=state.run_id,
        playbook=state.playbook,
        title=state.title,
        mode=state.mode,
        result=result,
        finished=state.is_finished,
        counts=_counts(state),
        duration_s=duration,
        rto_s=state.rto_s,
        rto_word=rto_word,
        rto_text=rto_text,
        failed=tuple(_failed(state, s) for s in failed_steps),
        waiting=tuple(waiting),
        next_commands=tuple(_next(state, result, [s.id for s in failed_steps], waiting)),
    )

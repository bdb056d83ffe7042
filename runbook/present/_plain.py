"""One line per event when stdout is not a terminal (logs, CI, `| tee`).

Lines are flushed as they are written, so a watcher reading the pipe sees each event as
soon as it is committed, never before.
"""

from __future__ import annotations

import sys
from typing import Any, TextIO

from runbook.durations import format_duration
from runbook.events import Event, RunState
from runbook.visible import visible

QUIET_TYPES = frozenset({"step_failed", "step_blocked", "manual_waiting", "run_finished"})


def _time(ts: str) -> str:
    return ts[11:19] if len(ts) >= 19 else ts


def _eta(d: Any) -> str:
    p50 = format_duration(float(d.get("remaining_p50_s") or 0))
    p90 = format_duration(float(d.get("remaining_p90_s") or 0))
    risk = d.get("rto_risk")
    rto = f", RTO risk {risk:.0%}" if isinstance(risk, (int, float)) else ""
    at50, at90 = _time(str(d.get("p50", ""))), _time(str(d.get("p90", "")))
    return f"P50 {at50} (+{p50}) P90 {at90} (+{p90}){rto}"


def describe(e: Event) -> str | None:
    """The text after the time and type; None: not shown."""
    d = e.data
    t = e.type
    if t == "run_started":
        return f"{d.get('playbook')} ({d.get('mode')}) by {d.get('operator')}"
    if t == "step_started":
        hosts = d.get("hosts") or []
        where = f" on {len(hosts)} host(s)" if hosts else ""
        if d.get("pattern") is not None:
            where += f" ({', '.join(map(str, hosts[:5]))}{' …' if len(hosts) > 5 else ''}"
            where += f" from hosts '{d.get('pattern')}')"
        return f"attempt {d.get('attempt')}{where}"
    if t == "host_started":
        return f"{d.get('action')}: {d.get('command')}"
    if t == "host_succeeded":
        extra = " (already done: skip_if)" if d.get("skipped") else ""
        return f"ok in {format_duration(float(d.get('duration_s') or 0))}{extra}"
    if t == "host_failed":
        return f"{d.get('reason')}: {d.get('message')}"
    if t == "step_succeeded":
        return f"in {format_duration(float(d.get('duration_s') or 0))}"
    if t == "step_failed":
        tolerated = " (tolerated: on_failure continue)" if d.get("tolerated") else ""
        return str(d.get("reason") or "") + tolerated
    if t == "step_retrying":
        failed = ", ".join(d.get("failed_hosts") or []) or "it"
        return f"attempt {d.get('attempt')} failed ({failed}); again in {d.get('delay_s')}s"
    if t == "step_skipped":
        note = f": {d.get('note')}" if d.get("note") else ""
        who = f" by {d.get('operator')}" if d.get("operator") else ""
        if d.get("reason") == "when":
            return f"when: {d.get('when')} is false"
        return f"{d.get('reason')}{who}{note}"
    if t == "step_blocked":
        return "by " + ", ".join(d.get("by") or [])
    if t == "manual_waiting":
        text = " ".join(str(d.get("instructions") or "").split())
        spec = d.get("input") if isinstance(d.get("input"), dict) else None
        value = ""
        if spec is not None:
            choices = spec.get("choices") or []
            value = " --value " + ("|".join(map(str, choices)) if choices else "TEXT")
            if spec.get("default"):
                text += f" (default: {spec['default']})"
        return f"{text}  [answer: runbook confirm {e.run_id} {e.step}{value}]"
    if t == "manual_claimed":
        return f"by {d.get('operator')}"
    if t == "manual_answered":
        note = f": {d.get('note')}" if d.get("note") else ""
        value = f" with {d.get('value')}" if d.get("value") is not None else ""
        return f"{d.get('answer')}{value} by {d.get('operator')}{note}"
    if t == "operator_retry":
        return f"by {d.get('operator')}"
    if t == "operator_expect":
        return f"{format_duration(float(d.get('remaining_s') or 0))} more, says {d.get('operator')}"
    if t == "eta":
        return _eta(d)
    if t == "run_interrupted":
        return f"{d.get('reason')}; continue with: runbook resume {e.run_id}"
    if t == "run_resumed":
        text = f"by {d.get('operator')}; in flight: {', '.join(d.get('in_flight') or []) or '-'}"
        return text + _orphans(d.get("orphans_killed") or [])
    if t == "run_finished":
        counts = d.get("counts") or {}
        shown = ", ".join(f"{k} {v}" for k, v in counts.items() if v)
        n = d.get("tolerated")
        if n and d.get("result") == "succeeded":
            word = "failure" if n == 1 else "failures"
            return f"succeeded with {n} tolerated {word} ({shown})"
        return f"{d.get('result')} ({shown})"
    if t == "host_key_accepted":
        return f"{d.get('key_type')} {d.get('fingerprint')}"
    return None


def _orphans(killed: list[dict[str, Any]]) -> str:
    """What `resume` ended of the dead engine's commands, and where it could not look."""
    ended = [k for k in killed if "pgid" in k]
    text = ""
    if ended:
        where = ", ".join(sorted({str(k.get("host") or "this machine") for k in ended}))
        text += f"; ended {len(ended)} command(s) the dead engine left running ({where})"
    unreached = sorted({str(k.get("host")) for k in killed if "error" in k})
    if unreached:
        text += f"; could not look for them on {', '.join(unreached)}"
    return text


class PlainListener:
    """Writes one line per committed event."""

    def __init__(self, out: TextIO | None = None, verbosity: int = 0) -> None:
        self.out = out or sys.stdout
        self.verbosity = verbosity

    def event(self, e: Event, state: RunState) -> None:
        if self.verbosity < 0 and e.type not in QUIET_TYPES:
            return
        if e.type == "host_output":
            if self.verbosity < 0:
                return
            where = f"{e.step}@{e.host}" if e.host else str(e.step)
            output = str(e.data.get("text") or "")
            lines = [f"{_time(e.ts)}   {where} | {line}" for line in output.splitlines()]
            if e.data.get("truncated"):
                lines.append(f"{_time(e.ts)}   {where} | [... output truncated ...]")
            self._write("\n".join(lines))
            return
        text = describe(e)
        if text is None:
            return
        subject = f"{e.step}@{e.host}" if e.host else (e.step or "")
        self._write(f"{_time(e.ts)} {e.type:<16} {subject} {text}".rstrip())

    def tick(self, state: RunState, now: float) -> None:
        pass

    def _write(self, line: str) -> None:
        if not line:
            return
        try:
            self.out.write(visible(line) + "\n")  # a command's escapes never run here
            self.out.flush()
        except (BrokenPipeError, ValueError):
            pass  # a closed pipe (`| head`) must not stop the run

"""One line per event when stdout is not a terminal (logs, CI, `| tee`).

Lines are flushed as they are written, so a watcher reading the pipe sees each event as
soon as it is committed, never before. Every line says what happened in a word
(succeeded, failed, skipped, blocked ...). As Ansible does, the commands and what they
print are shown with `-v`; without it a failed host still shows the end of its output,
the error an operator needs. The run ends with its summary (runbook/present/_summary.py).
"""

from __future__ import annotations

import re
import sys
from collections.abc import Mapping
from typing import Any, TextIO

from runbook.durations import format_duration
from runbook.events import Event, RunState
from runbook.report import host_label, run_summary
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
    warn = " · RTO WARNING: likely to miss the RTO" if d.get("rto_warning") else ""
    return f"P50 {at50} (+{p50}) P90 {at90} (+{p90}){rto}{warn}"


_LINK = re.compile(r"\[([^\]]+)\]\(([^)\s]+)\)")
_MARKS = re.compile(r"(\*\*|__|`)")
_HEADING = re.compile(r"^\s{0,3}#{1,6}\s+", re.MULTILINE)


def plain_markdown(text: str) -> str:
    """Instructions written in Markdown, as plain text for a pipe or a log."""
    text = _LINK.sub(r"\1 (\2)", text)
    text = _HEADING.sub("", text)
    return _MARKS.sub("", text)


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
            shown = ", ".join(map(str, hosts[:5])) + (" …" if len(hosts) > 5 else "")
            where += f" ({shown or 'no host'} from hosts '{d.get('pattern')}')"
        return f"attempt {d.get('attempt')}{where}"
    if t == "host_started":
        return f"{d.get('action')}: {d.get('command')}"
    if t == "host_succeeded":
        if d.get("skipped"):
            return "skipped: already done (skip_if)"
        done = f"succeeded in {format_duration(float(d.get('duration_s') or 0))}" + _files(d)
        return done + (f"; {d['message']}" if d.get("message") else "")
    if t == "host_failed":
        return f"failed ({d.get('reason')}): {d.get('message')}"
    if t == "host_offered":  # team mode: the step's claimant does not reach this host
        return f"attempt {d.get('attempt')}: for an engine that reaches it (join --limit)"
    if t == "host_not_started":
        return f"not started: {d.get('reason') or ''}"
    if t == "host_cancelled":
        return f"cancelled: {d.get('reason') or ''}"
    if t == "step_succeeded":
        return f"succeeded in {format_duration(float(d.get('duration_s') or 0))}"
    if t == "step_failed":
        tolerated = " (tolerated: on_failure continue)" if d.get("tolerated") else ""
        return f"failed: {d.get('reason') or 'no reason given'}{tolerated}"
    if t == "step_retrying":
        failed = ", ".join(host_label(str(h)) for h in d.get("failed_hosts") or []) or "it"
        return f"attempt {d.get('attempt')} failed ({failed}); retrying in {d.get('delay_s')}s"
    if t == "step_skipped":
        note = f": {d.get('note')}" if d.get("note") else ""
        who = f" by {d.get('operator')}" if d.get("operator") else ""
        if d.get("reason") == "when" and d.get("chance") is not None:
            return f"skipped: when: {d.get('when')} (drawn at its chance {d['chance']:.0%})"
        if d.get("reason") == "when":
            return f"skipped: when: {d.get('when')} is false"
        return f"skipped ({d.get('reason')}){who}{note}"
    if t == "step_blocked":
        return "blocked by " + ", ".join(d.get("by") or [])
    if t == "manual_waiting":
        text = " ".join(plain_markdown(str(d.get("instructions") or "")).split())
        spec = d.get("input") if isinstance(d.get("input"), dict) else None
        value = ""
        if spec is not None:
            choices = spec.get("choices") or []
            value = " --value " + ("|".join(map(str, choices)) if choices else "TEXT")
            if spec.get("default"):
                text += f" (default: {spec['default']})"
        return f"{text}  [answer: runbook confirm {e.run_id} {e.step}{value}]"
    if t == "manual_claimed":
        return f"claimed by {d.get('operator')}"
    if t == "manual_answered":
        note = f": {d.get('note')}" if d.get("note") else ""
        value = f" with {d.get('value')}" if d.get("value") is not None else ""
        return f"answered {d.get('answer')}{value} by {d.get('operator')}{note}"
    if t == "operator_retry":
        return f"retry asked by {d.get('operator')}"
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


def _files(d: Mapping[str, Any]) -> str:
    """What a host's copy and fetch did: `(copy /etc/x written; fetch /y unchanged)`."""
    done = []
    for key in ("copy", "fetch"):
        f = d.get(key)
        if isinstance(f, Mapping):
            done.append(f"{key} {f.get('path')} {'written' if f.get('changed') else 'unchanged'}")
    return f" ({'; '.join(done)})" if done else ""


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


FAILED_LINES = 10  # of a failed host's output, shown under its host_failed line


class PlainListener:
    """Writes one line per committed event, and the summary when the run ends."""

    def __init__(self, out: TextIO | None = None, verbosity: int = 0) -> None:
        self.out = out or sys.stdout
        self.verbosity = verbosity
        self.state: RunState | None = None

    def event(self, e: Event, state: RunState) -> None:
        self.state = state
        if self.verbosity < 0 and e.type not in QUIET_TYPES:
            return
        if e.type == "host_output":
            if self.verbosity < 1:
                return
            where = f"{e.step}@{e.host}" if e.host else str(e.step)
            output = str(e.data.get("text") or "")
            lines = [f"{_time(e.ts)}   {where} | {line}" for line in output.splitlines()]
            if e.data.get("truncated"):
                lines.append(f"{_time(e.ts)}   {where} | [... output truncated ...]")
            self._write("\n".join(lines))
            return
        if e.type == "host_started" and self.verbosity < 1:
            return
        text = describe(e)
        if text is None:
            return
        subject = f"{e.step}@{e.host}" if e.host else (e.step or "")
        if e.type in ("step_failed", "manual_waiting") and e.step:
            step = state.steps.get(e.step)
            if step is not None and step.doc:
                text += f"  [doc: {step.doc}]"
        self._write(f"{_time(e.ts)} {e.type:<16} {subject} {text}".rstrip())
        if e.type == "host_failed" and self.verbosity < 1:
            self._failed_output(e, state)

    def _failed_output(self, e: Event, state: RunState) -> None:
        """The end of what a failed host printed: its error, without `-v`."""
        step = state.steps.get(e.step or "")
        host = step.host_states.get(e.host or "") if step is not None else None
        if host is None or not host.tail.strip():
            return
        where = f"{e.step}@{e.host}" if e.host else str(e.step)
        lines = [ln for ln in host.tail.splitlines() if ln.strip()][-FAILED_LINES:]
        self._write("\n".join(f"{_time(e.ts)}   {where} | {ln}" for ln in lines))

    def tick(self, state: RunState, now: float) -> None:
        pass

    def close(self) -> None:
        """The run is over (or stopped): its summary, the last lines of the output."""
        from runbook.present._summary import print_summary

        state = self.state
        if state is None or not state.run_id:
            return
        now = state.last_ts if state.last_ts is not None else 0.0
        print_summary(
            run_summary(state, now, engine_stopped=True), self.out, terminal=False, color=False
        )

    def _write(self, line: str) -> None:
        if not line:
            return
        try:
            self.out.write(visible(line) + "\n")  # a command's escapes never run here
            self.out.flush()
        except (OSError, ValueError):
            pass  # a closed pipe (`| head`) or a terminal that hung up must not stop the run

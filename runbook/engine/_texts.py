"""Texts the core journals or asks with: a step's failure reason, the --step gate."""

from __future__ import annotations

from runbook.engine._io import StepWork
from runbook.engine._table import StepRun
from runbook.executors import Action

ORDER: tuple[Action, ...] = ("skip_if", "copy", "run", "until", "verify", "fetch")  # as run


def gate_text(work: StepWork, run: StepRun) -> str:
    """What `--step` shows before an automated step: where it runs and its commands."""
    first = run.hosts[0]
    c = work.commands(run.id, first)
    lines = [f"{a}: {t}" for a in ORDER if (t := c.display(a))]
    where = "on the control machine" if first is None else f"on {len(run.hosts)} host(s)"
    return "\n".join([f"runs {where}", *lines])


def failure_reason(run: StepRun) -> str:
    """`step_failed.reason`: the failed hosts and their messages (three at most)."""
    items = sorted(run.failed.items(), key=lambda kv: kv[0] or "")
    if run.plan.kind != "remote":
        return items[0][1].message
    shown = "; ".join(f"{h}: {f.message}" for h, f in items[:3])
    more = f"; +{len(items) - 3} more" if len(items) > 3 else ""
    return f"{len(items)} of {len(run.hosts)} hosts failed: {shown}{more}"

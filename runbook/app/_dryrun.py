"""`run --dry-run`: the resolved plan with every concrete command per host; runs nothing."""

from __future__ import annotations

from runbook.app._session import Prepared
from runbook.durations import format_duration
from runbook.engine import RenderedWork
from runbook.executors import ACTIONS


def dry_run_lines(prepared: Prepared) -> list[str]:
    """Text lines: waves in order, each step with what it would run where (secrets masked)."""
    plan = prepared.plan
    hosts = prepared.resolved.inventory.hosts
    work = RenderedWork(
        prepared.steps,
        prepared.step_hosts,
        hosts,
        prepared.values,
        "dry-run",
        "dry-run",
        prepared.redactor,
    )
    mask = prepared.redactor.text
    by_id = plan.by_id()
    lines = [f"dry run of {plan.playbook}: {plan.title} ({len(plan.steps)} steps; nothing runs)"]
    for n, wave in enumerate(plan.waves, 1):
        lines.append(f"wave {n}:")
        for sid in wave:
            p = by_id[sid]
            skip = prepared.skips.get(sid)
            head = f"  {sid} [{p.kind}, {p.phase}] {p.title}"
            if p.needs:
                head += f"  (needs {', '.join(p.needs)})"
            lines.append(head + (f"  -- skipped ({skip})" if skip else ""))
            if skip:
                continue
            step = prepared.steps[sid]
            if p.kind == "manual":
                for text in work.instructions(sid).splitlines():
                    lines.append(f"      | {mask(text)}")
                continue
            targets: tuple[str | None, ...] = p.hosts if p.kind == "remote" else (None,)
            extra = f", {p.parallel} at a time" if p.parallel else ""
            lines.append(
                f"    timeout {format_duration(step.timeout_s)} per attempt, "
                f"retries {step.retries}{extra}"
            )
            for host in targets:
                where = "local" if host is None else f"{host} ({hosts[host].address})"
                lines.append(f"    {where}:")
                commands = work.commands(sid, host)
                for action in ACTIONS:
                    command = commands.display(action)
                    if command is not None:
                        lines.append(f"      {action}: {mask(command)}")
    return lines

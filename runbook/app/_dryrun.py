"""`run --dry-run`: the resolved plan with every concrete command per host; runs nothing."""

from __future__ import annotations

from runbook.app._session import Prepared
from runbook.durations import format_duration
from runbook.engine import RenderedWork
from runbook.errors import InputError
from runbook.executors import Action
from runbook.model import Step

# as a host runs them
ORDER: tuple[Action, ...] = ("skip_if", "copy", "run", "until", "verify", "fetch")


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
            lines.extend(_decided_lines(step))
            if p.kind == "manual":
                # what it reads exists only during the run: the template as written
                text = _instructions(work, sid)
                for line in text.splitlines():
                    lines.append(f"      | {mask(line)}")
                continue
            targets: tuple[str | None, ...] = p.hosts if p.kind == "remote" else (None,)
            extra = f", {p.parallel} at a time" if p.parallel else ""
            if step.serial:
                extra += ", serial " + "/".join(str(c) for c in step.serial)
            if step.max_fail is not None:
                extra += f", max_fail {step.max_fail}"
            if step.min_ok is not None:
                extra += f", min_ok {step.min_ok}"
            if step.doc:
                lines.append(f"    doc: {step.doc}")
            lines.append(
                f"    timeout {format_duration(step.timeout_s)} per attempt, "
                f"retries {step.retries}{extra}"
            )
            if step.hosts_at_run_time or not _renders_now(work, sid, targets):
                lines.append("    on each host, as written (rendered when the step starts):")
                for action in ("skip_if", "run", "until", "verify"):
                    source = getattr(step, action)
                    if source is not None:
                        lines.append(f"      {action}: {mask(source)}")
                continue
            for host in targets:
                where = "local" if host is None else f"{host} ({hosts[host].address})"
                lines.append(f"    {where}:")
                commands = work.commands(sid, host)
                for action in ORDER:
                    command = commands.display(action)
                    if command is not None:
                        lines.append(f"      {action}: {mask(command)}")
    return lines


def _renders_now(work: RenderedWork, sid: str, targets: tuple[str | None, ...]) -> bool:
    """Whether the step's commands can be shown as they will run: only those that read
    earlier steps (not its `when` alone) wait for the run."""
    if not work.steps[sid].reads:
        return True
    try:
        for host in targets:
            work.commands(sid, host)
    except InputError:
        return False
    return True


def _instructions(work: RenderedWork, sid: str) -> str:
    """A manual step's text as the operator will read it, else as written when it reads
    what earlier steps did."""
    step = work.steps[sid]
    try:
        return work.instructions(sid)
    except InputError:
        return step.manual or step.title


def _decided_lines(step: Step) -> list[str]:
    """What the step decides only when it starts: its condition, hosts and question."""
    out: list[str] = []
    if step.when is not None:
        chance = f" (plan counts it at {step.chance:.0%})" if step.chance is not None else ""
        out.append(f"    when: {step.when}{chance}")
    if step.hosts_at_run_time:
        out.append(f"    hosts decided at run time: {step.hosts}")
    if step.run_once:
        out.append("    run_once: the first selected host only")
    if step.input is not None:
        spec = step.input
        choices = spec.choices if isinstance(spec.choices, str) else ", ".join(spec.choices or ())
        parts = [
            f"choices {choices}" if choices else "",
            f"pattern {spec.pattern}" if spec.pattern else "",
        ]
        if spec.default:
            parts.append(f"default {spec.default}")
        if spec.secret:
            parts.append("secret")
        out.append(
            "    asks a value: " + "; ".join(p for p in parts if p)
            if any(parts)
            else "    asks a value"
        )
    if step.output is not None:
        out.append(f"    output: {step.output.type}" + (" (secret)" if step.output.secret else ""))
    return out

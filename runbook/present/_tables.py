"""Rich tables: the plan, wave by wave, and its summary against the RTO."""

from __future__ import annotations

from rich.console import RenderableType
from rich.text import Text

from runbook.durations import format_duration
from runbook.plan import Plan, PlanStep, estimate_text
from runbook.present._grid import Column, Grid

CRITICAL_MARK = "◆"


def render_plan(plan: Plan, history_note: str | None = None) -> list[RenderableType]:
    """The title, the plan table, its legend and the summary lines, to print in order.

    `history_note` says where the P50/P90 come from (the earlier runs they learned from).
    """
    title = Text(f"{plan.playbook}: {plan.title}", style="italic")
    legend = Text(f"{CRITICAL_MARK} on the critical path", style="dim")
    summary = plan_summary(plan, history_note)
    return [title, Text(""), plan_table(plan), Text(""), legend, Text(""), summary]


def plan_table(plan: Plan) -> Grid:
    """One row per step, grouped by wave; the critical path marked."""
    grid = Grid(
        [
            Column("wave", justify="right"),
            Column("step"),
            Column("phase"),
            Column("kind"),
            Column("hosts", justify="right"),
            Column("estimate"),
            Column(CRITICAL_MARK, justify="center"),
            # Only the title may wrap: when the terminal is narrow it gives way, not the ids.
            Column("title", wrap=True, min_width=12),
        ],
        edge=" ",
        header_rule=True,
    )
    by_id = plan.by_id()
    critical = set(plan.critical_path)
    for w, wave in enumerate(plan.waves):
        if w:
            grid.add_section()
        for i, sid in enumerate(wave):
            s = by_id[sid]
            on_path = sid in critical
            grid.add_row(
                str(w + 1) if i == 0 else "",
                (sid, "bold" if on_path else ""),
                s.phase,
                s.kind,
                _hosts_cell(s),
                (estimate_text(s), "yellow" if not s.estimate.given else ""),
                (CRITICAL_MARK, "red") if on_path else "",
                s.title,
            )
    return grid


def _hosts_cell(s: PlanStep) -> str:
    """How many hosts; `run time` when a template decides them; `if` for a condition."""
    cell = str(len(s.hosts)) if s.hosts else "-"
    if s.hosts_template is not None:
        cell = "run time"
    if s.when is not None:
        chance = f" {s.chance:.0%}" if s.chance is not None else ""
        cell = f"if{chance} {cell}" if cell != "-" else f"if{chance}"
    return cell


def plan_summary(plan: Plan, history_note: str | None = None) -> Text:
    """Totals: steps, waves, hosts; P50/P90 against the RTO; the critical path."""
    out = Text()
    out.append(
        f"{len(plan.steps)} steps in {len(plan.waves)} waves, {plan.host_count} hosts, "
        f"{len(plan.phases)} phases\n"
    )
    out.append("Planned duration: ")
    out.append(f"P50 {format_duration(plan.p50_s)}", style="bold")
    out.append(", ")
    out.append(f"P90 {format_duration(plan.p90_s)}", style="bold")
    if plan.rto_s is None:
        out.append(" (no RTO set)\n")
    else:
        out.append(f" against an RTO of {format_duration(plan.rto_s)}: ")
        if plan.p90_s <= plan.rto_s:
            out.append("within the RTO at P90\n", style="green")
        elif plan.p50_s <= plan.rto_s:
            over = format_duration(plan.p90_s - plan.rto_s)
            out.append(f"at risk, P90 is {over} over\n", style="yellow")
        else:
            over = format_duration(plan.p50_s - plan.rto_s)
            out.append(f"likely missed, P50 is {over} over\n", style="red")
    if history_note:
        out.append(f"  {history_note}\n", style="dim")
    out.append(f"Critical path ({format_duration(plan.critical_path_s)} at likely estimates): ")
    out.append(" → ".join(plan.critical_path), style="bold")
    if plan.default_estimates:
        n = len(plan.default_estimates)
        out.append(f"\n{n} step{'s' if n != 1 else ''} without an estimate, 5m assumed: ")
        out.append(", ".join(plan.default_estimates), style="yellow")
    decided = [s for s in plan.steps if s.hosts_template is not None]
    if decided:
        out.append("\nHosts decided at run time: ")
        out.append("; ".join(f"{s.id} ({s.hosts_template})" for s in decided))
    full = [s.id for s in plan.steps if s.conditional_in_full]
    if full:
        n = len(full)
        out.append(
            f"\n{n} conditional step{'s' if n != 1 else ''} counted in full (no `chance:`): "
        )
        out.append(", ".join(full), style="yellow")
    return out

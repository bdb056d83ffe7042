"""The plan: graph, waves, critical path, planned P50/P90, rendering. Pure, deterministic."""

from __future__ import annotations

from typing import TYPE_CHECKING

from runbook.exports import lazy_exports

if TYPE_CHECKING:
    from runbook.plan._build import (
        Plan as Plan,
        PlanStep as PlanStep,
        build_plan as build_plan,
    )
    from runbook.plan._graph import (
        graph_issues as graph_issues,
        topological_order as topological_order,
        waves_of as waves_of,
    )
    from runbook.plan._render import (
        estimate_text as estimate_text,
        to_dot as to_dot,
        to_mermaid as to_mermaid,
        write_json as write_json,
    )
else:  # at run time each name is imported on first use: see runbook/exports.py
    __getattr__, __all__ = lazy_exports(
        __name__,
        {
            "_build": ("Plan", "PlanStep", "build_plan"),
            "_graph": ("graph_issues", "topological_order", "waves_of"),
            "_render": ("estimate_text", "to_dot", "to_mermaid", "write_json"),
        },
    )

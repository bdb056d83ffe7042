"""A plan as text for other tools: JSON, Graphviz DOT and Mermaid (pure, byte-stable)."""

from __future__ import annotations

import io
import json
from itertools import pairwise
from json.encoder import encode_basestring as _string
from typing import TextIO

from runbook.durations import format_duration
from runbook.plan._build import Plan, PlanStep


def to_json_text(plan: Plan) -> str:
    """The plan JSON, indent 2, sorted keys, ending with a newline."""
    out = io.StringIO()
    write_json(plan, out)
    return out.getvalue()


def write_json(plan: Plan, out: TextIO) -> None:
    """Write exactly `json.dumps(plan.to_json(), indent=2, sort_keys=True,
    ensure_ascii=False)` and a newline, step by step.

    json's indenting encoder is pure Python and builds the whole text in memory; a
    10,000-step plan lists millions of host names, so this writes each step as it goes
    and encodes strings with json's C helper.
    """
    data = plan.to_json()
    steps = data.pop("steps")
    keys = sorted([*data, "steps"])
    out.write("{")
    for k, key in enumerate(keys):
        out.write(("," if k else "") + "\n  " + _string(key) + ": ")
        if key != "steps":
            out.write(_pretty(data[key], 1))
            continue
        if not steps:
            out.write("[]")
            continue
        out.write("[")
        for i, step in enumerate(steps):
            out.write(("," if i else "") + "\n    " + _pretty(step, 2))
        out.write("\n  ]")
    out.write("\n}\n")


def _pretty(value: object, level: int) -> str:
    """One value as json.dumps(indent=2, sort_keys=True) writes it at `level`."""
    if isinstance(value, dict):
        if not value:
            return "{}"
        inner = "\n" + "  " * (level + 1)
        items = [_string(k) + ": " + _pretty(value[k], level + 1) for k in sorted(value)]
        return "{" + inner + ("," + inner).join(items) + "\n" + "  " * level + "}"
    if isinstance(value, list):
        if not value:
            return "[]"
        inner = "\n" + "  " * (level + 1)
        if all(type(v) is str for v in value):
            items = list(map(_string, value))
        else:
            items = [_pretty(v, level + 1) for v in value]
        return "[" + inner + ("," + inner).join(items) + "\n" + "  " * level + "]"
    if isinstance(value, str):
        return _string(value)
    return json.dumps(value)


def estimate_text(step: PlanStep) -> str:
    """`10m`, `10m (5m–40m)`, or `5m (default)` when the playbook gave none."""
    e = step.estimate
    likely = format_duration(e.likely_s)
    if not e.given:
        return f"{likely} (default)"
    if e.three_point:
        return f"{likely} ({format_duration(e.min_s)}–{format_duration(e.max_s)})"
    return likely


def _critical_edges(plan: Plan) -> set[tuple[str, str]]:
    return set(pairwise(plan.critical_path))


def _dot_quote(text: str) -> str:
    # DOT strings: only `"` and `\` need escaping; newlines become DOT's centred `\n`.
    escaped = text.replace("\\", "\\\\").replace('"', '\\"')
    return '"' + escaped.replace("\r", "").replace("\n", "\\n") + '"'


def to_dot(plan: Plan) -> str:
    """Graphviz: one cluster per phase, the critical path in bold."""
    critical = set(plan.critical_path)
    lines = [
        f"digraph {_dot_quote(plan.playbook)} {{",
        f"  graph [label={_dot_quote(_caption(plan))}, labelloc=t, rankdir=TB, "
        'fontname="Helvetica"];',
        '  node [shape=box, style=rounded, fontname="Helvetica", fontsize=10];',
        '  edge [color="#666666"];',
    ]
    for i, phase in enumerate(plan.phases):
        lines.append(f"  subgraph cluster_{i} {{")
        lines.append(f"    label={_dot_quote(phase)};")
        lines.append('    style="rounded,dashed";')
        for s in plan.steps:
            if s.phase != phase:
                continue
            label = _dot_quote(f"{s.id}\n{s.title}\n{s.kind} · {estimate_text(s)}")
            style = ', style="rounded,bold", penwidth=2.5' if s.id in critical else ""
            lines.append(f"    {_dot_quote(s.id)} [label={label}{style}];")
        lines.append("  }")
    hot = _critical_edges(plan)
    for s in plan.steps:
        for need in s.needs:
            attrs = ' [style=bold, penwidth=2.5, color="#c00000"]' if (need, s.id) in hot else ""
            lines.append(f"  {_dot_quote(need)} -> {_dot_quote(s.id)}{attrs};")
    lines.append("}")
    return "\n".join(lines) + "\n"


def _mermaid_text(text: str) -> str:
    # Inside a quoted Mermaid label, `"` ends the label and `<`/`>` read as HTML; use
    # Mermaid's entity codes so any title renders as written.
    out = text.replace("&", "#amp;").replace('"', "#quot;")
    return out.replace("<", "#lt;").replace(">", "#gt;").replace("\n", " ")


def to_mermaid(plan: Plan) -> str:
    """Mermaid `flowchart TD`, a subgraph per phase, critical path as thick links."""
    # Step ids may be Mermaid keywords (`end`) or start like edge syntax (`o-…`, `x-…`),
    # so nodes get neutral ids s0, s1, … and the step id is shown in the label.
    node = {s.id: f"s{i}" for i, s in enumerate(plan.steps)}
    lines = ["flowchart TD"]
    for i, phase in enumerate(plan.phases):
        lines.append(f'  subgraph p{i}["{_mermaid_text(phase)}"]')
        for s in plan.steps:
            if s.phase == phase:
                label = _mermaid_text(f"{s.id}: {s.title}")
                lines.append(f'    {node[s.id]}["{label}<br/>{estimate_text(s)}"]')
        lines.append("  end")
    hot = _critical_edges(plan)
    for s in plan.steps:
        for need in s.needs:
            arrow = "==>" if (need, s.id) in hot else "-->"
            lines.append(f"  {node[need]} {arrow} {node[s.id]}")
    if plan.critical_path:
        lines.append("  classDef critical stroke-width:3px,stroke:#c00000")
        lines.append("  class " + ",".join(node[c] for c in plan.critical_path) + " critical")
    return "\n".join(lines) + "\n"


def _caption(plan: Plan) -> str:
    text = f"{plan.title} — P50 {format_duration(plan.p50_s)}, P90 {format_duration(plan.p90_s)}"
    if plan.rto_s is not None:
        text += f", RTO {format_duration(plan.rto_s)}"
    return text

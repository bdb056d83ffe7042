"""docs/journal.md's event table, read as data: which event types it lists and which `data`
keys it names for each, to check real journals against (tests/test_journal_doc.py,
tests/test_examples.py)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

from runbook.events._event import Event

ROOT = Path(__file__).resolve().parents[1]
JOURNAL_MD = ROOT / "docs" / "journal.md"
NAME = r"`([a-z_0-9]+)(?::[^`]*)?`"  # `name`, or `name: value` as in `tolerated: true`


def table() -> dict[str, tuple[str, str, set[str]]]:
    """The event table: type -> (step column, host column, the names in `data`)."""
    rows: dict[str, tuple[str, str, set[str]]] = {}
    text = JOURNAL_MD.read_text().split("## Event types", 1)[1].split("\n## ", 1)[0]
    for line in text.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        m = re.fullmatch(r"`([a-z_]+)`", cells[0]) if len(cells) == 5 else None
        if m:
            rows[m.group(1)] = (cells[1], cells[2], set(re.findall(NAME, cells[3])))
    return rows


def paragraph(title: str) -> set[str]:
    """The names in backticks of the "Details of some events" paragraph on `title`."""
    text = JOURNAL_MD.read_text()
    start = text.index(f"**`{title}`**")
    return set(re.findall(NAME, text[start : text.index("\n\n", start)]))


def undocumented(evs: Iterable[Event]) -> list[str]:
    """What these events hold that the table does not say: data keys, step and host."""
    rows = table()
    wrong: set[str] = set()
    for e in evs:
        if e.type not in rows:
            wrong.add(f"{e.type}: not in the table")
            continue
        step_col, host_col, names = rows[e.type]
        wrong.update(f"{e.type}.data.{k}" for k in e.data if k not in names)
        if (step_col == "✓") != (e.step is not None):
            wrong.add(f"{e.type}: step is {e.step!r}, the table says {step_col}")
        if (host_col == "–" and e.host is not None) or (host_col == "✓" and e.host is None):
            wrong.add(f"{e.type}: host is {e.host!r}, the table says {host_col}")
        if e.type == "run_started":
            options = paragraph("run_started.data.options")
            plan = paragraph("run_started.data.plan")
            wrong.update(f"options.{k}" for k in e.data["options"] if k not in options)
            wrong.update(f"plan.{k}" for k in e.data["plan"] if k not in plan)
            for step in e.data["plan"]["steps"]:
                wrong.update(f"plan.steps[].{k}" for k in step if k not in plan)
    return sorted(wrong)

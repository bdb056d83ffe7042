"""Audit reports: pure functions from journal events to jsonl, csv, markdown and html."""

from __future__ import annotations

from collections.abc import Sequence

from runbook.events import Event


def render(fmt: str, events: Sequence[Event]) -> str:
    """One run's events as `fmt` (jsonl, csv, md or html)."""
    if fmt == "jsonl":
        from runbook.report.jsonl import jsonl_lines

        return "".join(jsonl_lines(events))
    if fmt == "csv":
        from runbook.report.csv_export import render_csv

        return render_csv(events)
    if fmt == "md":
        from runbook.report.markdown import render_markdown

        return render_markdown(events)
    if fmt == "html":
        from runbook.report.html import render_html

        return render_html(events)
    raise ValueError(f"unknown export format {fmt!r}")

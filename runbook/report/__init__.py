"""Audit reports: pure functions from journal events to jsonl, csv, markdown and html."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from runbook.events import Event
from runbook.exports import lazy_exports

if TYPE_CHECKING:
    from runbook.report._jsonl import parse_event as parse_event
    from runbook.report._run_summary import (
        FailedHost as FailedHost,
        FailedStep as FailedStep,
        RunSummary as RunSummary,
        failure_text as failure_text,
        host_label as host_label,
        run_summary as run_summary,
    )
    from runbook.report._status_md import (
        next_update_at as next_update_at,
        render_status_md as render_status_md,
    )
else:  # at run time each name is imported on first use: see runbook/exports.py
    __getattr__, __all__ = lazy_exports(
        __name__,
        {
            "_jsonl": ("parse_event",),
            "_run_summary": (
                "FailedHost",
                "FailedStep",
                "RunSummary",
                "failure_text",
                "host_label",
                "run_summary",
            ),
            "_status_md": ("next_update_at", "render_status_md"),
        },
    )


def render(fmt: str, events: Sequence[Event]) -> str:
    """One run's events as `fmt` (jsonl, csv, md or html)."""
    if fmt == "jsonl":
        from runbook.report._jsonl import jsonl_lines

        return "".join(jsonl_lines(events))
    if fmt == "csv":
        from runbook.report._csv import render_csv

        return render_csv(events)
    if fmt == "md":
        from runbook.report._markdown import render_markdown

        return render_markdown(events)
    if fmt == "html":
        from runbook.report._html import render_html

        return render_html(events)
    raise ValueError(f"unknown export format {fmt!r}")

"""The terminal: live view, plain lines, summary, logs, status, tables; the only rich importer."""

from __future__ import annotations

from typing import TYPE_CHECKING

from runbook.exports import lazy_exports

if TYPE_CHECKING:
    from runbook.present._grid import (
        Column as Column,
        Grid as Grid,
        print_out as print_out,
    )
    from runbook.present._live import LiveView as LiveView
    from runbook.present._logs import log_lines as log_lines
    from runbook.present._plain import PlainListener as PlainListener
    from runbook.present._status import (
        event_lines as event_lines,
        render_status as render_status,
        runs_text as runs_text,
        status_text as status_text,
    )
    from runbook.present._summary import (
        print_summary as print_summary,
        render_summary as render_summary,
        summary_text as summary_text,
    )
    from runbook.present._tables import render_plan as render_plan
else:  # at run time each name is imported on first use: see runbook/exports.py
    __getattr__, __all__ = lazy_exports(
        __name__,
        {
            "_grid": ("Column", "Grid", "print_out"),
            "_live": ("LiveView",),
            "_logs": ("log_lines",),
            "_plain": ("PlainListener",),
            "_summary": ("print_summary", "render_summary", "summary_text"),
            "_status": ("event_lines", "render_status", "runs_text", "status_text"),
            "_tables": ("render_plan",),
        },
    )

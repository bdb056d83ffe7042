"""A local step runs on this machine: every report says so, none leaves a blank host."""

from __future__ import annotations

from audit_helpers import MemoryChain
from journal_helpers import T0, plan, plan_step

from runbook.app._status_doc import status_document
from runbook.events import fold
from runbook.present import status_text
from runbook.report import render, render_status_md


def _local_failure() -> list:  # type: ignore[type-arg]
    chain = MemoryChain()
    the_plan = plan(plan_step("reload", kind="local"), rto_s=600.0)
    add = chain.append
    add("RUN", "run_started", ts=T0, data={"mode": "live", "plan": the_plan, "rto_s": 600.0})
    add("RUN", "step_started", ts=T0 + 1, step="reload", data={"attempt": 1})
    add(
        "RUN",
        "host_started",
        ts=T0 + 1,
        step="reload",
        host="",
        data={"action": "run", "attempt": 1},
    )
    add(
        "RUN",
        "host_output",
        ts=T0 + 2,
        step="reload",
        host="",
        data={"text": "bad config\n", "attempt": 1},
    )
    failed = {"reason": "exit", "exit_code": 3, "message": "run exited 3", "attempt": 1}
    add("RUN", "host_failed", ts=T0 + 2, step="reload", host="", data=failed)
    add("RUN", "step_failed", ts=T0 + 2, step="reload", data={"reason": "run exited 3"})
    add("RUN", "run_finished", ts=T0 + 3, data={"result": "failed"})
    return chain.events


def test_status_and_every_report_name_this_machine() -> None:
    events = _local_failure()
    doc = status_document(fold(events), live=False, now=T0 + 60)
    text = status_text(doc)
    assert "      this machine: run exited 3\n" in text
    rto = next(line for line in text.splitlines() if " RTO " in line)
    assert rto.endswith("RTO 10m → 11:16Z not met yet"), rto  # never "met": it failed
    md_status = render_status_md(doc, T0 + 1800)
    assert "**failed** on this machine (exit 3)" in md_status
    md = render("md", events)
    assert "failed on this machine (exit 3)" in md and ", this machine, attempt 1" in md
    html = render("html", events)
    assert "<code>reload</code> on this machine, attempt 1" in html
    for shown in (text, md_status, md, html):
        assert " on  " not in shown and "on  (" not in shown and "\n      : " not in shown

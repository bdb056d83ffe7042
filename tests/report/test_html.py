"""The html report: self-contained, escaped, bounded, and rendered by a real browser."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from audit_helpers import RUN_ID, T0, MemoryChain, journal_restore, memory_restore, record_restore

from runbook.clock import parse_iso
from runbook.report._html import render_html
from runbook.report._svg import LABEL_GAP, MIN_FAILED_W, spread_labels

ROOT = Path(__file__).resolve().parents[2]
PLAYBOOK = ROOT / "playbooks" / "datacenter-restore.yml"
INVENTORY = ROOT / "inventory" / "datacenter.yml"
CHROMIUM = next(
    (p for p in map(shutil.which, ("chromium", "chromium-browser", "google-chrome")) if p), None
)
SVG_NS = "http://www.w3.org/2000/svg"


def cli(*args: str, state: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "runbook", "--state", str(state), *args],
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_report_is_self_contained_and_prints() -> None:
    html = render_html(memory_restore())
    assert html.startswith("<!DOCTYPE html>")
    without_ns = html.replace(SVG_NS, "")
    assert not re.search(r"https?://", without_ns), "an external reference"
    assert not re.search(r"<(script|link|img|iframe)\b", html, re.I)
    assert "@media print" in html and "@page" in html


def test_report_escapes_output_and_notes() -> None:
    html = render_html(memory_restore())
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; &amp; queue" in html
    assert "<script>" not in html


def test_report_has_a_gantt_row_per_step_and_the_eta_history() -> None:
    html = render_html(memory_restore())
    rows = re.findall(r'<g class="gantt-row" data-step="([^"]+)"', html)
    assert rows == [
        "utility-power",
        "core-switches",
        "storage-array",
        "dns",
        "mail",
        "telephony",
        "wiki",  # planned to start before apps: rows follow the plan's schedule
        "apps",
    ]
    assert html.count('class="planned"') == len(rows)
    # mail failed, then succeeded on the operator's retry: two actual bars, red then green
    mail = html.split('data-step="mail"', 1)[1].split("</g>", 1)[0]
    assert mail.index('fill="#c62828"') < mail.index('fill="#2e7d32"')
    assert 'class="eta-chart"' in html and 'class="p50"' in html and 'class="band"' in html
    assert "RTO deadline" in html and "actual finish" in html
    for section in ("Phases", "Operator decisions", "Failures", "queue rebuilt by hand"):
        assert section in html


def test_report_output_tails_stay_bounded() -> None:
    chain = MemoryChain()
    record_restore(chain.append)
    events = chain.events[:-1]  # keep the chain: append more before the finish
    chain.events = events
    big = "x" * 200_000 + "\nthe real error is here\n"
    for attempt in range(1, 4):
        chain.append(
            RUN_ID,
            "host_started",
            ts=T0 + 9000 + attempt,
            step="dns",
            host="dns1",
            data={"attempt": 9 + attempt, "action": "run"},
        )
        for _ in range(20):
            chain.append(
                RUN_ID,
                "host_output",
                ts=T0 + 9000 + attempt,
                step="dns",
                host="dns1",
                data={"stream": "stdout", "text": big, "truncated": True},
            )
        chain.append(
            RUN_ID,
            "host_failed",
            ts=T0 + 9001 + attempt,
            step="dns",
            host="dns1",
            data={
                "attempt": 9 + attempt,
                "reason": "exit",
                "exit_code": 2,
                "message": "exit status 2",
                "duration_s": 1.0,
            },
        )
    html = render_html(chain.events)
    assert len(html) < 120_000
    assert html.count("the real error is here") >= 3


def _chromium(*args: str, profile: Path) -> subprocess.CompletedProcess[str]:
    assert CHROMIUM is not None
    return subprocess.run(
        [
            CHROMIUM,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
            f"--user-data-dir={profile}",
            *args,
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )


def _rehearsal_or_journal(db: Path) -> str:
    """A real rehearsal of the example playbook; the journaled scenario until one exists."""
    out = cli(
        "rehearse",
        str(PLAYBOOK),
        "-i",
        str(INVENTORY),
        "--speed",
        "max",
        "--seed",
        "7",
        state=db,
    )
    if out.returncode in (0, 1):
        return "latest"
    if "No such command 'rehearse'" in out.stderr or not PLAYBOOK.exists():
        return journal_restore(db)
    pytest.fail(f"rehearse failed ({out.returncode}): {out.stderr[-2000:]}")


@pytest.mark.skipif(CHROMIUM is None, reason="chromium not installed (make system-deps)")
def test_report_renders_in_headless_chromium(tmp_path: Path) -> None:
    db = tmp_path / "state.db"
    run = _rehearsal_or_journal(db)
    report = tmp_path / "report.html"
    out = cli("export", run, "--format", "html", "-o", str(report), state=db)
    assert out.returncode == 0, out.stderr
    jsonl = cli("export", run, "--format", "jsonl", state=db).stdout
    first = json.loads(jsonl.splitlines()[0])
    steps = [s["id"] for s in first["data"]["plan"]["steps"]]

    dom = _chromium("--dump-dom", report.as_uri(), profile=tmp_path / "profile-dom")
    assert dom.returncode == 0, dom.stderr[-2000:]
    rendered = re.findall(r'<g class="gantt-row" data-step="([^"]+)"', dom.stdout)
    assert sorted(rendered) == sorted(steps)  # one Gantt row per step, none twice
    assert 'class="eta-chart"' in dom.stdout and 'class="p50"' in dom.stdout
    assert "<script" not in dom.stdout

    shot = tmp_path / "report.png"
    png = _chromium(
        f"--screenshot={shot}",
        "--window-size=1400,2000",
        report.as_uri(),
        profile=tmp_path / "profile-shot",
    )
    assert png.returncode == 0, png.stderr[-2000:]
    data = shot.read_bytes()
    assert data.startswith(b"\x89PNG") and len(data) > 20_000
    if os.environ.get("RUNBOOK_UPDATE_SCREENSHOT"):  # refresh docs/report.png on purpose
        shutil.copyfile(shot, ROOT / "docs" / "report.png")


def _rewritten(events: list[Any], **started: Any) -> list[Any]:
    """The same scenario with `run_started` changed (the chain re-made, as the journal would)."""
    chain = MemoryChain()
    for e in events:
        data = {**e.data, **started} if e.type == "run_started" else e.data
        chain.append(e.run_id, e.type, ts=parse_iso(e.ts), step=e.step, host=e.host, data=data)
    return chain.events


def _as_rehearsal(events: list[Any]) -> list[Any]:
    return _rewritten(events, mode="rehearsal")


def test_a_rehearsal_is_marked_in_the_title_and_the_badge() -> None:
    live = render_html(memory_restore())
    rehearsal = render_html(_as_rehearsal(memory_restore()))
    assert "<h1>Rehearsal: " in rehearsal and "— rehearsal " in rehearsal
    assert '<span class="badge rehearsal" style="background:#5e35b1">rehearsal succeeded' in (
        rehearsal
    )
    assert "Rehearsal" not in live and "badge rehearsal" not in live
    assert '<span class="badge" style="background:#2e7d32">succeeded</span>' in live


def test_phase_groups_are_labelled_and_a_failed_attempt_is_never_a_sliver() -> None:
    html = render_html(memory_restore())
    groups = re.findall(r'data-phase="([^"]+)".*?class="phase-label"[^>]*>([^<]+)<', html)
    assert [name for name, _ in groups] == [label for _, label in groups]
    assert [name for name, _ in groups] == [
        "power",
        "network",
        "storage",
        "directory",
        "messaging",
        "applications",
    ]
    mail = html.split('data-step="mail"', 1)[1].split("</g>", 1)[0]
    failed = re.search(r'width="([\d.]+)" height="[\d.]+" fill="#c62828"', mail)
    assert failed is not None and float(failed.group(1)) >= MIN_FAILED_W


def test_labels_that_would_overlap_are_moved_apart() -> None:
    assert spread_labels([100.0, 104.0, 300.0]) == [100.0, 114.0, 300.0]
    assert spread_labels([104.0, 100.0]) == [114.0, 100.0]
    # An RTO a minute after the finish: the lines almost touch, their labels do not.
    events = memory_restore()
    took = parse_iso(events[-1].ts) - parse_iso(events[0].ts)
    html = render_html(_rewritten(events, rto_s=took + 60))
    for chart in ('class="gantt"', 'class="eta-chart"'):
        svg = html.split(chart, 1)[1].split("</svg>", 1)[0]
        ys = {
            cls: float(y)
            for cls, y in re.findall(r'class="(rto|finish)-label" x="[\d.]+" y="([\d.]+)"', svg)
        }
        assert set(ys) == {"rto", "finish"}, chart
        assert abs(ys["rto"] - ys["finish"]) >= LABEL_GAP, chart

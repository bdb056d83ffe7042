"""`runbook export`: jsonl, csv and md say what the journal says, and nothing more."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest
from audit_helpers import SECRET, journal_restore, memory_restore

from runbook.clock import parse_iso
from runbook.events._event import event_hash
from runbook.journal._store import Journal
from runbook.report._csv import COLUMNS, render_csv
from runbook.report._markdown import render_markdown


def cli(*args: str, state: Path, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "runbook", "--state", str(state), *args],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=cwd,
    )


@pytest.fixture(scope="module")
def journal(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    db = tmp_path_factory.mktemp("export") / "state.db"
    return db, journal_restore(db)


def test_jsonl_has_exactly_the_spec_fields_and_the_journal_hashes(
    journal: tuple[Path, str],
) -> None:
    db, run_id = journal
    out = cli("export", "latest", "--format", "jsonl", state=db)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    with Journal(db, create=False) as j:
        stored = j.events(run_id)
    assert len(lines) == len(stored)
    fields = ["run_id", "seq", "ts", "type", "step", "host", "data", "prev_hash", "hash"]
    for line, ev in zip(lines, stored, strict=True):
        obj = json.loads(line)
        assert list(obj) == fields
        assert obj == ev.as_dict()
        assert obj["hash"] == event_hash(ev)
    assert f"chain head {stored[-1].hash}" in out.stderr


def test_csv_reads_back_one_row_per_step_and_host(
    journal: tuple[Path, str], tmp_path: Path
) -> None:
    db, run_id = journal
    path = tmp_path / "run.csv"
    out = cli("export", run_id[:12], "--format", "csv", "-o", str(path), state=db)
    assert out.returncode == 0, out.stderr
    with path.open(newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        assert tuple(reader.fieldnames or ()) == COLUMNS
        rows = list(reader)
    with Journal(db, create=False) as j:
        events = j.events(run_id)
    plan = events[0].data["plan"]
    expected = []
    for step in plan["steps"]:
        if step["kind"] == "remote":
            expected += [(step["id"], h) for h in step["hosts"]]
        else:
            expected.append((step["id"], ""))
    assert [(r["step"], r["host"]) for r in rows] == expected
    by_key = {(r["step"], r["host"]): r for r in rows}

    # Numbers agree with the journal: each host's first start and last outcome.
    for step_id, host in expected:
        r = by_key[(step_id, host)]
        assert r["run_id"] == run_id
        if host:
            mine = [e for e in events if e.step == step_id and e.host == host]
            starts = [e for e in mine if e.type == "host_started"]
            ends = [e for e in mine if e.type in ("host_succeeded", "host_failed")]
        else:
            mine = [e for e in events if e.step == step_id and e.host is None]
            starts = [e for e in mine if e.type in ("step_started", "manual_waiting")]
            ends = [e for e in mine if e.type in ("step_succeeded", "step_failed", "step_skipped")]
        if not starts:
            assert r["actual_start"] == "" and r["actual_duration_s"] == ""
            continue
        assert r["actual_start"] == starts[0].ts
        assert r["actual_end"] == ends[-1].ts
        span = parse_iso(ends[-1].ts) - parse_iso(starts[0].ts)
        assert float(r["actual_duration_s"]) == pytest.approx(span, abs=0.001)

    mx2 = by_key[("mail", "mx2")]
    assert (mx2["result"], mx2["attempts"]) == ("succeeded", "2")
    assert (mx2["operator"], mx2["note"]) == ("bob", "queue rebuilt by hand")
    assert by_key[("wiki", "wiki1")]["result"] == "skipped"
    power = by_key[("utility-power", "")]
    assert (power["kind"], power["operator"]) == ("manual", "alice")
    # The plan's P50 schedule: dns starts when its slower need (storage, 15m) ends.
    dns = by_key[("dns", "dns1")]
    start = parse_iso(events[0].ts)
    assert parse_iso(dns["planned_start"]) - start == pytest.approx(1200 + 900)
    assert float(dns["planned_duration_s"]) == 300.0


def test_csv_of_a_run_in_progress_shows_what_is_not_done() -> None:
    events = memory_restore()
    cut = next(i for i, e in enumerate(events) if e.type == "step_blocked") + 1
    rows = list(csv.DictReader(io.StringIO(render_csv(events[:cut]))))
    results = {(r["step"], r["host"]): r["result"] for r in rows}
    assert results[("mail", "mx2")] == "failed"
    assert results[("apps", "")] == "blocked"
    assert results[("telephony", "")] == "running"
    assert results[("wiki", "wiki1")] == "not run"


def test_md_is_a_review_timeline_with_decisions_and_failures() -> None:
    text = render_markdown(memory_restore())
    assert text.startswith("# Restore after hosting-provider power loss")
    for heading in ("## Phases", "## Timeline", "## Failures", "## Operator decisions"):
        assert heading in text
    assert "| bob | `mail` | retry requested | queue rebuilt by hand |" in text
    assert "| carol | `apps` | answered done | records load; 2 wards checked |" in text
    assert "met with" in text
    # Output is fenced whole: its own ``` cannot close the block, its HTML stays text.
    block = text.split("Last output (earlier output cut):", 1)[1]
    assert block.lstrip().startswith("````text")
    assert "<script>alert('x')</script>" in block.split("````", 2)[1]


def test_md_tables_survive_hostile_notes() -> None:
    from audit_helpers import MemoryChain, record_restore

    chain = MemoryChain()

    def append(run_id: str, type: str, **kw: object) -> object:
        data = kw.get("data")
        if isinstance(data, dict) and "note" in data:
            data = {**data, "note": "a | b\n## not a heading <b>x</b>"}
            kw = {**kw, "data": data}
        return chain.append(run_id, type, **kw)  # type: ignore[arg-type]

    record_restore(append)
    text = render_markdown(chain.events)
    assert "\n## not a heading" not in text
    assert "a \\| b \\#\\# not a heading &lt;b&gt;x&lt;/b&gt;" in text


def test_exports_add_no_secret(journal: tuple[Path, str], tmp_path: Path) -> None:
    db, _ = journal
    for fmt in ("jsonl", "csv", "md", "html"):
        out = cli("export", "latest", "--format", fmt, state=db)
        assert out.returncode == 0, out.stderr
        assert SECRET not in out.stdout
    assert "--password ***" in cli("export", "latest", "-f", "jsonl", state=db).stdout


def test_export_writes_the_file_and_guesses_the_format(
    journal: tuple[Path, str], tmp_path: Path
) -> None:
    db, _ = journal
    out = cli("export", "latest", "-o", "report.md", state=db, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert (tmp_path / "report.md").read_text().startswith("# Restore after")
    assert out.stdout == ""


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["export", "latest", "--format", "pdf"], "--format 'pdf' is not one of"),
        (["export", "latest"], "--format is required"),
        (["export", "nope", "--format", "csv"], "no run 'nope'"),
    ],
)
def test_export_errors_are_one_line_and_exit_2(
    journal: tuple[Path, str], args: list[str], message: str
) -> None:
    db, _ = journal
    out = cli(*args, state=db)
    assert out.returncode == 2
    assert message in out.stderr and "Traceback" not in out.stderr


def test_export_without_a_journal_says_so(tmp_path: Path) -> None:
    out = cli("export", "latest", "-f", "csv", state=tmp_path / "none.db")
    assert out.returncode == 2
    assert "no journal" in out.stderr
    assert not (tmp_path / "none.db").exists()


def test_export_of_a_tampered_journal_warns(tmp_path: Path) -> None:
    import sqlite3

    db = tmp_path / "state.db"
    run_id = journal_restore(db)
    conn = sqlite3.connect(db)
    conn.execute("DROP TRIGGER events_no_update")
    conn.execute("UPDATE events SET ts='2026-11-18T11:00:00.000Z' WHERE seq=5")
    conn.commit()
    conn.close()
    out = cli("export", run_id, "-f", "md", state=db)
    assert out.returncode == 0
    assert "warning: the journal of run" in out.stderr and "seq 5: edited" in out.stderr


def test_csv_keeps_a_note_that_looks_like_a_formula_as_text() -> None:
    # An auditor opens the CSV in a spreadsheet: a note typed as `=HYPERLINK(...)` or
    # `+cmd|...` must show as text, not run as a formula.
    formula = '=HYPERLINK("http://attacker.invalid","fix")'
    events = [
        replace(e, data={**e.data, "note": formula, "operator": "@bob"})
        if e.type == "operator_retry"
        else e
        for e in memory_restore()
    ]
    rows = list(csv.DictReader(io.StringIO(render_csv(events))))
    mail = next(r for r in rows if (r["step"], r["host"]) == ("mail", "mx2"))
    assert (mail["note"], mail["operator"]) == ("'" + formula, "'@bob")
    # Data columns are never touched; ordinary text is kept exactly.
    wiki = next(r for r in rows if r["step"] == "wiki")
    assert wiki["note"] == "wiki not needed tonight"
    assert all(not r["title"].startswith("'") for r in rows)

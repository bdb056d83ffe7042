"""The journal: a real SQLite file, its chain, its permissions, its locks and its failures."""

from __future__ import annotations

import os
import signal
import sqlite3
import stat
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from journal_helpers import T0, plan, plan_step, raw_rows, recompute_chain, start_run

from runbook.errors import JournalError, RunLocked, StateError
from runbook.journal._chain import verify_chain
from runbook.journal._runs import new_run_id
from runbook.journal._store import Journal

ROOT = Path(__file__).resolve().parents[2]


def _journal(tmp_path: Path) -> Journal:
    return Journal(tmp_path / "state" / "state.db")


def _py(code: str, *args: str) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": f"{ROOT}:{ROOT / 'tests'}"}
    return subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(code), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def test_new_file_is_private_and_in_wal_mode(tmp_path: Path) -> None:
    j = _journal(tmp_path)
    j.close()
    db = tmp_path / "state" / "state.db"
    assert stat.S_IMODE(db.stat().st_mode) == 0o600
    assert stat.S_IMODE(db.parent.stat().st_mode) == 0o700
    con = sqlite3.connect(db)
    assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert con.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()[0] == "1"
    con.close()


def test_chain_matches_spec_recomputed_independently(tmp_path: Path) -> None:
    j = _journal(tmp_path)
    run_id = start_run(j, plan(plan_step("a", hosts=("h1",))))
    j.append(run_id, "step_started", ts=T0 + 1, step="a", data={"attempt": 1, "hosts": ["h1"]})
    j.append(
        run_id,
        "host_output",
        ts=T0 + 2,
        step="a",
        host="h1",
        data={"stream": "stdout", "text": "héllo ✓\n", "truncated": False},
    )
    j.append(run_id, "step_succeeded", ts=T0 + 3, step="a", data={"duration_s": 2.0})
    rows = raw_rows(j.path, run_id)
    assert [r["seq"] for r in rows] == [1, 2, 3, 4]
    assert rows[0]["prev_hash"] == "0" * 64
    assert [r["hash"] for r in rows] == recompute_chain(rows)
    assert [r["prev_hash"] for r in rows[1:]] == [r["hash"] for r in rows[:-1]]
    assert rows[2]["ts"] == "2026-11-18T11:06:42.000Z"
    assert [e.as_dict() for e in j.events(run_id)] == rows


def test_append_returns_what_is_stored_even_for_odd_data(tmp_path: Path) -> None:
    j = _journal(tmp_path)
    run_id = start_run(j, plan(plan_step("a")))
    e = j.append(run_id, "eta", ts=T0, data={"critical_path": ("a",), "rto_risk": float("nan")})
    assert e.data == {"critical_path": ["a"], "rto_risk": None}
    assert j.events(run_id, after_seq=1) == [e]


def test_time_never_goes_backwards_within_a_run(tmp_path: Path) -> None:
    j = _journal(tmp_path)
    run_id = start_run(j, plan(plan_step("a")), ts=T0 + 100)
    e = j.append(run_id, "step_started", ts=T0, step="a", data={"attempt": 1})
    assert e.ts == j.events(run_id)[0].ts


def test_events_cannot_be_updated_or_deleted(tmp_path: Path) -> None:
    j = _journal(tmp_path)
    run_id = start_run(j, plan(plan_step("a")))
    j.close()
    con = sqlite3.connect(tmp_path / "state" / "state.db")
    for sql in (
        "UPDATE events SET data='{}'",
        "DELETE FROM events",
        "UPDATE runs SET mode='x'",
        "DELETE FROM runs",
    ):
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            con.execute(sql)
    con.close()
    assert len(Journal(tmp_path / "state" / "state.db").events(run_id)) == 1


def test_unknown_run_and_unknown_type_are_refused(tmp_path: Path) -> None:
    j = _journal(tmp_path)
    with pytest.raises(StateError, match="no run"):
        j.append("20260101-0000-beef", "eta", ts=T0)
    run_id = start_run(j, plan(plan_step("a")))
    with pytest.raises(ValueError, match="unknown journal event type"):
        j.append(run_id, "step_exploded", ts=T0)


def test_resolve_run_id(tmp_path: Path) -> None:
    j = _journal(tmp_path)
    with pytest.raises(StateError, match="no runs"):
        j.resolve_run_id("latest")
    a = j.new_run("p", "live", T0)
    b = j.new_run("p", "live", T0 + 3600)
    assert j.resolve_run_id("latest") == b
    assert j.resolve_run_id(a) == a
    assert j.resolve_run_id(b[:-1]) == b
    with pytest.raises(StateError, match="ambiguous"):
        j.resolve_run_id("2026")
    with pytest.raises(StateError, match="did you mean"):
        j.resolve_run_id(a[:-1] + ("0" if a[-1] != "0" else "1") + "x")


def test_run_ids_are_short_sortable_and_unique() -> None:
    ids = {new_run_id(T0) for _ in range(200)}
    assert len(ids) > 150  # 16 random bits per minute
    assert all(len(i) == 18 and i.startswith("20261118-1106-") for i in ids)
    assert new_run_id(T0) < new_run_id(T0 + 60)


APPENDER = """
import sys
from pathlib import Path
from runbook.journal._store import Journal
j = Journal(Path(sys.argv[1]))
for i in range(int(sys.argv[3])):
    j.append(sys.argv[2], "host_output", ts=1795000000.0 + i, step="a", host=sys.argv[4],
             data={"stream": "stdout", "text": str(i), "truncated": False})
"""


def test_two_processes_appending_keep_a_gapless_valid_chain(tmp_path: Path) -> None:
    j = _journal(tmp_path)
    run_id = start_run(j, plan(plan_step("a")))
    procs = [_py(APPENDER, str(j.path), run_id, "60", f"h{n}") for n in range(2)]
    for p in procs:
        _, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
    rows = raw_rows(j.path, run_id)
    assert [r["seq"] for r in rows] == list(range(1, 122))
    assert [r["hash"] for r in rows] == recompute_chain(rows)
    assert [r["prev_hash"] for r in rows[1:]] == [r["hash"] for r in rows[:-1]]


CONFIRMER = """
import os, sys, time
from pathlib import Path
from runbook.errors import StateError
from runbook.journal._store import Journal

j = Journal(Path(sys.argv[1]))
run_id, name, go = sys.argv[2], sys.argv[3], Path(sys.argv[4])

def check(state):
    s = state.steps["power"]
    if s.status != "waiting":
        return f"step power was already answered by {s.operator}"
    return None

print("ready", flush=True)
while not go.exists():
    time.sleep(0.001)
try:
    j.append_checked(run_id, "manual_answered", check=check, ts=1795000100.0, step="power",
                     data={"answer": "done", "operator": name, "note": None})
    print("won")
except StateError as e:
    print("lost:", e)
"""


def test_concurrent_confirms_have_exactly_one_winner(tmp_path: Path) -> None:
    j = _journal(tmp_path)
    run_id = start_run(j, plan(plan_step("power", kind="manual")))
    j.append(run_id, "step_started", ts=T0 + 1, step="power", data={"attempt": 1})
    j.append(run_id, "manual_waiting", ts=T0 + 1, step="power", data={"instructions": "x"})
    go = tmp_path / "go"
    procs = [_py(CONFIRMER, str(j.path), run_id, f"op{n}", str(go)) for n in range(4)]
    for p in procs:
        assert p.stdout is not None
        assert p.stdout.readline().strip() == "ready"
    go.touch()
    outs = []
    for p in procs:
        out, err = p.communicate(timeout=60)
        assert p.returncode == 0, err
        outs.append(out.strip())
    winners = [o for o in outs if o == "won"]
    assert len(winners) == 1, outs
    winner = f"op{outs.index('won')}"
    assert all(
        o == f"lost: step power was already answered by {winner}" for o in outs if o != "won"
    )
    answers = [e for e in j.events(run_id) if e.type == "manual_answered"]
    assert len(answers) == 1 and answers[0].data["operator"] == winner


def test_append_checked_refuses_and_writes_nothing(tmp_path: Path) -> None:
    j = _journal(tmp_path)
    run_id = start_run(j, plan(plan_step("a")))
    with pytest.raises(StateError, match="nope"):
        j.append_checked(run_id, "operator_retry", check=lambda s: "nope", ts=T0, step="a")
    e = j.append_checked(
        run_id,
        "operator_retry",
        check=lambda s: None,
        ts=T0,
        step="a",
        data=lambda state, ts: {"steps_known": sorted(state.steps)},
    )
    assert e.data == {"steps_known": ["a"]}
    assert [x.type for x in j.events(run_id)] == ["run_started", "operator_retry"]


def test_a_file_that_is_not_a_database_is_refused_and_left_alone(tmp_path: Path) -> None:
    db = tmp_path / "state.db"
    content = b"this is a restore checklist, not a database\n" * 200
    db.write_bytes(content)
    with pytest.raises(JournalError, match=r"damaged.*left untouched"):
        Journal(db)
    assert db.read_bytes() == content


def test_a_corrupt_page_is_a_clear_error(tmp_path: Path) -> None:
    db = tmp_path / "state.db"
    j = Journal(db)
    run_id = start_run(j, plan(plan_step("a")))
    for _ in range(300):
        j.append(
            run_id,
            "host_output",
            ts=T0,
            step="a",
            host="h",
            data={"stream": "stdout", "text": "x" * 200, "truncated": False},
        )
    j.close()
    con = sqlite3.connect(db)
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    con.close()
    data = bytearray(db.read_bytes())
    page = 4096
    assert len(data) > 10 * page
    for offset in range(3 * page, len(data) - page, page):  # every page but the schema
        data[offset : offset + 64] = b"\xff" * 64
    db.write_bytes(bytes(data))
    with pytest.raises(JournalError, match="damaged"):
        Journal(db).events(run_id)


def test_a_newer_schema_is_refused(tmp_path: Path) -> None:
    db = tmp_path / "state.db"
    Journal(db).close()
    con = sqlite3.connect(db)
    con.execute("UPDATE meta SET value='7' WHERE key='schema_version'")
    con.commit()
    con.close()
    with pytest.raises(JournalError, match=r"newer runbook.*schema 7"):
        Journal(db)


def test_disk_full_during_append_is_a_journal_error(tmp_path: Path) -> None:
    j = Journal(tmp_path / "state.db")
    run_id = start_run(j, plan(plan_step("a")))
    # Fault injection: cap the file at its current size, as a full disk would.
    pages = j._db.execute("PRAGMA page_count").fetchone()[0]
    j._db.execute(f"PRAGMA max_page_count={pages}")
    with pytest.raises(JournalError, match=r"cannot write the journal.*full"):
        for _ in range(100):
            j.append(
                run_id,
                "host_output",
                ts=T0,
                step="a",
                host="h",
                data={"stream": "stdout", "text": "y" * 3000, "truncated": False},
            )
    assert [e.seq for e in j.events(run_id)] == list(range(1, len(j.events(run_id)) + 1))


def test_missing_journal_without_create(tmp_path: Path) -> None:
    with pytest.raises(StateError, match="no journal"):
        Journal(tmp_path / "nothing.db", create=False)
    assert not (tmp_path / "nothing.db").exists()


HOLDER = """
import sys, time
from pathlib import Path
from runbook.journal._store import Journal
j = Journal(Path(sys.argv[1]))
with j.engine_lock(sys.argv[2]):
    print("locked", flush=True)
    time.sleep(120)
"""


def test_engine_lock_refuses_a_second_engine_and_frees_on_sigkill(tmp_path: Path) -> None:
    j = _journal(tmp_path)
    run_id = start_run(j, plan(plan_step("a")))
    assert not j.is_engine_live(run_id)
    holder = _py(HOLDER, str(j.path), run_id)
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "locked"
        assert j.is_engine_live(run_id)
        with pytest.raises(RunLocked, match=f"pid {holder.pid} on "), j.engine_lock(run_id):
            pass
        assert j.is_engine_live(run_id)  # probing and refusing left the holder's lock alone
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    assert not j.is_engine_live(run_id)
    with j.engine_lock(run_id):
        assert j.is_engine_live(run_id)
        lock = j.lock_path(run_id)
        assert lock.name == f"state.db.{run_id}.lock"
        assert stat.S_IMODE(lock.stat().st_mode) == 0o600
    assert not j.is_engine_live(run_id)


def test_engine_lock_in_one_process_is_exclusive_too(tmp_path: Path) -> None:
    j = _journal(tmp_path)
    run_id = start_run(j, plan(plan_step("a")))
    other = Journal(j.path)
    with (
        j.engine_lock(run_id),
        pytest.raises(RunLocked, match=str(os.getpid())),
        other.engine_lock(run_id),
    ):
        pass
    with other.engine_lock(run_id):
        pass


def test_runs_summarise_status_and_progress(tmp_path: Path) -> None:
    j = _journal(tmp_path)
    run_id = start_run(j, plan(plan_step("a"), plan_step("b", needs=("a",))))
    j.append(run_id, "step_started", ts=T0 + 1, step="a", data={"attempt": 1})
    j.append(run_id, "step_succeeded", ts=T0 + 5, step="a", data={"duration_s": 4.0})
    (summary,) = j.runs()
    assert (summary.run_id, summary.status, summary.done, summary.total) == (
        run_id,
        "running",
        1,
        2,
    )
    assert summary.mode == "live" and summary.playbook == "restore" and not summary.live


def test_readers_are_not_blocked_by_an_open_write_transaction(tmp_path: Path) -> None:
    j = _journal(tmp_path)
    run_id = start_run(j, plan(plan_step("a")))
    writer = sqlite3.connect(j.path, isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")
    try:
        reader = Journal(j.path)
        started = time.monotonic()
        assert len(reader.events(run_id)) == 1
        assert reader.resolve_run_id("latest") == run_id
        assert time.monotonic() - started < 10  # well under the busy timeout
    finally:
        writer.execute("ROLLBACK")
        writer.close()


def _chain_events(tmp_path: Path) -> list[dict[str, object]]:
    j = _journal(tmp_path)
    run_id = start_run(j, plan(plan_step("a")))
    for i in range(5):
        j.append(run_id, "eta", ts=T0 + i, data={"p50": f"p{i}"})
    return [e.as_dict() for e in j.events(run_id)]


def test_verify_chain_accepts_an_untouched_chain(tmp_path: Path) -> None:
    events = _chain_events(tmp_path)
    assert tuple(verify_chain(events)) == (True, None, "")
    assert verify_chain(events).count == 6


def test_verify_chain_names_each_kind_of_tampering(tmp_path: Path) -> None:
    events = _chain_events(tmp_path)

    edited = [dict(e) for e in events]
    edited[3]["data"] = {"p50": "forged"}
    ok, bad, why = verify_chain(edited)
    assert (ok, bad) == (False, 4) and "event 4 (eta) was edited" in why

    deleted = events[:2] + events[3:]
    ok, bad, why = verify_chain(deleted)
    assert (ok, bad) == (False, 3) and "event 3 is missing" in why

    reordered = [*events[:2], events[3], events[2], *events[4:]]
    ok, bad, why = verify_chain(reordered)
    assert (ok, bad) == (
        False,
        3,
    ) and "event 4 (eta) comes before event 3 (events reordered)" in why

    inserted = [*events[:3], events[2], *events[3:]]
    ok, bad, why = verify_chain(inserted)
    assert (ok, bad) == (False, 4) and "duplicated or inserted" in why

    # An event rewritten with a fresh hash still breaks the next event's prev_hash.
    rehashed = [dict(e) for e in events]
    rehashed[2]["data"] = {"p50": "forged"}
    rehashed[2]["hash"] = recompute_chain(rehashed)[2]
    ok, bad, why = verify_chain(rehashed)
    assert (ok, bad) == (False, 4) and "does not follow event 3" in why

    ok, bad, why = verify_chain([{"seq": 1}])
    assert (ok, bad) == (False, 1) and "lacks run_id" in why

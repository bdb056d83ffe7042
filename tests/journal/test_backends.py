"""The journal's contract on both backends (a real SQLite file, a real PostgreSQL database):
the same chain, one winner between two writers, history that cannot be rewritten."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from journal_helpers import T0, plan, plan_step, recompute_chain, start_run

from runbook.errors import JournalError, RunLocked, StateError
from runbook.journal import Draft, EventStore, open_journal
from runbook.journal._chain import verify_chain
from runbook.journal._decisions import confirm

ROOT = Path(__file__).resolve().parents[2]


def _manual_run(j: EventStore) -> str:
    run_id = start_run(j, plan(plan_step("power", kind="manual"), plan_step("net")))
    j.append(run_id, "step_started", ts=T0 + 1, step="power", data={"attempt": 1})
    j.append(run_id, "manual_waiting", ts=T0 + 2, step="power", data={"instructions": "x"})
    return run_id


def test_the_chain_is_the_documented_recipe_on_both(journal_state: Path | str) -> None:
    with open_journal(journal_state) as j:
        run_id = _manual_run(j)
        j.append_many(
            run_id,
            [
                Draft("host_output", T0 + 3, "net", "sw1", {"text": 'é ü 中 "q" \\n'}),
                Draft("host_output", T0 + 4, "net", "sw1", {"b": 1, "a": [1.5, None, True]}),
            ],
        )
        events = j.events(run_id)
    assert [e.seq for e in events] == list(range(1, len(events) + 1))
    rows = [e.as_dict() for e in events]
    assert recompute_chain(rows) == [e.hash for e in events]
    assert verify_chain(events).ok
    # ts never goes backwards, whichever clock wrote it (the database's, in team mode)
    assert [e.ts for e in events] == sorted(e.ts for e in events)


def test_an_unknown_run_and_an_unknown_type_are_refused(journal_state: Path | str) -> None:
    with open_journal(journal_state) as j:
        with pytest.raises(StateError, match="no run 'nope'"):
            j.state("nope")
        run_id = _manual_run(j)
        with pytest.raises(ValueError, match="unknown journal event type"):
            j.append(run_id, "made_up", ts=T0)
        assert len(j.events(run_id)) == 3


def test_history_cannot_be_rewritten_by_hand(journal_state: Path | str) -> None:
    with open_journal(journal_state) as j:
        run_id = _manual_run(j)
    statements = [
        "UPDATE {t}events SET data='{{}}' WHERE seq=1",
        "DELETE FROM {t}events WHERE seq=3",
        "UPDATE {t}runs SET playbook='other'",
        "DELETE FROM {t}runs",
    ]
    if isinstance(journal_state, Path):
        import sqlite3

        for sql in statements:
            con = sqlite3.connect(journal_state)
            with pytest.raises(sqlite3.DatabaseError, match="append-only"):
                con.execute(sql.format(t=""))
            con.close()
    else:
        import psycopg

        for sql in [*statements, "TRUNCATE {t}events", "TRUNCATE {t}runs CASCADE"]:
            with (
                psycopg.connect(journal_state, autocommit=True) as con,
                pytest.raises(psycopg.errors.RaiseException, match="append-only"),
            ):
                con.execute(sql.format(t="runbook."))
    with open_journal(journal_state) as j:
        assert len(j.events(run_id)) == 3 and verify_chain(j.events(run_id)).ok


def test_two_writers_keep_one_gapless_chain(journal_state: Path | str) -> None:
    with open_journal(journal_state) as j:
        run_id = _manual_run(j)
    code = textwrap.dedent(
        """
        import sys
        from runbook.journal import open_journal
        state, run_id, who = sys.argv[1], sys.argv[2], sys.argv[3]
        state = state if "://" in state else __import__("pathlib").Path(state)
        with open_journal(state) as j:
            for n in range(60):
                j.append(run_id, "host_output", ts=0.0, step="net", host=who,
                         data={"text": f"{who} {n}"})
        """
    )
    env = {**os.environ, "PYTHONPATH": f"{ROOT}:{ROOT / 'tests'}"}
    procs = [
        subprocess.Popen([sys.executable, "-c", code, str(journal_state), run_id, who], env=env)
        for who in ("a", "b", "c")
    ]
    assert [p.wait(timeout=120) for p in procs] == [0, 0, 0]
    with open_journal(journal_state) as j:
        events = j.events(run_id)
    assert len(events) == 3 + 180
    assert [e.seq for e in events] == list(range(1, 184))
    assert verify_chain(events).ok


def test_two_answers_to_one_question_one_wins(journal_state: Path | str) -> None:
    from runbook.clock import RealClock

    with open_journal(journal_state) as j:
        run_id = _manual_run(j)
    with open_journal(journal_state) as a, open_journal(journal_state) as b:
        first = confirm(
            a, run_id, "power", answer="done", note=None, operator="ana", clock=RealClock()
        )
        with pytest.raises(StateError, match="ana"):
            confirm(b, run_id, "power", answer="skip", note=None, operator="ben", clock=RealClock())
    assert first.events[0].data["operator"] == "ana"


def test_one_engine_holds_a_run_and_the_other_is_told_who(journal_state: Path | str) -> None:
    with open_journal(journal_state) as j:
        run_id = _manual_run(j)
        assert not j.is_engine_live(run_id)
        with j.engine_lock(run_id):
            assert j.is_engine_live(run_id)
            with open_journal(journal_state) as other:
                assert other.is_engine_live(run_id)
                with (
                    pytest.raises(RunLocked, match=f"{os.getpid()}"),  # pid, or HOST:PID:RANDOM
                    other.engine_lock(run_id),
                ):
                    pass
        assert not j.is_engine_live(run_id)


def test_a_run_record_and_runs_list_agree(journal_state: Path | str) -> None:
    with open_journal(journal_state) as j:
        run_id = _manual_run(j)
        record = j.run_record(run_id)
        (summary,) = j.runs()
        assert j.resolve_run_id("latest") == run_id == record.run_id == summary.run_id
        assert (record.playbook, record.mode) == ("restore", "live")
        assert (summary.status, summary.total, summary.live) == ("running", 2, False)


def test_an_unreachable_database_is_one_clear_line_without_its_password(
    pg_cluster: object,
) -> None:
    url = "postgresql://runbook:hunter2-secret@127.0.0.1:9/nowhere"
    with pytest.raises(JournalError) as caught:
        open_journal(url)
    text = str(caught.value)
    assert "hunter2" not in text and "runbook:***@127.0.0.1:9/nowhere" in text
    assert "nothing journaled is lost" in text


def test_each_commit_notifies_live_views_with_run_and_seq(pg_url: str) -> None:
    import psycopg

    with open_journal(pg_url) as j, psycopg.connect(pg_url, autocommit=True) as listener:
        run_id = _manual_run(j)
        listener.execute("LISTEN runbook_events")
        j.append_many(run_id, [Draft("host_output", T0, "net", "sw1", {"text": "x"})] * 2)
        j.append(run_id, "host_output", ts=T0, step="net", host="sw1", data={"text": "y"})
        notes = [n.payload for n in listener.notifies(timeout=10, stop_after=2)]
    assert notes == [f"{run_id} 5", f"{run_id} 6"]  # one per commit: the batch's last seq

"""docs/journal.md's event table against what the journal really holds: every event type
runbook knows is in the table, and every `data` key a run writes is named in its type's
row, so that the table and the events cannot drift apart again.

The journals come from the real CLI: a rehearsal of a `max_fail` step and a retried one,
and a live run of local steps (retries, a tolerated failure, a blocked step, cut output, an
output that does not parse, a claim, an expect, Ctrl-C, an operator retry and skip, a
resume). Team-mode events (PostgreSQL) and `host_key_accepted` (SSH) are checked only for
being in the table. tests/test_examples.py checks every example playbook's rehearsal
(manual steps, values, `when`, `min_ok`, copy and fetch) the same way.
"""

from __future__ import annotations

import signal
from pathlib import Path

from engine_helpers import cli, events, of_type, spawn, wait_for, write
from journal_doc_helpers import table, undocumented

from runbook.events import EVENT_TYPES

ROOT = Path(__file__).resolve().parents[1]
MAX_FAIL = """
playbook: max-fail
steps:
  - id: restart
    hosts: messaging
    run: systemctl restart postfix
    parallel: 1
    max_fail: 0
    timeout: 1m
  - id: reload
    hosts: mx-01
    run: postfix reload
    retries: 1
    retry_delay: 5s
    timeout: 1m
"""
LIVE = """
playbook: journal-doc
rto: 10m
steps:
  - id: big
    local: true
    run: "python3 -c 'print(\\"x\\" * 100000)'"
    output: text
  - id: flaky
    local: true
    run: "exit 3"
    retries: 1
    retry_delay: 1s
    on_failure: continue
  - id: broken
    local: true
    run: "echo bad; exit 4"
  - id: after-broken
    needs: [broken]
    local: true
    run: "true"
  - id: parse
    local: true
    run: "echo not-a-number"
    output: int
  - id: gate
    manual: Pick one.
    input:
      choices: [a, b]
  - id: slow
    needs: [gate]
    local: true
    run: "sleep 60"
"""


def test_the_table_has_every_event_type_and_only_those() -> None:
    assert set(table()) == set(EVENT_TYPES)


def test_a_rehearsal_with_max_fail_and_retries_writes_only_documented_data(
    tmp_path: Path,
) -> None:
    # mx-01 times out: the step's other hosts are not started (max_fail); a retried step
    book = write(tmp_path / "max-fail.yml", MAX_FAIL)
    write(tmp_path / "durations.yml", "restart: {mx-01: 5m}\nreload: 5m\n")
    inventory = str(ROOT / "inventory" / "datacenter.yml")
    state = tmp_path / "state.db"
    done = cli(state, "rehearse", str(book), "-i", inventory, "--durations", "durations.yml")
    assert done.returncode == 1, done.stdout + done.stderr
    written = events(state)
    types = {e.type for e in written}
    assert {"host_not_started", "step_retrying", "step_failed"} <= types
    assert undocumented(written) == []


def test_a_live_run_with_failures_and_operators_writes_only_documented_data(
    tmp_path: Path,
) -> None:
    state = tmp_path / "state.db"
    book = write(tmp_path / "pb.yml", LIVE)
    run = spawn(state, "run", str(book), "--plain")
    try:
        wait_for(state, lambda evs: bool(of_type(evs, "manual_waiting", "gate")))
        assert cli(state, "claim", "latest", "gate").returncode == 0
        assert cli(state, "confirm", "latest", "gate", "--value", "b").returncode == 0
        wait_for(state, lambda evs: bool(of_type(evs, "host_started", "slow")))
        assert cli(state, "expect", "latest", "slow", "1m", "--note", "soon").returncode == 0
        wait_for(state, lambda evs: bool(of_type(evs, "operator_expect")))
        wait_for(state, lambda evs: bool(of_type(evs, "step_blocked")))
        run.send_signal(signal.SIGINT)
        assert run.wait(timeout=30) == 130
    finally:
        if run.poll() is None:
            run.kill()
        run.communicate()
    assert cli(state, "retry", "latest", "broken").returncode == 0
    assert cli(state, "skip", "latest", "parse", "--note", "checked").returncode == 0
    done = cli(state, "resume", "latest", "--plain")
    assert done.returncode == 1, done.stdout + done.stderr
    written = events(state)
    types = {e.type for e in written}
    expected = {
        "host_output",
        "host_failed",
        "step_retrying",
        "step_failed",
        "step_blocked",
        "manual_claimed",
        "operator_expect",
        "operator_retry",
        "run_interrupted",
        "run_resumed",
    }
    assert expected <= types, expected - types
    data = {k for e in written for k in e.data}
    assert {"truncated", "omitted_chars", "stdout_cut", "tolerated"} <= data
    assert undocumented(written) == []

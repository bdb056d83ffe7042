"""docs/journal.md's event table against what the journal really holds: every event type
runbook knows is in the table, and every `data` key a run writes is named in its type's
row, so that the table and the events cannot drift apart again.

The journals come from the real CLI: rehearsals of the example playbooks (manual steps,
values, `when`, `min_ok`, copy and fetch) and of a `max_fail` step and a retried one, and
a live run of local steps (retries, a tolerated failure, a blocked step, cut output, an
output that does not parse, a claim, an expect, Ctrl-C, an operator retry and skip, a
resume). Team-mode events (PostgreSQL) and `host_key_accepted` (SSH) are checked only for
being in the table.
"""

from __future__ import annotations

import re
import shutil
import signal
from collections.abc import Iterable
from pathlib import Path

from engine_helpers import cli, events, of_type, spawn, wait_for, write

from runbook.events import EVENT_TYPES
from runbook.events._event import Event

ROOT = Path(__file__).resolve().parents[1]
JOURNAL_MD = ROOT / "docs" / "journal.md"
NAME = r"`([a-z_0-9]+)(?::[^`]*)?`"  # `name`, or `name: value` as in `tolerated: true`
EXAMPLES = (
    ("first-restore.yml", None),
    ("galera-power-loss.yml", "databases.yml"),
    ("rolling-restore.yml", "datacenter.yml"),
)
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


def table() -> dict[str, tuple[str, str, set[str]]]:
    """The event table: type -> (step column, host column, the names in `data`)."""
    rows: dict[str, tuple[str, str, set[str]]] = {}
    text = JOURNAL_MD.read_text().split("## Event types", 1)[1].split("\n## ", 1)[0]
    for line in text.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        m = re.fullmatch(r"`([a-z_]+)`", cells[0]) if len(cells) == 5 else None
        if m:
            rows[m.group(1)] = (cells[1], cells[2], set(re.findall(NAME, cells[3])))
    return rows


def paragraph(title: str) -> set[str]:
    """The names in backticks of the "Details of some events" paragraph on `title`."""
    text = JOURNAL_MD.read_text()
    start = text.index(f"**`{title}`**")
    return set(re.findall(NAME, text[start : text.index("\n\n", start)]))


def undocumented(evs: Iterable[Event]) -> list[str]:
    rows = table()
    wrong: set[str] = set()
    for e in evs:
        if e.type not in rows:
            wrong.add(f"{e.type}: not in the table")
            continue
        step_col, host_col, names = rows[e.type]
        wrong.update(f"{e.type}.data.{k}" for k in e.data if k not in names)
        if (step_col == "✓") != (e.step is not None):
            wrong.add(f"{e.type}: step is {e.step!r}, the table says {step_col}")
        if (host_col == "–" and e.host is not None) or (host_col == "✓" and e.host is None):
            wrong.add(f"{e.type}: host is {e.host!r}, the table says {host_col}")
        if e.type == "run_started":
            options = paragraph("run_started.data.options")
            plan = paragraph("run_started.data.plan")
            wrong.update(f"options.{k}" for k in e.data["options"] if k not in options)
            wrong.update(f"plan.{k}" for k in e.data["plan"] if k not in plan)
            for step in e.data["plan"]["steps"]:
                wrong.update(f"plan.steps[].{k}" for k in step if k not in plan)
    return sorted(wrong)


def test_the_table_has_every_event_type_and_only_those() -> None:
    assert set(table()) == set(EVENT_TYPES)


def test_rehearsals_of_the_examples_write_only_documented_data(tmp_path: Path) -> None:
    for folder in ("playbooks", "inventory"):
        shutil.copytree(ROOT / folder, tmp_path / folder)
    state = tmp_path / "state.db"
    written: list[Event] = []
    for book, inventory in EXAMPLES:
        args = ["rehearse", f"playbooks/{book}", "--speed", "max", "--seed", "1", "--plain"]
        args += ["-i", f"inventory/{inventory}"] if inventory else []
        done = cli(state, *args, cwd=tmp_path, timeout=120)
        assert done.returncode == 0, done.stdout + done.stderr
        written += events(state)
    # mx-01 times out: the step's other hosts are not started (max_fail); a retried step
    write(tmp_path / "playbooks" / "max-fail.yml", MAX_FAIL)
    write(tmp_path / "durations.yml", "restart: {mx-01: 5m}\nreload: 5m\n")
    args = ["rehearse", "playbooks/max-fail.yml", "-i", "inventory/datacenter.yml", "--plain"]
    done = cli(state, *args, "--durations", "durations.yml", cwd=tmp_path)
    assert done.returncode == 1, done.stdout + done.stderr
    written += events(state)
    types = {e.type for e in written}
    expected = {"manual_waiting", "manual_answered", "host_cancelled", "step_skipped"}
    assert expected | {"host_not_started", "step_retrying", "step_failed"} <= types
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

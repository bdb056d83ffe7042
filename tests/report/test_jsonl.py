"""The jsonl export line by line: exactly the journal's fields, read back to the same events."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from runbook.journal import Journal
from runbook.journal._chain import verify_chain
from runbook.report._jsonl import jsonl_lines, parse_event

FIELDS = ["run_id", "seq", "ts", "type", "step", "host", "data", "prev_hash", "hash"]


def journaled(tmp_path: Path) -> list[Any]:
    with Journal(tmp_path / "state.db") as j:
        run = j.new_run("restore", "live", 1_800_000_000.0)
        j.append(run, "run_started", ts=1_800_000_000.0, data={"playbook": "restore"})
        j.append(run, "step_started", ts=1_800_000_001.0, step="power", data={"attempt": 1})
        j.append(
            run,
            "host_output",
            ts=1_800_000_002.0,
            step="power",
            host="pdu-01",
            data={"stream": "stdout", "text": 'état: ✓ "on"\n'},
        )
        return j.events(run)


def test_one_line_per_event_with_exactly_the_journal_fields(tmp_path: Path) -> None:
    events = journaled(tmp_path)
    lines = list(jsonl_lines(events))
    assert len(lines) == 3 and all(line.endswith("\n") and line.count("\n") == 1 for line in lines)
    assert [list(json.loads(line)) for line in lines] == [FIELDS] * 3
    assert "état: ✓" in lines[2]  # kept as written, not \u-escaped
    assert ", " not in lines[0] and ": " not in lines[0]  # compact


def test_lines_read_back_to_the_same_events_and_chain(tmp_path: Path) -> None:
    events = journaled(tmp_path)
    back = [parse_event(json.loads(line)) for line in jsonl_lines(events)]
    assert back == events
    assert verify_chain(back).ok


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda o: o.pop("hash"), "missing field(s): hash"),
        (lambda o: o.update(extra=1), "unexpected field(s): extra"),
        (lambda o: o.update(seq="2"), "seq is '2', not an integer"),
        (lambda o: o.update(seq=True), "seq is True, not an integer"),
        (lambda o: o.update(ts=12.5), "ts is 12.5, not a string"),
        (lambda o: o.update(host=3), "host is 3, not a string or null"),
        (lambda o: o.update(data=[]), "data is not an object"),
    ],
)
def test_a_bad_line_says_what_is_wrong(tmp_path: Path, change: Any, message: str) -> None:
    obj = json.loads(next(jsonl_lines(journaled(tmp_path))))
    change(obj)
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        parse_event(obj)
    with pytest.raises(ValueError, match="not a JSON object"):
        parse_event([obj])

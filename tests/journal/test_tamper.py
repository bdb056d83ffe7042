"""What happened where a run's chain breaks, on events from a real journal tampered with as an
editor of the file (or of an export) would."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from runbook.events import Event
from runbook.journal import Journal
from runbook.journal._tamper import find_break


@pytest.fixture
def events(tmp_path: Path) -> list[Event]:
    with Journal(tmp_path / "state.db") as j:
        run = j.new_run("restore", "live", 1_800_000_000.0)
        j.append(run, "run_started", ts=1_800_000_000.0, data={"playbook": "restore"})
        for n, step in enumerate(("power", "network", "storage", "mail"), 1):
            j.append(run, "step_succeeded", ts=1_800_000_000.0 + n, step=step, data={})
        return j.events(run)


def test_an_untouched_chain_has_no_break(events: list[Event]) -> None:
    assert find_break(events) is None
    assert find_break(events, expected_head=events[-1].hash) is None
    assert find_break([]) is None


def test_an_edited_event_is_named(events: list[Event]) -> None:
    events[2] = dataclasses.replace(events[2], step="network-core")
    found = find_break(events)
    assert found is not None and (found.kind, found.seq, found.position) == ("edited", 3, 2)
    assert str(found).startswith("seq 3: edited")


def test_a_deleted_event_is_named(events: list[Event]) -> None:
    del events[2]
    found = find_break(events)
    assert found is not None and (found.kind, found.seq) == ("deleted", 3)


def test_swapped_events_are_reordered(events: list[Event]) -> None:
    events[2], events[3] = events[3], events[2]
    found = find_break(events)
    assert found is not None and found.kind == "reordered"


def test_an_event_of_another_run_is_inserted(events: list[Event]) -> None:
    events.insert(2, dataclasses.replace(events[1], run_id="20261207-0000-beef"))
    found = find_break(events)
    assert found is not None and found.kind == "inserted"
    assert "it belongs to run 20261207-0000-beef" in found.message


def test_the_recorded_head_shows_a_cut_end_or_additions(events: list[Event]) -> None:
    head = events[-1].hash
    cut = find_break(events[:-2], expected_head=head)
    assert cut is not None and (cut.kind, cut.seq) == ("truncated", 4)
    added = find_break(events, expected_head=events[2].hash)
    assert added is not None and (added.kind, added.seq) == ("inserted", 4)
    assert "2 event(s) were added after it" in added.message

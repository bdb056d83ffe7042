"""The engine's group commit (runbook/engine/_commit.py): a batch that starts something is
stored before it is acted on, at once; one that only tells may wait for the next turns'
while commands run, GROUP_S at most, and is neither shown nor acted on before it is stored."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from runbook.clock import VirtualClock
from runbook.engine._commit import GROUP_S, Committer
from runbook.events import Event
from runbook.journal import open_journal
from runbook.secrets import Redactor

Setup = tuple[Committer, VirtualClock, list[Event], list[str]]


@pytest.fixture
def setup(tmp_path: Path) -> Iterator[Setup]:
    """A Committer on a real SQLite journal and a virtual clock; what it shows, what it did."""
    with open_journal(tmp_path / "state.db") as journal:
        clock = VirtualClock(1_000.0)
        run_id = journal.new_run("p", "live", clock.now())
        shown: list[Event] = []
        done: list[str] = []
        yield Committer(journal, run_id, clock, Redactor([]), shown.extend), clock, shown, done


def test_a_batch_that_starts_something_is_stored_then_acted_on_at_once(setup: Setup) -> None:
    commits, _, shown, done = setup
    commits.emit("host_started", "a", "h1", {"attempt": 1})
    commits.act(lambda: done.append(f"started after {len(shown)} stored"))
    commits.commit_or_group(more_coming=True)
    assert [e.type for e in shown] == ["host_started"]
    assert done == ["started after 1 stored"]


def test_a_batch_that_only_tells_waits_for_more_then_goes_in_one_transaction(
    setup: Setup,
) -> None:
    commits, clock, shown, _ = setup
    commits.emit("host_succeeded", "a", "h1", {"rc": 0})
    commits.commit_or_group(more_coming=True)
    assert shown == [] and commits.due_at() == 1_000.0 + GROUP_S  # not shown: not stored
    clock.sleep(GROUP_S / 2)
    commits.emit("host_succeeded", "a", "h2", {"rc": 0})
    commits.commit_or_group(more_coming=True)
    assert shown == []
    clock.sleep(GROUP_S / 2)
    commits.commit_or_group(more_coming=True)  # the first one's wait is over
    assert [(e.host, e.seq) for e in shown] == [("h1", 1), ("h2", 2)]
    assert commits.due_at() is None


def test_nothing_waits_when_no_more_results_are_coming(setup: Setup) -> None:
    commits, _, shown, _ = setup
    commits.emit("host_succeeded", "a", "h1", {"rc": 0})
    commits.commit_or_group(more_coming=False)
    assert [e.host for e in shown] == ["h1"]

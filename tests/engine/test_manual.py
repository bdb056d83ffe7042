"""A manual step's `input` in a rehearsal, through the real CLI and a real SQLite journal.

The rehearsal answers with the input's default, else its first choice, else the step's
`example`. When it has no value, or one the input refuses, the step fails saying why: a
rehearsal that waited for an answer nobody gives would never end.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from engine_helpers import cli, events, write

TICKET = """
playbook: ticket
title: A change ticket
steps:
  - id: ticket
    manual: Open the DNS change.
    input: {pattern: "CHG-[0-9]+", prompt: Change ticket}
    EXAMPLE
  - id: after
    needs: [ticket]
    local: true
    run: echo {{ steps['ticket'].value }}
"""


@pytest.mark.parametrize(
    ("example", "why"),
    [
        ("", "a rehearsal has no value to answer its `input` with: give the step an `example:`"),
        (
            "example: change 12",
            "a rehearsal cannot answer its `input`: 'change 12' does not match the pattern "
            "of step ticket: CHG-[0-9]+ (fix the step's `example:`)",
        ),
    ],
)
def test_a_rehearsal_that_cannot_answer_an_input_fails_the_step_instead_of_waiting(
    tmp_path: Path, example: str, why: str
) -> None:
    pb = write(tmp_path / "pb.yml", TICKET.replace("EXAMPLE", example))
    state = tmp_path / "state.db"
    r = cli(state, "rehearse", str(pb), "--speed", "max", timeout=30)
    assert r.returncode == 1, r.stdout + r.stderr
    assert f"failed: ticket: operator: {why}" in r.stdout
    answered = next(e for e in events(state) if e.type == "manual_answered")
    assert answered.data["answer"] == "fail" and answered.data["note"] == why
    assert [e.step for e in events(state) if e.type == "step_blocked"] == ["after"]


def test_a_rehearsal_answers_an_input_with_the_steps_example(tmp_path: Path) -> None:
    pb = write(tmp_path / "pb.yml", TICKET.replace("EXAMPLE", "example: CHG-4711"))
    state = tmp_path / "state.db"
    r = cli(state, "rehearse", str(pb), "--speed", "max", timeout=30)
    assert r.returncode == 0, r.stdout + r.stderr
    answered = next(e for e in events(state) if e.type == "manual_answered")
    assert answered.data["answer"] == "done" and answered.data["value"] == "CHG-4711"

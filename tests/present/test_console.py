"""The console on real runs (real engine, journal, /bin/sh), driven by Textual's Pilot."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from console_helpers import drive, real_run, screen_text, until
from engine_helpers import events, of_type, write
from rich.console import Console

FAILING = """
playbook: failing
title: A step that fails
rto: 1h
steps:
  - id: mount-volume
    title: Mount
    phase: storage
    local: true
    run: "echo mounting /srv; echo 'mount: wrong fs type' >&2; exit 3"
  - id: start-db
    title: Start the database
    phase: storage
    needs: [mount-volume]
    local: true
    run: "echo started"
"""

QUESTION_AND_TWO = """
playbook: question
title: A question while two steps run
rto: 1h
steps:
  - id: call-noc
    title: Call the NOC
    phase: power
    manual: "Call the NOC and ask about room A."
    estimate: 5m
  - id: quick
    title: Quick
    phase: power
    local: true
    run: "sleep 0.3; echo quick done"
  - id: slower
    title: Slower
    phase: power
    local: true
    run: "sleep 0.8; echo slower done"
  - id: after
    title: After the answer
    phase: apps
    needs: [call-noc]
    local: true
    run: "echo after"
"""

LONG_ID = "close-the-incident-with-the-provider-noc-and-every-site-it-lead"


def test_a_failing_run_ends_with_the_summary_on_screen(tmp_path: Path) -> None:
    run = real_run(tmp_path, write(tmp_path / "pb.yml", FAILING))
    app = run.console(linger_s=60)

    async def script(pilot: Any) -> str:
        await until(pilot, lambda: "next:" in screen_text(app))
        text = screen_text(app)
        await pilot.press("q")  # watching the end: q leaves at once, the run is over
        return text

    text = drive(app, (100, 40), script)
    run.join()
    assert run.code == 1
    # The summary: the result, counts in words, the failed step with its output, next.
    assert f"== run {run.feed.run_id} failed in " in text
    assert "1 failed" in text and "1 blocked" in text
    assert "mount: wrong fs type" in text
    assert f"runbook retry {run.feed.run_id} mount-volume" in text
    # The same summary is what the console hands back to be left on the normal screen.
    out = io.StringIO()
    Console(file=out, width=100, no_color=True).print(app.return_value)
    assert "mount: wrong fs type" in out.getvalue() and "1 failed" in out.getvalue()


def test_a_question_answered_by_key_while_two_steps_finish(tmp_path: Path) -> None:
    run = real_run(tmp_path, write(tmp_path / "pb.yml", QUESTION_AND_TWO))
    app = run.console(linger_s=60)
    state = tmp_path / "state.db"

    async def script(pilot: Any) -> tuple[str, str]:
        await until(pilot, lambda: "Call the NOC and ask about room A" in screen_text(app))
        # Both other steps end while the question is open, and the screen shows it.
        await until(pilot, lambda: "succeeded   slower" in screen_text(app))
        during = screen_text(app)
        assert not of_type(events(state), "manual_answered")  # still open
        await pilot.press("d")
        await until(pilot, lambda: "A note for the journal" in screen_text(app))
        await pilot.press(*"room A on", "enter")
        await until(pilot, lambda: "next:" in screen_text(app))
        end = screen_text(app)
        await pilot.press("q")
        return during, end

    during, end = drive(app, (120, 40), script)
    run.join()
    assert run.code == 0
    assert "succeeded   quick" in during and "succeeded   slower" in during
    assert "call-noc" in during  # the question is still on screen
    evs = events(state)
    answer = of_type(evs, "manual_answered", "call-noc")[0]
    assert answer.data["answer"] == "done" and answer.data["operator"] == "tester"
    assert answer.data["note"] == "room A on"
    for step in ("quick", "slower"):
        assert of_type(evs, "step_succeeded", step)[0].seq < answer.seq
    assert f"== run {run.feed.run_id} succeeded in " in end


def test_the_full_confirm_command_is_on_screen_at_80x24(tmp_path: Path) -> None:
    playbook = QUESTION_AND_TWO.replace("call-noc", LONG_ID)
    run = real_run(tmp_path, write(tmp_path / "pb.yml", playbook))
    app = run.console()

    async def script(pilot: Any) -> str:
        # The question's last words, not its first: under load a frame may be taken while
        # the box is still being laid out (a command cut for good times out here).
        await until(pilot, lambda: "[--skip|--fail]" in screen_text(app))
        text = screen_text(app)
        await pilot.press("ctrl+c")  # interrupt: journaled, resumable
        return text

    text = drive(app, (80, 24), script)
    run.join()
    assert run.code == 130
    command = f"runbook confirm {run.feed.run_id} {LONG_ID}"
    # Wrapped over lines, never cut: the words joined again are the whole command.
    flat = " ".join(text.replace("│", " ").split())
    assert command in flat or command in _unfolded(text)
    assert "…" not in _question_lines(text)


def _question_lines(text: str) -> str:
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if "from any terminal" in line)
    return "\n".join(lines[start : start + 3])


def _unfolded(text: str) -> str:
    """Lines joined as a terminal folds a word too wide for the pane."""
    inner = [line.strip(" │╭╮╰╯─") for line in text.splitlines()]
    return "".join(inner)


CHOICES = """
playbook: choose
title: A value picked from its choices
steps:
  - id: pick-primary
    title: Which database is primary?
    phase: db
    manual: "Look at both and pick the one with the latest transaction."
    input:
      choices: [db-a, db-b, db-c]
  - id: promote
    title: Promote it
    phase: db
    needs: [pick-primary]
    local: true
    run: "echo promoting {{ steps['pick-primary'].value }}"
"""


def test_a_value_is_chosen_from_the_choices_by_its_number(tmp_path: Path) -> None:
    run = real_run(tmp_path, write(tmp_path / "pb.yml", CHOICES))
    app = run.console(linger_s=60)

    async def script(pilot: Any) -> tuple[str, str]:
        await until(pilot, lambda: "[2] db-b" in screen_text(app))
        shown = screen_text(app)
        await pilot.press("d")  # "done" needs one of the choices: no answer yet
        await pilot.press("2")
        await until(pilot, lambda: "answer done = db-b to pick-primary" in screen_text(app))
        await pilot.press(*"both checked", "enter")
        await until(pilot, lambda: "next:" in screen_text(app))
        end = screen_text(app)
        await pilot.press("q")
        return shown, end

    shown, _end = drive(app, (80, 24), script)
    run.join()
    assert run.code == 0
    assert "[1] db-a  [2] db-b  [3] db-c" in shown
    command = f"runbook confirm {run.feed.run_id} pick-primary --value db-a|db-b|db-c"
    assert "".join(command.split()) in "".join(shown.replace("│", " ").split())  # wrapped, whole
    evs = events(tmp_path / "state.db")
    answer = of_type(evs, "manual_answered", "pick-primary")[0].data
    assert (answer["answer"], answer["value"], answer["note"]) == ("done", "db-b", "both checked")
    output = "".join(e.data["text"] for e in of_type(evs, "host_output", "promote"))
    assert "promoting db-b" in output

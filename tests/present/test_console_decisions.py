"""R, S and E in the console: retry, skip and expect on the step under the cursor, journaled
as `runbook retry|skip|expect` journal them, and acted on by the run's engine."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from console_helpers import drive, notices, real_run, screen_text, until
from engine_helpers import events, of_type, write


def playbook(tmp_path: Path) -> str:
    marker = tmp_path / "remounted"
    return f"""
playbook: decisions
title: Retry and expect from the console
rto: 1h
steps:
  - id: call-noc
    title: Call the NOC
    phase: power
    manual: "Call the NOC and ask about room A."
    estimate: 5m
  - id: mount-volume
    title: Mount the volume
    phase: storage
    local: true
    run: "test -f {marker} || {{ touch {marker}; echo 'mount: wrong fs type' >&2; exit 3; }}"
"""


def test_a_failed_step_is_retried_and_a_waiting_one_expected_from_the_console(
    tmp_path: Path,
) -> None:
    run = real_run(tmp_path, write(tmp_path / "pb.yml", playbook(tmp_path)))
    app = run.console(linger_s=60)
    state = tmp_path / "state.db"

    async def script(pilot: Any) -> tuple[str, str, str]:
        await until(pilot, lambda: "wrong fs type" in screen_text(app))
        await pilot.press("R")  # the cursor is on call-noc, which is waiting
        await until(
            pilot, lambda: any("retry is for a failed or blocked" in n for n in notices(app))
        )
        refused = "\n".join(notices(app))
        await pilot.press("down", "R")  # mount-volume, failed
        await until(pilot, lambda: "retry mount-volume" in screen_text(app))
        await pilot.press(*"remounted by hand", "enter")
        await until(pilot, lambda: of_type(events(state), "step_succeeded", "mount-volume") != [])
        await until(pilot, lambda: "will be retried" in screen_text(app))
        retried = screen_text(app)
        await pilot.press("up", "E")
        await until(pilot, lambda: "How much longer" in screen_text(app))
        await pilot.press(*"15x", "enter")  # not a duration: said, and asked again
        await until(pilot, lambda: any("how much longer:" in n for n in notices(app)))
        await pilot.press("backspace", "m", "enter", *"the NOC said so", "enter")
        await until(pilot, lambda: of_type(events(state), "operator_expect") != [])
        await pilot.press("d")
        await until(pilot, lambda: "A note for the journal" in screen_text(app))
        await pilot.press("enter")
        await until(pilot, lambda: "next:" in screen_text(app))
        end = screen_text(app)
        await pilot.press("q")
        return refused, retried, end

    refused, retried, end = drive(app, (120, 40), script)
    run.join()
    assert run.code == 0
    assert "call-noc is waiting" in refused
    assert "step mount-volume will be retried" in retried
    evs = events(state)
    again = of_type(evs, "operator_retry", "mount-volume")[0]
    assert again.data == {"operator": "tester", "note": "remounted by hand"}
    assert [e.data["attempt"] for e in of_type(evs, "step_started", "mount-volume")] == [1, 2]
    word = of_type(evs, "operator_expect", "call-noc")[0]
    assert word.data == {"remaining_s": 900.0, "note": "the NOC said so", "operator": "tester"}
    assert f"== run {run.feed.run_id} succeeded in " in end


def test_skip_from_the_console_needs_a_note(tmp_path: Path) -> None:
    run = real_run(tmp_path, write(tmp_path / "pb.yml", playbook(tmp_path)))
    app = run.console(linger_s=60)
    state = tmp_path / "state.db"

    async def script(pilot: Any) -> str:
        await until(pilot, lambda: "wrong fs type" in screen_text(app))
        await pilot.press("down", "S")
        await until(pilot, lambda: "skip mount-volume" in screen_text(app))
        await pilot.press("enter")  # no note: refused, the dialog stays
        await until(pilot, lambda: any("skip needs a note" in n for n in notices(app)))
        await pilot.press(*"mounted from the provider's console", "enter")
        await until(pilot, lambda: of_type(events(state), "step_skipped", "mount-volume") != [])
        await pilot.press("up", "d")
        await until(pilot, lambda: "A note for the journal" in screen_text(app))
        await pilot.press("enter")
        await until(pilot, lambda: "next:" in screen_text(app))
        end = screen_text(app)
        await pilot.press("q")
        return end

    drive(app, (120, 40), script)
    run.join()
    skipped = of_type(events(state), "step_skipped", "mount-volume")[0]
    assert skipped.data["operator"] == "tester"
    assert skipped.data["note"] == "mounted from the provider's console"

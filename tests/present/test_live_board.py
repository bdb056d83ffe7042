"""The rich live board: never a cut command, never a stale "running" after the run stopped."""

from __future__ import annotations

import io

from audit_helpers import MemoryChain
from journal_helpers import T0, plan, plan_step
from rich.console import Console

from runbook.events import fold
from runbook.present._board import render_board

LONG = "confirm-the-secondary-datacenter-power-feed"


def _screen(events: list, width: int = 80) -> str:  # type: ignore[type-arg]
    console = Console(file=io.StringIO(), width=width, no_color=True, record=True)
    state = fold(events)
    console.print(render_board(state, state.last_ts or T0))
    return console.export_text()


def _chain(*extra: tuple[str, str | None, dict]) -> list:  # type: ignore[type-arg]
    chain = MemoryChain()
    the_plan = plan(plan_step(LONG, kind="manual"), plan_step("copy", kind="local"))
    started = {"mode": "live", "plan": the_plan, "playbook": "restore", "title": "A" * 80}
    chain.append("RUN-20261207", "run_started", ts=T0, data=started)
    for i, (type, step, data) in enumerate(extra, 1):
        chain.append("RUN-20261207", type, ts=T0 + i, step=step, data=data)
    return chain.events


def test_the_confirm_command_is_whole_at_80_columns() -> None:
    screen = _screen(
        _chain(
            ("step_started", LONG, {"attempt": 1}),
            ("manual_waiting", LONG, {"instructions": "Check it"}),
        )
    )
    assert max(len(line) for line in screen.splitlines()) <= 80
    command = f"runbook confirm RUN-20261207 {LONG}"
    # wrapped at a space (or folded inside the id), never cut
    assert command.replace(" ", "") in "".join(screen.split())
    assert "…" not in screen.split("answer", 1)[-1]


def test_a_stopped_run_does_not_say_its_steps_still_run() -> None:
    screen = _screen(
        _chain(
            ("step_started", "copy", {"attempt": 1}),
            ("run_interrupted", None, {"reason": "SIGINT"}),
        ),
        width=120,
    )
    assert "in flight when the run stopped (interrupted)" in screen
    assert "\nrunning" not in screen


def test_the_header_is_one_line_with_the_run_id_first() -> None:
    screen = _screen(_chain(("step_started", "copy", {"attempt": 1})), width=60)
    head = screen.splitlines()[0]
    assert head.startswith("run RUN-20261207 (live)  elapsed 1s  restore")
    assert head.endswith("…") and len(head) <= 60

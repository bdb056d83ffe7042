"""A real run under the console, driven headless by Textual's Pilot."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

from runbook.app import RunRequest, _session as session
from runbook.present._console import RunConsole
from runbook.present._console_run import ConsoleRun


def real_run(tmp_path: Path, playbook: Path, mode: str = "live") -> ConsoleRun:
    """`runbook run PLAYBOOK` (or rehearse) on a worker thread, as on a terminal."""
    state = tmp_path / "state.db"
    req = RunRequest(playbook=playbook, operator="tester", seed=1 if mode == "rehearsal" else None)
    run = ConsoleRun(lambda ui: session.execute(state, req, ui, mode=mode), state)  # type: ignore[arg-type]
    assert run.start(), run.error
    return run


def screen_text(app: RunConsole) -> str:
    """The characters on the (headless) terminal, line by line."""
    strips = app.screen._compositor.render_strips()
    return "\n".join(strip.text.rstrip() for strip in strips)


async def until(pilot: Any, test: Callable[[], bool], timeout: float = 20.0) -> None:
    """Let the console run until `test()` holds."""
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while not test():
        assert loop.time() < end, "timed out"
        await pilot.pause(0.05)


def drive(app: RunConsole, size: tuple[int, int], script: Callable[[Any], Any]) -> Any:
    """Run `app` headless at `size` (columns, rows) under `script(pilot)`."""

    async def main() -> Any:
        async with app.run_test(size=size) as pilot:
            return await script(pilot)

    return asyncio.run(main())


def notices(app: RunConsole) -> list[str]:
    """The console's notifications (toasts) still shown; the headless screen's strips leave
    the toast layer out, so they are read from the app (Textual has no public getter)."""
    return [n.message for n in app._notifications]

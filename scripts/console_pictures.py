"""Regenerate the console's pictures in docs/ (shown in the README).

    .venv/bin/python scripts/console_pictures.py

Draws the console on the fixed moment of the datacenter restore the snapshot tests use
(tests/console_scene.py), takes Textual's SVG screenshot, and renders it to PNG with
headless Chromium (the one `make test` installs: scripts/system-deps.sh).
"""

from __future__ import annotations

import asyncio
import re
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from console_scene import scene_feed, scene_output  # noqa: E402

from runbook.events import fold  # noqa: E402
from runbook.present._console import RunConsole  # noqa: E402
from runbook.present._console_run import summary_of  # noqa: E402

CHROMIUM = "/usr/bin/chromium"


def _board() -> RunConsole:
    return RunConsole(scene_feed(), output_of=scene_output)


def _end() -> RunConsole:
    feed = scene_feed(ended=True)
    state = feed.final_state or fold([])
    end = lambda: summary_of(state, engine_stopped=True)  # noqa: E731
    return RunConsole(feed, summary_of=end, linger_s=3600)


PICTURES = (
    ("console.png", _board, (140, 44), ()),
    ("console-80x24.png", _board, (80, 24), ()),
    ("console-output.png", _board, (100, 24), ("down",) * 6 + ("enter",)),
    ("console-end.png", _end, (120, 48), ()),
)


async def _svg(app: RunConsole, size: tuple[int, int], keys: tuple[str, ...]) -> str:
    async with app.run_test(size=size) as pilot:
        await pilot.pause(0.2)
        for key in keys:
            await pilot.press(key)
        await pilot.pause(0.2)
        return app.export_screenshot()


def _png(svg: str, out: Path) -> None:
    box = re.search(r'viewBox="0 0 ([\d.]+) ([\d.]+)"', svg)
    assert box, "no viewBox in Textual's SVG"
    width, height = (round(float(v)) for v in box.groups())
    with tempfile.TemporaryDirectory() as tmp:
        page = Path(tmp) / "shot.html"
        # The SVG at its own size on a page without margins: the PNG is the terminal.
        page.write_text(f'<html><body style="margin:0;background:#000">{svg}</body></html>')
        subprocess.run(
            [
                CHROMIUM,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--hide-scrollbars",
                f"--user-data-dir={tmp}/profile",
                f"--window-size={width},{height}",
                f"--screenshot={out}",
                page.as_uri(),
            ],
            check=True,
            capture_output=True,
            timeout=120,
        )


def main() -> None:
    for name, make, size, keys in PICTURES:
        svg = asyncio.run(_svg(make(), size, keys))
        out = ROOT / "docs" / name
        _png(svg, out)
        print(f"{out.relative_to(ROOT)}  {size[0]}x{size[1]}  {out.stat().st_size} bytes")


if __name__ == "__main__":
    main()

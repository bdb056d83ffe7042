"""A command's escape sequences never run on the operator's terminal or in a report."""

from __future__ import annotations

from pathlib import Path

from engine_helpers import cli, write

from runbook.visible import visible

# Clear the screen, retitle the window, and a carriage return that paints "ok" over
# the word "FAILED" on a terminal.
NASTY = "\x1b[2J\x1b]0;pwned\x07FAILED\rok\n"


def test_control_characters_are_spelled_out_tabs_and_newlines_kept() -> None:
    assert visible(NASTY) == "^[[2J^[]0;pwned^GFAILED^Mok\n"
    assert visible("a\tb\r\nc\x9b") == "a\tb\nc\\x9b"
    assert visible("plain text ⏎ é") == "plain text ⏎ é"


def test_output_escapes_reach_no_terminal_and_no_report(tmp_path: Path) -> None:
    pb = write(
        tmp_path / "pb.yml",
        r"""
        steps:
          - id: noisy
            local: true
            run: |
              printf '\033[2J\033]0;pwned\007FAILED\rok\n'; exit 1
        """,
    )
    state = tmp_path / "state.db"
    r = cli(state, "-v", "run", str(pb))
    assert r.returncode == 1
    assert "\x1b" not in r.stdout + r.stderr and "\r" not in r.stdout
    # The carriage return ends a line here: "ok" cannot paint over "FAILED".
    assert "noisy | ^[[2J^[]0;pwned^GFAILED\n" in r.stdout and "noisy | ok\n" in r.stdout
    for args in (["status", "latest", "--watch"], ["export", "latest", "--format", "md"]):
        shown = cli(state, *args)
        assert shown.returncode in (0, 1), shown.stderr
        assert "\x1b" not in shown.stdout and "\x07" not in shown.stdout, args
    md = cli(state, "export", "latest", "--format", "md").stdout
    assert "^[[2J" in md  # the output is still there, spelled out
    # The journal keeps the exact bytes.
    jsonl = cli(state, "export", "latest", "--format", "jsonl").stdout
    assert "\\u001b[2J" in jsonl

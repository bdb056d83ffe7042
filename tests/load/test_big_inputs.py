"""Hostile sizes: huge files, deep nesting, alias bombs, very long lines.

Each runs the real CLI in a subprocess under an address-space limit and a wall-clock
timeout: the only acceptable outcomes are a result or a located error, exit 0 or 2.
"""

from __future__ import annotations

import resource
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

LIMIT_BYTES = 1536 * 1024 * 1024


def _limit_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (LIMIT_BYTES, LIMIT_BYTES))


def validate(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "runbook", "validate", str(path)],
        capture_output=True,
        text=True,
        timeout=120,
        preexec_fn=_limit_memory,
    )


def long_line(p: Path) -> None:
    p.write_text("playbook: x\ntitle: " + "a" * 20_000_000 + "\nsteps: []\n")


def deep_block(p: Path) -> None:
    p.write_text("playbook: x\nsteps:\n" + "".join("  " * i + "- \n" for i in range(1, 5000)))


def deep_flow(p: Path) -> None:
    p.write_text("playbook: x\nsteps: " + "[" * 100_000 + "]" * 100_000 + "\n")


def alias_bomb(p: Path) -> None:
    lines = ["a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    lines += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, 12)]
    p.write_text("\n".join(lines) + "\nplaybook: x\nsteps: []\n")


def many_keys(p: Path) -> None:
    p.write_text(
        "playbook: x\nsteps: []\nvars:\n" + "".join(f"  v{i}: {i}\n" for i in range(100_000))
    )


def huge_file(p: Path) -> None:
    with p.open("w") as f:
        f.write("playbook: x\nsteps:\n")
        chunk = "".join(f"  - {{id: s{i}, title: t, manual: m}}\n" for i in range(1000))
        while f.tell() < 70 * 1024 * 1024:
            f.write(chunk)


CASES: dict[str, Callable[[Path], None]] = {
    "long_line": long_line,
    "deep_block": deep_block,
    "deep_flow": deep_flow,
    "alias_bomb": alias_bomb,
    "many_keys": many_keys,
    "huge_file": huge_file,
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_hostile_sizes_end_in_a_clean_answer(case: str, tmp_path: Path) -> None:
    path = tmp_path / f"{case}.yml"
    CASES[case](path)
    result = validate(path)
    assert "Traceback" not in result.stderr
    assert "internal error" not in result.stderr, result.stderr
    assert result.returncode in (0, 2), result.stderr[-2000:]
    if result.returncode == 2:
        assert f"{path}:" in result.stderr, result.stderr[-2000:]

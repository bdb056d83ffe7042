"""The README's tour, run as a reader would: every `runbook …` line of its shell blocks, in
order, in a copy of playbooks/ and inventory/ with a fresh state file.

Each line must exit 0, or N where its comment says `exits N`. A `runbook run` goes to the
background (it waits for its manual steps); a `runbook confirm` waits until the step it
answers is waiting, as an operator at a second terminal would; once the tour is over, the
run's remaining manual steps are confirmed and it must finish with 0. A shell block that
cannot run here is marked `<!-- tour: skip -->` on the line before it.
"""

from __future__ import annotations

import json
import re
import shlex
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from engine_helpers import env

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
SKIP = "<!-- tour: skip -->"
SHELLS = ("sh", "shell", "bash", "console")


@dataclass(frozen=True)
class Line:
    args: tuple[str, ...]  # after `runbook`
    exit_code: int
    text: str


def tour(markdown: str) -> list[Line]:
    """The `runbook …` lines of the shell blocks not marked to skip."""
    lines: list[Line] = []
    in_block = take = skip_next = False
    for raw in markdown.splitlines():
        if raw.startswith("```"):
            if not in_block:
                take = raw[3:].strip() in SHELLS and not skip_next
                skip_next = False
            in_block = not in_block
        elif not in_block:
            if raw.strip():
                skip_next = raw.strip() == SKIP
        elif take and raw.startswith("runbook "):
            words = shlex.split(raw, comments=True)
            comment = raw.split(" #", 1)[1] if " #" in raw else ""
            said = re.search(r"\bexits (\d+)\b", comment)
            lines.append(Line(tuple(words[1:]), int(said.group(1)) if said else 0, raw))
    return lines


def test_the_tour_is_read_from_the_shell_blocks() -> None:
    text = (
        "```sh\n"
        "make demo\n"
        "runbook validate book.yml -i inv.yml   # every problem\n"
        'runbook confirm latest announce --note "bridge told"   # exits 2 when...\n'
        "```\n"
        "```yaml\n"
        "runbook plan x\n"
        "```\n"
        f"{SKIP}\n\n"
        "```sh\n"
        "runbook status --watch\n"
        "```\n"
    )
    assert [(t.args, t.exit_code) for t in tour(text)] == [
        (("validate", "book.yml", "-i", "inv.yml"), 0),
        (("confirm", "latest", "announce", "--note", "bridge told"), 2),
    ]


def runbook(work: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "runbook", *args],
        capture_output=True,
        text=True,
        env=env({"RUNBOOK_STATE": str(work / "state.db")}),
        cwd=work,
        timeout=60,
    )


def status(work: Path) -> dict[str, object]:
    done = runbook(work, "status", "latest", "--format", "json")
    return json.loads(done.stdout) if done.returncode == 0 else {}


def waiting(work: Path) -> tuple[str, list[str]]:
    """The latest run's id and its steps waiting for an operator."""
    doc = status(work)
    steps = doc.get("steps", [])
    assert isinstance(steps, list)
    return str(doc.get("run_id")), [s["id"] for s in steps if s["status"] == "waiting"]


def wait_until_waiting(work: Path, step: str, timeout_s: float = 30) -> None:
    deadline = time.monotonic() + timeout_s
    while step not in waiting(work)[1]:
        assert time.monotonic() < deadline, f"{step} never waited for an operator"
        time.sleep(0.2)


def finish(work: Path, run: subprocess.Popen[str], timeout_s: float = 60) -> tuple[str, str]:
    """Confirm what the run still waits for until it ends; its output."""
    deadline = time.monotonic() + timeout_s
    while run.poll() is None:
        assert time.monotonic() < deadline, "the tour's run never finished"
        run_id, steps = waiting(work)
        for step in steps:
            runbook(work, "confirm", run_id, step)
        time.sleep(0.2)
    return run.communicate()


def test_the_readme_tour_runs(tmp_path: Path) -> None:
    lines = tour(README.read_text())
    assert len(lines) >= 5, "the tour lost its commands"
    for folder in ("playbooks", "inventory"):
        shutil.copytree(ROOT / folder, tmp_path / folder)
    # The tutorial playbook works in /tmp; this copy works in tmp_path.
    for book in (tmp_path / "playbooks").rglob("*.yml"):
        book.write_text(book.read_text().replace("/tmp/runbook-first-restore", str(tmp_path)))
    runs: list[tuple[Line, subprocess.Popen[str]]] = []
    try:
        for line in lines:
            if line.args[0] == "run":
                runs.append(
                    (
                        line,
                        subprocess.Popen(
                            [sys.executable, "-m", "runbook", *line.args],
                            stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE,
                            text=True,
                            env=env({"RUNBOOK_STATE": str(tmp_path / "state.db")}),
                            cwd=tmp_path,
                        ),
                    )
                )
                continue
            if line.args[0] == "confirm":
                wait_until_waiting(tmp_path, line.args[2])
            done = runbook(tmp_path, *line.args)
            assert done.returncode == line.exit_code, f"{line.text}\n{done.stdout}{done.stderr}"
        for line, run in runs:
            out, err = finish(tmp_path, run)
            assert run.returncode == line.exit_code, f"{line.text}\n{out[-3000:]}{err}"
    finally:
        for _, run in runs:
            if run.poll() is None:
                run.kill()
                run.communicate()


def test_the_readme_names_only_files_in_the_repository() -> None:
    text = README.read_text()
    assert "SPEC" not in text and "../" not in text
    for target in re.findall(r"\]\(([^)\s#]+)(?:#[^)]*)?\)", text):
        if re.match(r"[a-z]+://", target):
            continue
        path = (ROOT / target).resolve()
        assert path.is_relative_to(ROOT) and path.exists(), f"README links to {target}"

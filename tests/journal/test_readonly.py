"""A journal the auditor cannot write: a read-only file, an evidence folder without write
permission, a file that belongs to someone else; with or without the `-wal` (and `-shm`)
of a copy taken while an engine still wrote. Reading commands show every event, the `-wal`
included; writing commands stop with one line and exit 2; nothing beside the journal
changes. The CLI runs as a real subprocess.

CI runs as root, whom file modes do not stop: there each command runs under `setpriv`
with the capabilities that override file permissions dropped from its bounding set, so
the kernel checks the modes for it exactly as for any user.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from runbook.journal._store import Journal

NOBODY = 65534
SIDECARS = ("-wal", "-shm")
PLAYBOOK = """\
playbook: evidence
steps:
  - id: power
    title: Power is back
    manual: Call the NOC.
  - id: dns
    title: DNS answers
    needs: power
    local: true
    run: touch {mark}
"""


@functools.cache
def _reader_prefix() -> tuple[str, ...]:
    """How to run a command so that file modes bind it (as root: without DAC override)."""
    if os.geteuid() != 0:
        return ()
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.skip("needs setpriv (util-linux) to run commands as root without DAC override")
    prefix = [setpriv, "--bounding-set=-dac_override,-dac_read_search", "--"]
    probe = subprocess.run([*prefix, "true"], capture_output=True, text=True)
    if probe.returncode != 0:  # a container without CAP_SETPCAP
        pytest.skip(f"cannot drop root's file-permission override here: {probe.stderr.strip()}")
    return tuple(prefix)


@dataclass
class Evidence:
    db: Path
    run_id: str
    events: int  # every event journaled, those only in the -wal included
    tmp: Path  # TMPDIR of the commands: a private copy must not be left there

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        env = {
            **os.environ,
            "RUNBOOK_OPERATOR": "auditor",
            "NO_COLOR": "1",
            "TMPDIR": str(self.tmp),
        }
        return subprocess.run(
            [*_reader_prefix(), sys.executable, "-m", "runbook", "--state", str(self.db), *args],
            capture_output=True,
            text=True,
            env=env,
            timeout=60,
            cwd=self.tmp,
        )

    def snapshot(self) -> dict[str, str]:
        """Every file in the journal's folder and its content's hash."""
        return {
            p.name: hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(self.db.parent.iterdir())
        }


@dataclass(frozen=True)
class Source:
    folder: Path  # state.db, -wal and -shm copied while the engine waited on `power`
    playbook: Path
    mark: Path  # what `dns` would touch if anything ran
    run_id: str
    events: int  # every event in the copy, those only in its -wal included


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Source:
    """A copy of a live journal, taken as `cp` takes it while an engine writes."""
    root = tmp_path_factory.mktemp("source")
    live, folder, mark = root / "live" / "state.db", root / "copy", root / "mark"
    book = root / "evidence.yml"
    book.write_text(PLAYBOOK.format(mark=mark))
    folder.mkdir()
    rehearse = ["-q", "rehearse", str(book), "--interactive"]  # waits on `power`
    engine = subprocess.Popen(
        [sys.executable, "-m", "runbook", "--state", str(live), *rehearse],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert engine.stdout is not None
        for line in engine.stdout:
            if "manual_waiting" in line:
                break
        for suffix in ("", *SIDECARS):
            shutil.copyfile(f"{live}{suffix}", folder / f"state.db{suffix}")
    finally:
        engine.kill()
        engine.wait()
    scratch = root / "scratch"  # read the ordinary way, to know what a reader must see
    scratch.mkdir()
    for suffix in ("", "-wal"):
        shutil.copyfile(folder / f"state.db{suffix}", scratch / f"state.db{suffix}")
    with Journal(scratch / "state.db") as j:
        (run_id,) = j.run_ids()
        events = len(j.events(run_id))
    return Source(folder, book, mark, run_id, events)


def _evidence(tmp_path: Path, source: Source, layout: str, leftover: str) -> Evidence:
    folder = tmp_path / "evidence"
    folder.mkdir()
    wanted = SIDECARS[: {"none": 0, "wal": 1, "wal+shm": 2}[leftover]]
    for suffix in ("", *wanted):
        shutil.copyfile(source.folder / f"state.db{suffix}", folder / f"state.db{suffix}")
    if leftover == "none":  # a journal closed cleanly: its -wal folded into the file
        shutil.copyfile(source.folder / "state.db-wal", folder / "state.db-wal")
        Journal(folder / "state.db").close()
        assert sorted(p.name for p in folder.iterdir()) == ["state.db"]
    db = folder / "state.db"
    if leftover != "none":  # the file alone lacks events that only its -wal holds
        alone = sqlite3.connect(f"{db.as_uri()}?immutable=1", uri=True)
        assert alone.execute("SELECT count(*) FROM events").fetchone()[0] < source.events
        alone.close()
    files = list(folder.iterdir())
    if layout == "file":  # read-only files in a folder the auditor may write
        for f in files:
            f.chmod(0o444)
    elif layout == "folder":  # chmod -w on the evidence folder; the files keep their modes
        folder.chmod(0o555)
    else:  # someone else's files and folder, readable by all
        if os.geteuid() != 0:
            pytest.skip("needs root to give the files to another user")
        for f in [*files, folder]:
            os.chown(f, NOBODY, NOBODY)
            f.chmod(0o755 if f.is_dir() else 0o644)
    (tmp_path / "tmp").mkdir()
    return Evidence(db, source.run_id, source.events, tmp_path / "tmp")


@pytest.fixture
def restore_modes(tmp_path: Path) -> Iterator[None]:
    yield
    folder = tmp_path / "evidence"
    if folder.exists():
        folder.chmod(0o755)  # so that pytest can remove tmp_path


@pytest.mark.parametrize("leftover", ["none", "wal", "wal+shm"])
@pytest.mark.parametrize("layout", ["file", "folder", "owner"])
def test_reading_commands_see_every_event_and_change_nothing(
    tmp_path: Path, source: Source, layout: str, leftover: str, restore_modes: None
) -> None:
    ev = _evidence(tmp_path, source, layout, leftover)
    before = ev.snapshot()

    runs = ev.cli("runs", "-f", "json")
    assert runs.returncode == 0, runs.stderr
    assert [r["run_id"] for r in json.loads(runs.stdout)] == [ev.run_id]

    status = ev.cli("status", "-f", "json")
    assert status.returncode == 0, status.stderr
    steps = {s["id"]: s["status"] for s in json.loads(status.stdout)["steps"]}
    assert steps["power"] == "waiting"  # known from the -wal alone when there is one

    verify = ev.cli("verify", "latest")
    assert verify.returncode == 0, verify.stderr
    assert verify.stdout.startswith(f"ok: {ev.events} events")

    assert ev.snapshot() == before
    assert list(ev.tmp.iterdir()) == []


def test_every_reading_command_on_a_copy_of_a_live_journal_in_a_read_only_folder(
    tmp_path: Path, source: Source, restore_modes: None
) -> None:
    """The hardest case: a `-wal` to apply and no `-shm` to read it with, nowhere to make one."""
    ev = _evidence(tmp_path, source, "folder", "wal")
    before = ev.snapshot()
    out = tmp_path / "out"
    out.mkdir()
    for args in (["status"], ["status", "-f", "md"]):
        result = ev.cli(*args)
        assert result.returncode == 0, result.stderr
        assert "power" in result.stdout
    logs = ev.cli("logs", "latest")
    assert logs.returncode == 0, logs.stderr
    assert logs.stderr == f"no output journaled for run {ev.run_id}\n"
    for fmt in ("jsonl", "csv", "md", "html"):
        result = ev.cli("export", "latest", "-f", fmt, "-o", str(out / f"run.{fmt}"))
        assert result.returncode == 0, result.stderr
        assert f"exported {ev.events} events" in result.stderr
    assert len((out / "run.jsonl").read_text().splitlines()) == ev.events
    verify = ev.cli("verify", str(out / "run.jsonl"))
    assert verify.returncode == 0, verify.stderr

    copied = ev.cli("journal", "copy", str(ev.db), str(out / "copy.db"))
    assert copied.returncode == 0, copied.stderr
    assert f"copied {ev.run_id}: {ev.events} events" in copied.stdout

    assert ev.snapshot() == before
    assert list(ev.tmp.iterdir()) == []


@pytest.mark.parametrize(
    ("layout", "leftover", "commands"),
    [
        (
            "folder",
            "wal",
            ("confirm", "claim", "skip", "expect", "retry", "resume", "run", "rehearse"),
        ),
        ("file", "none", ("confirm", "resume", "run")),
        ("owner", "wal+shm", ("confirm", "run")),
    ],
)
def test_writing_commands_stop_with_one_line_and_exit_2(
    tmp_path: Path,
    source: Source,
    layout: str,
    leftover: str,
    commands: tuple[str, ...],
    restore_modes: None,
) -> None:
    ev = _evidence(tmp_path, source, layout, leftover)
    before = ev.snapshot()
    book = source.playbook
    args = {
        "confirm": ["confirm", "latest", "power"],
        "claim": ["claim", "latest", "power"],
        "skip": ["skip", "latest", "dns", "--note", "by hand"],
        "expect": ["expect", "latest", "power", "5m"],
        "retry": ["retry", "latest", "dns"],
        "resume": ["-q", "resume", "latest"],
        "run": ["-q", "run", str(book)],
        "rehearse": ["-q", "rehearse", str(book)],
    }
    for command in commands:
        result = ev.cli(*args[command])
        assert result.returncode == 2, (command, result.stdout, result.stderr)
        errors = result.stderr.strip().splitlines()
        assert len(errors) == 1, (command, result.stderr)
        assert errors[0].startswith(f"error: cannot write the journal {ev.db}: "), errors
        assert "nothing was written" in errors[0] and "--state COPY" in errors[0]
    assert not source.mark.exists()
    assert ev.snapshot() == before  # not one event more, nothing made beside it
    verify = ev.cli("verify", "latest")
    assert verify.stdout.startswith(f"ok: {ev.events} events"), verify.stderr

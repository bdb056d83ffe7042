"""The playbook's hash that `join` and `resume` compare: content, not where it is."""

from __future__ import annotations

import shutil
from pathlib import Path

from runbook.app._join_check import playbook_sha256


def _checkout(root: Path, config: str) -> tuple[list[str], list[str]]:
    (root / "files").mkdir(parents=True)
    (root / "pb.yml").write_text("playbook: p\nsteps: []\n")
    (root / "files" / "app.conf").write_text(config)
    return [str(root / "pb.yml")], [str(root / "files" / "app.conf")]


def test_the_same_checkout_in_another_folder_has_the_same_hash(tmp_path: Path) -> None:
    here = _checkout(tmp_path / "alice" / "restore", "port = 80\n")
    there = _checkout(tmp_path / "bob" / "work" / "restore", "port = 80\n")
    assert playbook_sha256(*here) == playbook_sha256(*there)


def test_a_copied_file_that_differs_or_moved_changes_the_hash(tmp_path: Path) -> None:
    files, sources = _checkout(tmp_path / "a", "port = 80\n")
    before = playbook_sha256(files, sources)
    Path(sources[0]).write_text("port = 8080\n")
    assert playbook_sha256(files, sources) != before
    moved = tmp_path / "a" / "other.conf"
    shutil.move(sources[0], moved)
    moved.write_text("port = 80\n")
    assert playbook_sha256(files, [str(moved)]) != before


def test_join_accepts_new_host_keys_only_when_asked_here() -> None:
    """A run started with --accept-new-host-keys does not make a joining machine accept
    unknown keys; `join --accept-new-host-keys` does."""
    from runbook.app import Joined
    from runbook.app._session_prepare import RunRequest

    started = RunRequest(playbook=Path("pb.yml"), accept_new_host_keys=True)
    assert Joined().request(started).accept_new_host_keys is False
    quiet = RunRequest(playbook=Path("pb.yml"))
    assert Joined(accept_new_host_keys=True).request(quiet).accept_new_host_keys is True

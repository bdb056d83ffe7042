"""The fields of hosts in batches, quorum, files and privileges, as the loader reads them
(docs/playbook.md), and the checks that need the inventory: `min_ok` above the hosts,
a host and a group of one name, through the real CLI."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from runbook.load import resolve
from runbook.model import Count, FileCopy

INVENTORY = "all:\n  children:\n    mail:\n      hosts: {mx1: {}, mx2: {}, mx3: {}}\n"


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "runbook", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=60,
        env={"PATH": "/usr/bin:/bin", "NO_COLOR": "1"},
    )


def _write(tmp_path: Path, steps: str, head: str = "") -> Path:
    (tmp_path / "hosts.yml").write_text(INVENTORY)
    book = tmp_path / "book.yml"
    book.write_text(f"playbook: restore\n{head}steps:\n{steps}")
    return book


def test_fields_are_read_with_defaults_merged(tmp_path: Path) -> None:
    (tmp_path / "files").mkdir()
    book = _write(
        tmp_path,
        "  - id: push\n"
        "    hosts: mail\n"
        "    serial: [1, 25%]\n"
        "    copy: {src: files/main.cf, dest: /etc/postfix/main.cf, mode: '0640'}\n"
        "    env: {B: two, A: mine}\n"
        "    doc: https://example.invalid/push\n"
        "  - id: quorum\n"
        "    hosts: mail\n"
        "    until: 'true'\n"
        "    min_ok: 66%\n"
        '    stdin: "yes\\n"\n',
        head="defaults:\n  env: {A: default, C: three}\n  become: true\n  max_fail: 1\n",
    )
    step = resolve(book, [tmp_path / "hosts.yml"]).playbook.step("push")
    assert step.serial == (Count(1), Count(25, percent=True))
    assert step.max_fail == Count(1) and step.become
    assert step.env == (("C", "three"), ("B", "two"), ("A", "mine"))
    assert step.copy == FileCopy(
        "/etc/postfix/main.cf", "files/main.cf", None, "0640", str(tmp_path)
    )
    assert step.doc == "https://example.invalid/push"
    quorum = resolve(book, [tmp_path / "hosts.yml"]).playbook.step("quorum")
    assert quorum.min_ok == Count(66, percent=True) and quorum.stdin == "yes\n"
    assert quorum.min_ok.of(3, round_up=True) == 2 and Count(25, True).of(3) == 0


def test_min_ok_above_the_hosts_is_located(tmp_path: Path) -> None:
    book = _write(tmp_path, "  - id: quorum\n    hosts: mail\n    until: 'true'\n    min_ok: 4\n")
    result = _cli("validate", str(book), "-i", "hosts.yml", cwd=tmp_path)
    assert result.returncode == 2
    assert f"{book}:6:13: error: `min_ok: 4` of step 'quorum' is more than its 3 host(s)" in (
        result.stderr
    )


def test_a_host_and_a_group_of_one_name_warn_and_the_group_wins(tmp_path: Path) -> None:
    (tmp_path / "hosts.ini").write_text("[mail]\nmx1\n[site-paris]\nmail\nmx1\n")
    book = tmp_path / "book.yml"
    book.write_text("playbook: r\nsteps:\n  - id: a\n    hosts: 'mail:!site-paris'\n    run: x\n")
    result = _cli("validate", str(book), "-i", "hosts.ini", cwd=tmp_path)
    # the group `mail` (mx1) minus site-paris: nothing, as in Ansible
    assert result.returncode == 2
    assert "matches no host" in result.stderr
    book.write_text("playbook: r\nsteps:\n  - id: a\n    hosts: 'mail'\n    run: x\n")
    result = _cli("validate", str(book), "-i", "hosts.ini", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert f"{book}:4:12: warning: 'mail' in host pattern 'mail' is both a host and a group" in (
        result.stderr
    )
    hosts = _cli("hosts", "-i", "hosts.ini", "mail", "--format", "json", cwd=tmp_path)
    assert hosts.returncode == 0 and '"name": "mx1"' in hosts.stdout
    assert '"name": "mail"' not in hosts.stdout
    assert "the group 'mail' is selected" in hosts.stderr


def test_the_example_playbook_validates_and_rehearses(tmp_path: Path) -> None:
    root = Path(__file__).resolve().parents[2]
    book = root / "playbooks" / "rolling-restore.yml"
    inventory = root / "inventory" / "datacenter.yml"
    result = _cli("validate", str(book), "-i", str(inventory), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    rehearsal = subprocess.run(
        [
            sys.executable,
            "-m",
            "runbook",
            "--state",
            str(tmp_path / "s.db"),
            "rehearse",
            str(book),
            "-i",
            str(inventory),
            "--speed",
            "max",
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=120,
        env={"PATH": "/usr/bin:/bin", "NO_COLOR": "1"},
    )
    assert rehearsal.returncode == 0, rehearsal.stdout[-2000:] + rehearsal.stderr[-2000:]
    assert "run_finished      succeeded (succeeded 5)" in rehearsal.stdout
    assert not (tmp_path / "saved").exists()  # a rehearsal fetches nothing

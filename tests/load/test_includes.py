"""`include:` on real files: nested, in place, each file once, and include cycles as paths."""

from __future__ import annotations

from pathlib import Path

from runbook.errors import Issue
from runbook.load._includes import load_tree
from runbook.load._playbook_file import read_playbook_file


def write(root: Path, rel: str, text: str) -> Path:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_one_file_gives_its_fields_steps_and_includes(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "restore.yml",
        "playbook: restore\ntitle: Restore\nrto: 8h\n"
        "include: [parts/mail.yml]\n"
        "vars: {site: paris}\n"
        "steps: [{id: power, manual: Call the NOC}]\n",
    )
    issues: list[Issue] = []
    part = read_playbook_file(path, "restore.yml", issues)
    assert part is not None and issues == []
    assert part.top == {"playbook": "restore", "title": "Restore", "rto": 28800}
    assert [d.id for d in part.drafts] == ["power"]
    assert [(text, str(loc)) for text, loc in part.includes] == [
        ("parts/mail.yml", "restore.yml:4:11")
    ]
    assert part.includes_first and part.vars["site"].value == "paris"


def test_includes_nest_and_each_file_is_read_once(tmp_path: Path) -> None:
    write(tmp_path, "parts/common.yml", "vars: {queue: 100}\nsteps: [{id: dns, manual: go}]\n")
    write(
        tmp_path,
        "parts/mail.yml",
        "include: common.yml\nvars: {queue: 500, mail: exim}\nsteps: [{id: mail, manual: go}]\n",
    )
    write(tmp_path, "parts/phone.yml", "steps: [{id: phone, manual: go}]\ninclude: common.yml\n")
    root = write(
        tmp_path,
        "restore.yml",
        "vars: {mail: postfix}\n"
        "steps: [{id: power, manual: go}]\n"
        "include: [parts/mail.yml, parts/phone.yml]\n",
    )
    issues: list[Issue] = []
    tree = load_tree(root, "restore.yml", issues)
    assert issues == []
    assert tree.files == ["restore.yml", "parts/mail.yml", "parts/common.yml", "parts/phone.yml"]
    assert [d.id for d in tree.drafts] == ["power", "dns", "mail", "phone"]
    assert {k: v.value for k, v in tree.vars.items()} == {"queue": 500, "mail": "postfix"}


def test_cycles_and_missing_files_are_located(tmp_path: Path) -> None:
    write(tmp_path, "parts/a.yml", "steps: [{id: a, manual: go}]\ninclude: b.yml\n")
    write(tmp_path, "parts/b.yml", "steps: [{id: b, manual: go}]\ninclude: ../restore.yml\n")
    (tmp_path / "parts" / "folder.yml").mkdir()
    root = write(
        tmp_path,
        "restore.yml",
        "steps: [{id: r, manual: go}]\ninclude: [parts/a.yml, parts/nope.yml, parts/folder.yml]\n",
    )
    issues: list[Issue] = []
    load_tree(root, "restore.yml", issues)
    assert [(str(i.location), i.message) for i in issues] == [
        (
            "parts/b.yml:2:10",
            "include cycle: restore.yml → parts/a.yml → parts/b.yml → restore.yml",
        ),
        (
            "restore.yml:2:24",
            "included file 'parts/nope.yml' does not exist (looked for parts/nope.yml)",
        ),
        (
            "restore.yml:2:40",
            "included file 'parts/folder.yml' is a folder (looked for parts/folder.yml)",
        ),
    ]

"""`doc:` on a step: shown at the prompt, on failure, in status (text, md, json) and in the
reports (md, html), through the real CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pexpect
from engine_helpers import cli, spawn_tty, write

GEO = "https://docs.gitlab.com/administration/geo/disaster_recovery/"
CHECK = "https://wiki.example.invalid/restore#check-room-a"
PLAYBOOK = f"""
playbook: docs
steps:
  - id: check-room
    manual: Check that room A is energised.
    doc: {CHECK}
  - id: promote
    needs: [check-room]
    local: true
    run: "echo promotion refused; exit 3"
    doc: {GEO}
"""


def test_doc_is_shown_at_the_prompt_on_failure_in_status_and_reports(tmp_path: Path) -> None:
    pb = write(tmp_path / "pb.yml", PLAYBOOK)
    child = spawn_tty(tmp_path, "run", str(pb), dimensions=(50, 160))
    # the console's question: the instructions, then the link under them
    child.expect("Check that room A is energised")
    child.expect(f"doc: {CHECK}")
    child.send("d")  # done: a dialog asks for a note; Enter sends the answer
    child.expect("note for the journal")
    child.send("\r")
    child.expect(r"== run \S+ ")
    child.expect(pexpect.EOF, timeout=60)
    child.close()
    assert child.exitstatus == 1
    state = tmp_path / "state.db"
    text = cli(state, "status", "latest").stdout
    assert f"doc: {GEO}" in text
    md = cli(state, "status", "latest", "--format", "md").stdout
    assert "(doc: https://docs.gitlab.com/administration/geo/disaster\\_recovery/)" in md
    doc = json.loads(cli(state, "status", "latest", "--format", "json").stdout)
    by_id = {s["id"]: s for s in doc["steps"]}
    assert by_id["promote"]["doc"] == GEO and by_id["check-room"]["doc"] == CHECK
    report = cli(state, "export", "latest", "--format", "md").stdout
    assert "Documentation: https://docs.gitlab.com/administration/geo/disaster\\_recovery/" in (
        report
    )
    html = cli(state, "export", "latest", "--format", "html").stdout
    assert f'doc: <a href="{GEO}">{GEO}</a>' in html


def test_doc_is_on_the_failure_line_when_piped(tmp_path: Path) -> None:
    automated = PLAYBOOK.replace("manual: Check", "local: true\n    run: 'true'\n    title: Check")
    pb = write(tmp_path / "pb.yml", automated)
    r = cli(tmp_path / "state.db", "run", str(pb))
    assert r.returncode == 1, r.stderr
    (line,) = [x for x in r.stdout.splitlines() if " step_failed " in x]
    assert line.endswith(f"[doc: {GEO}]")
    no_doc = write(
        tmp_path / "plain.yml", "playbook: p\nsteps:\n  - id: a\n    local: true\n    run: 'true'\n"
    )
    cli(tmp_path / "other.db", "run", str(no_doc))
    # a step without doc has no "doc" key in status JSON: the same bytes as before the field
    doc = json.loads(cli(tmp_path / "other.db", "status", "latest", "--format", "json").stdout)
    assert "doc" not in doc["steps"][0]

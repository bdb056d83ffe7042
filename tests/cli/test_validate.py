"""`runbook validate` and `runbook schema` through the real CLI, and the malformed corpus.

Every file in tests/data/bad/ is a real mistake a user makes; `validate` must exit 2 with
the file:line:col and the message, and never a traceback. A playbook file states what it
expects on its first line (`# expect: LINE:COL message`); inventory files (engineer A's)
are validated with a tiny good playbook and `-i FILE`, their expectations come from the
header if they have one, else from tests/inventory_helpers.py.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

DATA = Path(__file__).resolve().parents[1] / "data"
BAD = DATA / "bad"
GOOD = DATA / "good"
HEADER = re.compile(r"#\s*expect:\s*(\d+)(?::(\d+))?\s+(.*\S)")


def runbook(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "runbook", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=120,
        # PYTHONPATH passes through: a worktree's tests run its own code
        env={"PATH": "/usr/bin:/bin", "NO_COLOR": "1"}
        | ({"PYTHONPATH": os.environ["PYTHONPATH"]} if "PYTHONPATH" in os.environ else {}),
    )


def _table_expectations() -> dict[str, tuple[int, int | None, str]]:
    try:
        from tests.inventory_helpers import BAD_INVENTORIES
    except ImportError:
        try:
            from inventory_helpers import BAD_INVENTORIES  # type: ignore[import-not-found,no-redef]
        except ImportError:
            return {}
    return {name: (line, None, message) for name, line, message in BAD_INVENTORIES}


def expectation(path: Path) -> tuple[int, int | None, str] | None:
    head = path.read_bytes()[:300].decode("utf-8", "replace").splitlines()
    found = HEADER.match(head[0]) if head else None
    if found:
        col = int(found.group(2)) if found.group(2) else None
        return int(found.group(1)), col, found.group(3)
    return _table_expectations().get(path.name)


CORPUS = sorted(p for p in BAD.iterdir() if p.is_file())


def test_the_corpus_covers_every_playbook_rule() -> None:
    assert len([p for p in CORPUS if p.name.startswith("playbook-")]) >= 22


@pytest.mark.parametrize("path", CORPUS, ids=[p.name for p in CORPUS])
def test_malformed_file_is_reported_with_its_location(path: Path, tmp_path: Path) -> None:
    expected = expectation(path)
    assert expected is not None, f"{path.name}: no `# expect:` header and no table entry"
    line, col, message = expected
    if path.name.startswith("inventory-"):
        result = runbook("validate", str(GOOD / "minimal.yml"), "-i", str(path), cwd=tmp_path)
    else:
        result = runbook("validate", str(path), cwd=tmp_path)
    out = result.stdout + result.stderr
    assert result.returncode == 2, out
    assert "Traceback" not in out and "internal error" not in out, out
    where = f"{path}:{line}:{col}:" if col else f"{path}:{line}:"
    assert where in result.stderr, out
    assert message in result.stderr, out


def test_valid_playbook_prints_a_summary(tmp_path: Path) -> None:
    inventory = tmp_path / "hosts.yml"
    inventory.write_text(
        "all:\n  children:\n    core:\n      hosts: {core-sw-pa01: {}, core-sw-pa02: {}}\n"
        "    mail:\n      hosts: {mx1: {}, mx2: {}}\n"
    )
    result = runbook("validate", str(GOOD / "restore.yml"), "-i", str(inventory), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "ok: 5 steps, 3 hosts, 4 phases (2 files)\n"
    assert result.stderr == ""


def test_every_problem_is_listed_in_one_pass(tmp_path: Path) -> None:
    book = tmp_path / "restore.yml"
    book.write_text(
        "playbook: restore\n"
        "steps:\n"
        "  - id: power\n"
        "    manual: Call the NOC.\n"
        "    timeout: soon\n"
        "  - id: network\n"
        "    needs: [powr]\n"
        "    local: true\n"
        "    run: ping -c1 core\n"
        "    retries: -2\n"
        "  - id: Bad_Id\n"
        "    manual: x\n"
        "  - id: notify\n"
        "    local: true\n"
        "    run: 'echo {{ vars.site }'\n"
    )
    result = runbook("validate", str(book), cwd=tmp_path)
    assert result.returncode == 2
    lines = result.stderr.splitlines()
    assert lines == [
        f"{book}:5:14: error: `timeout`: 'soon' is not a duration (write e.g. 90s, 15m, 1h30m, 1d)",
        f"{book}:7:13: error: unknown step 'powr' in `needs` (did you mean 'power'?)",
        f"{book}:10:14: error: `retries` must be at least 0, not -2 (write 0 or more)",
        f"{book}:11:9: error: `id` 'Bad_Id' is not a valid id "
        "(use lowercase letters, digits, '.', '_' and '-' ([a-z0-9][a-z0-9._-]*), e.g. 'bad_id')",
        # template syntax too, although the other errors stop the full template check
        f"{book}:15:10: error: `run` template: syntax error: unexpected '}}' "
        "(check that every {{ has its }} and every {% its %})",
        "5 errors",
    ]


def test_remote_steps_without_inventory_ask_for_one(tmp_path: Path) -> None:
    result = runbook("validate", str(BAD / "playbook-no-inventory.yml"), cwd=tmp_path)
    assert result.returncode == 2
    assert "pass -i INVENTORY" in result.stderr


def test_inventory_folder_here_is_the_default(tmp_path: Path) -> None:
    (tmp_path / "inventory").mkdir()
    (tmp_path / "inventory" / "hosts.yml").write_text("all:\n  hosts:\n    web1: {}\n")
    book = tmp_path / "book.yml"
    book.write_text("steps:\n  - id: ping\n    hosts: all\n    run: 'true'\n")
    result = runbook("validate", "book.yml", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "ok: 1 step, 1 host, 1 phase\n"


def test_missing_playbook_file_is_exit_2(tmp_path: Path) -> None:
    result = runbook("validate", "nope.yml", cwd=tmp_path)
    assert result.returncode == 2
    assert "nope.yml: no such file" in result.stderr
    assert "Traceback" not in result.stderr


def test_unset_env_vars_do_not_fail_validation(tmp_path: Path) -> None:
    book = tmp_path / "book.yml"
    book.write_text(
        "vars: {db_password: {env: DB_PASSWORD}, port: {env: DB_PORT}}\n"
        "steps:\n"
        "  - id: login\n"
        "    local: true\n"
        "    run: 'psql -p {{ vars.port | int + 1 }} --password {{ vars.db_password }}'\n"
    )
    result = runbook("validate", str(book), cwd=tmp_path)
    assert result.returncode == 0, result.stderr


def test_schema_is_json_schema_2020_12(tmp_path: Path) -> None:
    result = runbook("schema", cwd=tmp_path)
    assert result.returncode == 0
    schema = json.loads(result.stdout)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert "steps" in schema["properties"]
    assert schema["$defs"]["step"]["required"] == ["id"]

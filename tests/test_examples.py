"""Every example playbook in playbooks/ validates, plans and rehearses to success, with the
inventory its header names, as a reader would first try it; its journal holds only the
event data docs/journal.md documents.

The header's `runbook validate playbooks/X.yml -i inventory/Y.yml` line says which
inventory; an `{env: NAME}` variable without a default is given a stand-in, as a reader
would export one. The includes are checked through the playbooks that include them.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from engine_helpers import cli, events
from journal_doc_helpers import undocumented

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = sorted((ROOT / "playbooks").glob("*.yml"))


def _inventory(book: Path) -> list[str]:
    found = re.search(
        rf"runbook validate playbooks/{re.escape(book.name)}(?: -i (\S+))?", book.read_text()
    )
    assert found, f"{book.name}: its header does not say how to validate it"
    return ["-i", str(ROOT / found[1])] if found[1] else []


def _environment(book: Path) -> dict[str, str]:
    values = yaml.safe_load(book.read_text()).get("vars") or {}
    return {
        v["env"]: f"example-{v['env'].lower()}"
        for v in values.values()
        if isinstance(v, dict) and "env" in v and "default" not in v
    }


def test_the_examples_are_all_here() -> None:
    names = {b.name for b in EXAMPLES}
    assert {"gitlab-geo-failover.yml", "cloud-cold-start.yml", "galera-power-loss.yml"} <= names


@pytest.mark.parametrize("book", EXAMPLES, ids=[b.stem for b in EXAMPLES])
def test_an_example_validates_plans_and_rehearses(book: Path, tmp_path: Path) -> None:
    inventory = _inventory(book)
    env = _environment(book)
    state = tmp_path / "state.db"
    for args in (["validate"], ["plan"], ["rehearse", "--speed", "max", "--seed", "1"]):
        r = cli(state, *args[:1], str(book), *inventory, *args[1:], extra_env=env, cwd=tmp_path)
        assert r.returncode == 0, f"{book.name} {args[0]}:\n{r.stdout[-3000:]}{r.stderr[-2000:]}"
        assert "Traceback" not in r.stderr
    # what the rehearsal journaled is what docs/journal.md's event table says
    assert undocumented(events(state)) == []

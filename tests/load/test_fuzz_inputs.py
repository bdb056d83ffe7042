"""Random and mutated playbooks and inventories: success or a located error, never a crash.

The CLI's handler turns any unexpected exception into "internal error … details in <log>"
with exit 1; so "exit code is 0 or 2, and 2 comes with located messages" is exactly
"no traceback, no crash" from a user's point of view.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings, strategies as st

from runbook.cli import main

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = (ROOT / "playbooks" / "first-restore.yml").read_text()
INVENTORY = (ROOT / "inventory" / "datacenter.yml").read_text()
LOCATED = re.compile(r"^\S.*:\d+:\d+: error: .+|^error: .+|^\S+: .+", re.MULTILINE)
FUZZ = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def outcome(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = main(argv)
    captured = capsys.readouterr()
    return code, captured.err


def assert_clean(code: int, err: str) -> None:
    assert "Traceback" not in err
    assert "internal error" not in err, err
    assert code in (0, 2), (code, err)
    if code == 2:
        assert LOCATED.search(err), err


def mutate(text: str, data: st.DataObject) -> str:
    lines = text.splitlines()
    for _ in range(data.draw(st.integers(1, 4))):
        if not lines:
            break
        i = data.draw(st.integers(0, len(lines) - 1))
        op = data.draw(st.sampled_from(["drop", "dup", "indent", "dedent", "garble", "cut"]))
        if op == "drop":
            del lines[i]
        elif op == "dup":
            lines.insert(i, lines[i])
        elif op == "indent":
            lines[i] = "  " + lines[i]
        elif op == "dedent":
            lines[i] = lines[i][2:]
        elif op == "cut":
            lines[i] = lines[i][: data.draw(st.integers(0, max(0, len(lines[i]))))]
        else:
            junk = data.draw(st.text(alphabet=":-[]{}&*!|>'\"#%@`\t \\x{}0", max_size=6))
            pos = data.draw(st.integers(0, len(lines[i])))
            lines[i] = lines[i][:pos] + junk + lines[i][pos:]
    return "\n".join(lines) + "\n"


@FUZZ
@given(data=st.data())
def test_mutated_playbooks_fail_cleanly(
    data: st.DataObject, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "p.yml"
    path.write_text(mutate(EXAMPLE, data))
    assert_clean(*outcome(["validate", str(path)], capsys))


@FUZZ
@given(data=st.data())
def test_mutated_inventories_fail_cleanly(
    data: st.DataObject, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    inv = tmp_path / "inv.yml"
    inv.write_text(mutate(INVENTORY, data))
    assert_clean(*outcome(["hosts", "-i", str(inv), "--format", "json"], capsys))


scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**6), 10**6),
    st.floats(allow_nan=True),
    st.text(max_size=12),
    st.sampled_from(["15m", "1h30m", "phase:power", "all", "a:&b", "{{ vars.x }}", "-1"]),
)
keys = st.sampled_from(
    [
        "playbook",
        "title",
        "steps",
        "id",
        "run",
        "hosts",
        "needs",
        "manual",
        "local",
        "phase",
        "estimate",
        "min",
        "max",
        "likely",
        "vars",
        "defaults",
        "include",
        "rto",
        "parallel",
        "timeout",
        "retries",
        "every",
        "until",
        "verify",
        "skip_if",
        "env",
        "secret",
        "junk",
    ]
)
trees = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(keys, inner, max_size=6),
    max_leaves=30,
)


@FUZZ
@given(doc=st.dictionaries(keys, trees, max_size=8))
def test_random_structures_fail_cleanly(
    doc: dict[str, object], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "p.yml"
    path.write_text(yaml.safe_dump(doc, allow_unicode=True))
    assert_clean(*outcome(["validate", str(path)], capsys))


@FUZZ
@given(text=st.text(max_size=300))
def test_random_ini_inventories_fail_cleanly(
    text: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    inv = tmp_path / "hosts.ini"
    inv.write_text("[web]\n" + text)
    assert_clean(*outcome(["hosts", "-i", str(inv), "--format", "json"], capsys))

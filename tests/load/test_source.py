"""The located YAML reader: data, locations, and every trap as a located error."""

from __future__ import annotations

from pathlib import Path

import pytest

from runbook.errors import InputError
from runbook.load._source import Locations, load_yaml, parse_yaml
from runbook.model import Location


def error_of(text: str) -> str:
    with pytest.raises(InputError) as info:
        parse_yaml(text, "f.yml")
    return str(info.value)


def test_values_and_keys_are_located() -> None:
    doc = parse_yaml("a: 1\nsteps:\n  - id: x\n    run: echo\n", "f.yml")
    assert doc.data == {"a": 1, "steps": [{"id": "x", "run": "echo"}]}
    assert str(doc.loc(("steps", 0, "run"))) == "f.yml:4:10"
    assert str(doc.key_loc(("steps", 0, "run"))) == "f.yml:4:5"
    # a path that does not exist falls back to its nearest ancestor
    assert str(doc.loc(("steps", 0, "nope"))) == "f.yml:3:5"


def test_duplicate_key_names_both_lines() -> None:
    assert "f.yml:3:1: error: duplicate key 'a' (first at line 1)" in error_of("a: 1\nb: 2\na: 3\n")


def test_tab_indentation_is_explained() -> None:
    msg = error_of("a:\n\t- 1\n")
    assert "f.yml:2:1" in msg and "tab" in msg and "spaces" in msg


def test_alias_bomb_stops_quickly_with_a_location() -> None:
    lines = ["l0: &l0 [x, x, x, x, x, x, x, x, x]"]
    for i in range(1, 9):
        lines.append(f"l{i}: &l{i} [" + ", ".join([f"*l{i - 1}"] * 9) + "]")
    assert "alias bomb" in error_of("\n".join(lines) + "\n")


def test_merge_keys_follow_yaml() -> None:
    doc = parse_yaml("base: &b {x: 1, y: 2}\nc:\n  <<: *b\n  y: 3\n", "f.yml")
    assert doc.data["c"] == {"x": 1, "y": 3}


def test_deep_nesting_is_refused() -> None:
    assert "nesting" in error_of("[" * 3000 + "]" * 3000)


def test_two_documents_are_refused() -> None:
    assert "f.yml:2:1" in error_of("a: 1\n---\nb: 2\n")


def test_non_utf8_is_located(tmp_path: Path) -> None:
    p = tmp_path / "bad.yml"
    p.write_bytes(b"a: 1\nb: caf\xe9\n")
    with pytest.raises(InputError) as info:
        load_yaml(p)
    assert f"{p}:2:7" in str(info.value) and "UTF-8" in str(info.value)


def test_empty_file_gives_no_data(tmp_path: Path) -> None:
    p = tmp_path / "empty.yml"
    p.write_text("# only a comment\n")
    assert load_yaml(p).data is None


def test_missing_file_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such file"):
        load_yaml(tmp_path / "nope.yml")


def test_a_key_written_beside_a_merge_is_located_where_it_is_written() -> None:
    doc = parse_yaml("base: &b {x: 1, y: 2}\nc:\n  <<: *b\n  y: 3\n", "f.yml")
    assert str(doc.key_loc(("c", "y"))) == "f.yml:4:3"
    assert str(doc.loc(("c", "y"))) == "f.yml:4:6"
    assert str(doc.key_loc(("c", "x"))) == "f.yml:1:11"  # merged in: where the anchor has it


def test_aliases_reuse_values_without_duplicating_their_locations() -> None:
    doc = parse_yaml("a: &a [1, 2]\nb: *a\n", "f.yml")
    assert doc.data == {"a": [1, 2], "b": [1, 2]}
    assert str(doc.loc(("b", 1))) == "f.yml:1:11"


def test_field_locations_are_made_on_demand_and_behave_as_a_mapping() -> None:
    doc = parse_yaml("steps:\n  - id: x\n    run: echo\n", "f.yml")
    marks = doc.marks(("steps", 0))
    locations = Locations("f.yml", dict(marks))
    assert str(locations["run"]) == "f.yml:3:10"
    assert "id" in locations and "nope" not in locations
    assert locations.get("nope") is None
    assert dict(locations) == {"id": Location("f.yml", 2, 9), "run": Location("f.yml", 3, 10)}
    locations["run"] = Location("g.yml", 1, 1)
    assert locations["run"] == Location("g.yml", 1, 1)


# Plain YAML of every kind a playbook or inventory holds, and the forms that make the
# reader fall back to the node tree (anchors, merge keys, tags, keys that are not text).
SAME_EITHER_WAY = [
    "a: 1\nb: [x, 'y', \"z\"]\nc: {d: 2.5, e: true, f: null, g: ~}\n",
    "steps:\n  - id: x\n    run: |\n      echo 1\n      echo 2\n    when: >\n      a\n      b\n",
    "- 1\n- - 2\n  - {k: [3, {m: n}]}\n- 2024-01-02\n- ''\n-\n",
    "just text\n",
    "42\n",
    "---\n",
    "a: &x {b: 1}\nc: *x\nd:\n  <<: *x\n  e: 2\n",
    "a: !!str 12\nb: !!int '7'\n",
    "1: one\ntrue: yes\n? [a]\n: b\n",
    "a: x\n\n\nb:\n  # a comment\n  c: 'multi\n    line'\n",
]


def _all_paths(data: object, path: tuple[str | int, ...] = ()) -> list[tuple[str | int, ...]]:
    found = [path]
    if isinstance(data, dict):
        for key, value in data.items():
            found += _all_paths(value, (*path, key))
    elif isinstance(data, list):
        for i, value in enumerate(data):
            found += _all_paths(value, (*path, i))
    return found


@pytest.mark.parametrize("text", SAME_EITHER_WAY)
@pytest.mark.parametrize("loader", ["C", "Python"])
def test_read_from_events_as_from_the_node_tree(text: str, loader: str) -> None:
    import yaml

    cls = yaml.SafeLoader if loader == "Python" else getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    try:
        slow = parse_yaml(text, "f.yml", cls, events=False)
    except InputError as e:  # `? [a]`: the same error either way
        with pytest.raises(InputError) as fast_error:
            parse_yaml(text, "f.yml", cls)
        assert str(fast_error.value) == str(e)
        return
    fast = parse_yaml(text, "f.yml", cls)
    assert fast.data == slow.data
    assert fast.root_mark == slow.root_mark
    for path in _all_paths(slow.data):
        assert fast.loc(path) == slow.loc(path), path
        assert fast.key_loc(path) == slow.key_loc(path), path

"""The JSON Schema is generated from the loader's own field table: they cannot drift."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from runbook.durations import parse_duration
from runbook.load._fields import DEFAULTS_FIELDS, STEP_FIELDS, TOP_FIELDS
from runbook.load._schema import DURATION_PATTERN, playbook_schema
from runbook.load._source import load_yaml

ROOT = Path(__file__).resolve().parents[2]


def test_schema_lists_exactly_the_fields_the_loader_knows() -> None:
    schema = playbook_schema()
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert list(schema["properties"]) == list(TOP_FIELDS)
    step = schema["$defs"]["step"]
    assert list(step["properties"]) == list(STEP_FIELDS)
    assert step["additionalProperties"] is False
    defaults = schema["$defs"]["defaults"]["properties"]
    assert list(defaults) == list(DEFAULTS_FIELDS)
    assert not {"id", "title", "manual", "run", "skip_if", "until", "verify", "needs"} & set(
        defaults
    )


def test_schema_is_plain_json_with_resolvable_refs() -> None:
    schema = playbook_schema()
    text = json.dumps(schema)
    for ref in set(re.findall(r'"\$ref": "#/\$defs/([a-z_]+)"', text)):
        assert ref in schema["$defs"]


@pytest.mark.parametrize(
    "text", ["90s", "15m", "2h", "1h30m", "1d", "45", "2.5h", "1h 30m", "90S", "eight", "1h30", "m"]
)
def test_schema_duration_pattern_agrees_with_the_loader(text: str) -> None:
    try:
        parse_duration(text)
        accepted = True
    except ValueError:
        accepted = False
    assert bool(re.match(DURATION_PATTERN, text)) == accepted


def test_the_example_playbooks_use_only_schema_fields() -> None:
    schema = playbook_schema()
    step_fields = set(schema["$defs"]["step"]["properties"])
    books = sorted((ROOT / "playbooks").rglob("*.yml")) + sorted(
        (ROOT / "tests" / "data" / "good").rglob("*.yml")
    )
    assert books
    for path in books:
        data = load_yaml(path).data
        assert set(data) <= set(schema["properties"]), path
        for step in data.get("steps") or []:
            assert set(step) <= step_fields, (path, step.get("id"))

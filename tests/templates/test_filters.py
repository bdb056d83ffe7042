"""The Ansible filters a command copied from a playbook uses: same names, same answers."""

from __future__ import annotations

import json
from typing import Any

import pytest

from runbook.templates._filters import ansible_filters
from runbook.templates._render import Raw, render_command

FILTERS = ansible_filters(Raw)


def apply(name: str, *args: Any, **kwargs: Any) -> Any:
    return FILTERS[name](*args, **kwargs)


def test_base64_both_ways() -> None:
    assert apply("b64encode", "admin:s3cret") == "YWRtaW46czNjcmV0"
    assert apply("b64decode", "YWRtaW46czNjcmV0") == "admin:s3cret"
    assert apply("b64decode", apply("b64encode", "café ☕")) == "café ☕"


def test_regex_replace_and_search_work_per_line_as_ansible_does() -> None:
    text = "eth0 up\neth1 down"
    assert apply("regex_replace", text, r"^eth", "en") == "en0 up\nen1 down"
    assert apply("regex_replace", "Mail-01", "mail", "mx", ignorecase=True) == "mx-01"
    assert apply("regex_search", text, r"^eth1.*$") == "eth1 down"
    assert apply("regex_search", text, r"wlan") is None


def test_json_forms() -> None:
    value = {"b": [1, 2], "a": "x"}
    assert json.loads(apply("to_json", value)) == value
    assert (
        apply("to_nice_json", value)
        == '{\n    "a": "x",\n    "b": [\n        1,\n        2\n    ]\n}'
    )


TRUE = (True, "yes", "On", "1", " true ", "t")
FALSE = (False, "no", "0", "", "maybe")


@pytest.mark.parametrize(
    ("value", "expected"), [(v, True) for v in TRUE] + [(v, False) for v in FALSE]
)
def test_bool_reads_the_words_ansible_reads(value: Any, expected: bool) -> None:
    assert apply("bool", value) is expected


def test_ternary_with_and_without_a_none_value() -> None:
    assert apply("ternary", True, "primary", "replica") == "primary"
    assert apply("ternary", 0, "primary", "replica") == "replica"
    assert apply("ternary", None, "yes", "no", "unknown") == "unknown"
    assert apply("ternary", None, "yes", "no") == "no"


def test_paths() -> None:
    assert apply("basename", "/var/lib/pgsql/15/data") == "data"
    assert apply("dirname", "/var/lib/pgsql/15/data") == "/var/lib/pgsql/15"


def test_quote_is_quoted_once_in_a_command_not_twice() -> None:
    assert apply("quote", "a b") == "'a b'" and isinstance(apply("quote", "a b"), Raw)
    ctx = {"vars": {"path": "/srv/my files"}}
    assert render_command("ls {{ vars.path | quote }}", ctx) == "ls '/srv/my files'"
    assert render_command("ls {{ vars.path }}", ctx) == "ls '/srv/my files'"

"""An INI inventory's values as Ansible reads them: Python literals when they are one, text
otherwise (checked against ansible-core's `ansible-inventory --list`)."""

from __future__ import annotations

from typing import Any

import pytest

from runbook.load.inventory._ini import parse_value


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("2222", 2222),
        ("-3", -3),
        ("0x1F", 31),
        ("1.5", 1.5),
        ("True", True),
        ("False", False),
        ("None", None),
        ("'quoted text'", "quoted text"),
        ('"10.0.0.1"', "10.0.0.1"),
        ("[1, 'two']", [1, "two"]),
        ("(1, 2)", [1, 2]),  # tuples come out as lists
        ("{'a': 1}", {"a": 1}),
        ("{1: 'x'}", {"1": "x"}),  # keys as text
        ("b'raw'", "raw"),
        ("1j", "1j"),  # complex numbers stay as written
        ("...", "..."),
        ("true", "true"),  # lowercase is not a Python literal: text
        ("10.0.0.1", "10.0.0.1"),
        ("eth0", "eth0"),
        ("/export/home", "/export/home"),
        ("{{ inventory_hostname }}.dc1", "{{ inventory_hostname }}.dc1"),
        ("[unclosed", "[unclosed"),
    ],
)
def test_values_read_as_ansible_reads_them(text: str, value: Any) -> None:
    got = parse_value(text)
    assert got == value and type(got) is type(value)

"""What a template reads of `vars` and `host`, found in its syntax tree."""

from __future__ import annotations

import jinja2
import pytest

from runbook.templates._reads import root_reads


def reads(source: str) -> tuple[tuple[str, tuple[str | int, ...]], ...]:
    return root_reads(jinja2.Environment().parse(source))


def test_constant_keys_below_a_root_are_named() -> None:
    assert reads("psql -U {{ vars.db.user }} -h {{ host.vars['pg_host'] }} {{ vars.dbs[0] }}") == (
        ("vars", ("db", "user")),
        ("host", ("vars", "pg_host")),
        ("vars", ("dbs", 0)),
    )


def test_each_read_once_in_order() -> None:
    assert reads("{{ vars.a }} {{ vars.b }} {{ vars.a }}") == (("vars", ("a",)), ("vars", ("b",)))


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        # A computed index reads what is above it whole, and the index's own reads.
        ("{{ vars[vars.which] }}", (("vars", ("which",)), ("vars", ()))),
        ("{{ host.vars[name].x }}", (("host", ("vars",)),)),
        # The root passed whole: to a filter, a loop, a variable.
        ("{{ vars | tojson }}", (("vars", ()),)),
        ("{% for k in host %}{{ k }}{% endfor %}", (("host", ()),)),
        ("{% set v = vars %}{{ v.password }}", (("vars", ()),)),
    ],
)
def test_what_the_keys_cannot_name_is_read_whole(
    source: str, expected: tuple[tuple[str, tuple[str, ...]], ...]
) -> None:
    assert reads(source) == expected


def test_other_names_and_assignments_are_not_reads() -> None:
    assert reads("{{ run.id }} {{ item }} {% set vars = 1 %}") == ()

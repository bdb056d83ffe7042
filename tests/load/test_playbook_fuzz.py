"""Whatever a file holds, loading and validating it ends in a Playbook or an InputError."""

from __future__ import annotations

import contextlib
import tempfile
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings, strategies as st

from runbook.errors import InputError
from runbook.load._fields import STEP_FIELDS, TOP_FIELDS
from runbook.load._resolve import resolve

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-3, 3),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(
        [
            "",
            "a",
            "5m",
            "1h30m",
            "phase:p",
            "{{ vars.x }}",
            "{{ host.name }}",
            "{% if %}",
            "all",
            "x:&y",
            "block",
            "abort",
            "b",
            "a",
        ]
    ),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.dictionaries(
            st.sampled_from(["min", "likely", "max", "env", "secret", "x"]), inner, max_size=3
        ),
    ),
    max_leaves=6,
)
steps = st.dictionaries(st.sampled_from([*STEP_FIELDS, "bogus"]), values, max_size=8)
books = st.dictionaries(
    st.sampled_from([*TOP_FIELDS, "bogus"]),
    st.one_of(values, st.lists(st.one_of(steps, values), max_size=4)),
    max_size=6,
)


def check(data: Any) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "p.yml"
        path.write_text(yaml.safe_dump(data))
        try:
            resolve(path, [])
        except InputError as e:
            assert e.issues
            for issue in e.issues:
                assert issue.message


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(books)
def test_any_playbook_shape_is_a_playbook_or_an_input_error(data: dict[str, Any]) -> None:
    check(data)


@settings(max_examples=150, deadline=None)
@given(st.lists(steps, min_size=1, max_size=4))
def test_any_steps_are_a_playbook_or_an_input_error(items: list[dict[str, Any]]) -> None:
    check({"playbook": "p", "vars": {"x": 1}, "steps": items})


@settings(max_examples=100, deadline=None)
@given(st.text(max_size=200))
def test_any_text_is_a_playbook_or_an_input_error(text: str) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "p.yml"
        path.write_text(text)
        with contextlib.suppress(InputError):
            resolve(path, [])

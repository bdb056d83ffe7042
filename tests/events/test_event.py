"""The hashed bytes of an event: the journal's one-encoding path gives `canonical`'s bytes."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, strategies as st

from runbook.events._event import canonical, canonical_from_json, data_json

TEXT = st.text(alphabet=st.characters(exclude_categories=("Cs",)), max_size=12)
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | TEXT,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(TEXT, inner, max_size=3),
    max_leaves=8,
)


@given(
    run_id=TEXT,
    seq=st.integers(min_value=1),
    ts=TEXT,
    type_=TEXT,
    step=st.none() | TEXT,
    host=st.none() | TEXT,
    data=st.dictionaries(TEXT, JSON, max_size=4),
)
def test_canonical_from_json_is_canonical(
    run_id: str,
    seq: int,
    ts: str,
    type_: str,
    step: str | None,
    host: str | None,
    data: dict[str, Any],
) -> None:
    expected = canonical(run_id, seq, ts, type_, step, host, data)
    got = canonical_from_json(run_id, seq, ts, type_, step, host, data_json(data))
    assert got == expected


def test_quotes_backslashes_and_unicode_are_written_as_canonical_writes_them() -> None:
    args = ("20261207-1448-5c23", 7, "2026-12-07T14:48:36.123Z", "host_output", 'é"s\\', None)
    data = {"text": 'line "one"\n\tdeux — ünïcode\u2028', "n": [1, 2.5, None, True]}
    assert canonical_from_json(*args, data_json(data)) == canonical(*args, data)


def test_seq_must_be_an_int() -> None:
    with pytest.raises(TypeError):
        canonical_from_json("r", True, "t", "eta", None, None, "{}")

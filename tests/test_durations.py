"""Duration text as docs/playbook.md writes it."""

from __future__ import annotations

import pytest

from runbook.durations import format_duration, parse_duration


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("90s", 90),
        ("15m", 900),
        ("2h", 7200),
        ("1h30m", 5400),
        ("1d", 86400),
        (45, 45),
        ("30", 30),
        ("1.5h", 5400),
        ("2m30s", 150),
    ],
)
def test_durations_parse(text: object, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "abc", "10x", "-5", -5, True, "1h 30", None, [1]])
def test_bad_durations_say_how_to_write_one(text: object) -> None:
    with pytest.raises(ValueError, match="90s, 15m, 1h30m"):
        parse_duration(text)


def test_format_is_short() -> None:
    assert [format_duration(s) for s in (12, 270, 3900, 90000)] == [
        "12s",
        "4m30s",
        "1h05m",
        "1d01h",
    ]

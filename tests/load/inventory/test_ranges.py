"""Host ranges and `name:port` exactly as Ansible expands them."""

from __future__ import annotations

import pytest

from runbook.load.inventory._hostranges import RangeError, expand_host_pattern, split_host_port


@pytest.mark.parametrize(
    ("pattern", "names"),
    [
        ("web1", ["web1"]),
        ("web[1:3]", ["web1", "web2", "web3"]),
        ("web[01:03].example", ["web01.example", "web02.example", "web03.example"]),
        ("web[1:20:5]", ["web1", "web6", "web11", "web16"]),
        ("web[001:010:4]", ["web001", "web005", "web009"]),
        ("db-[a:c]", ["db-a", "db-b", "db-c"]),
        ("db-[a:e:2]", ["db-a", "db-c", "db-e"]),
        ("[:2]x", ["0x", "1x", "2x"]),  # an empty start is 0
        ("r[1:2]-n[a:b]", ["r1-na", "r1-nb", "r2-na", "r2-nb"]),  # ranges multiply
        ("[y:B]", ["y", "z", "A", "B"]),  # letters run a-z then A-Z, as string.ascii_letters
    ],
)
def test_expansion(pattern: str, names: list[str]) -> None:
    assert expand_host_pattern(pattern) == names


@pytest.mark.parametrize(
    ("pattern", "message"),
    [
        ("web[1-3]", "must be [start:end] or [start:end:step]"),
        ("web[1:]", "has no end value"),
        ("web[01:100]", "pads the start to 2 digits but not the end"),
        ("web[5:1]", "starts after it ends"),
        ("web[c:a]", "starts after it ends"),
        ("web[1:5:0]", "step '0'"),
        ("web[a:5]", "mixes letters and numbers"),
        ("web[1:3", "unbalanced"),
        ("web[1:9999999]", "more than 100,000 names"),
    ],
)
def test_bad_ranges(pattern: str, message: str) -> None:
    with pytest.raises(RangeError, match=message.replace("[", r"\[").replace("]", r"\]")):
        expand_host_pattern(pattern)


@pytest.mark.parametrize(
    ("text", "split"),
    [
        ("web1", ("web1", None)),
        ("web1:2222", ("web1", 2222)),
        ("10.0.0.5:22", ("10.0.0.5", 22)),
        ("web[01:03]:2200", ("web[01:03]", 2200)),
        ("[fe80::1]:2222", ("fe80::1", 2222)),
        ("fe80::1", ("fe80::1", None)),  # bare IPv6: no port without brackets
        ("web[1:3]", ("web[1:3]", None)),
    ],
)
def test_host_port(text: str, split: tuple[str, int | None]) -> None:
    assert split_host_port(text) == split

"""Markdown building blocks shared by the review timeline and the status update.

Everything here treats its input as untrusted text: operator notes and command output
can hold `|`, backticks, HTML or terminal escapes, and must come out as the same
characters, not markup (escapes spelled out: people `cat` these files).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, datetime

from runbook.visible import visible

_SPECIAL = re.compile(r"([\\`*_\[\]|#~])")
_TICKS = re.compile(r"`+")


def md(text: str | None) -> str:
    """Inline text with markdown syntax and HTML neutralised; newlines become spaces."""
    if not text:
        return ""
    out = _SPECIAL.sub(r"\\\1", " ".join(visible(str(text)).split()))
    return out.replace("<", "&lt;").replace(">", "&gt;")


def code(text: str) -> str:
    """An inline code span that holds any text (backticks included)."""
    text = " ".join(visible(text).split())
    longest = max((len(m) for m in _TICKS.findall(text)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def fenced(text: str, info: str = "text") -> str:
    """A fenced block longer than any backtick run inside, so output cannot close it."""
    text = visible(text)
    longest = max((len(m) for m in _TICKS.findall(text)), default=0)
    fence = "`" * max(3, longest + 1)
    body = text if text.endswith("\n") else text + "\n"
    return f"{fence}{info}\n{body}{fence}\n"


def table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A GitHub-flavoured table; cells must already be escaped with `md`."""
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines) + "\n"


def utc(ts: float | None, with_date: bool = True) -> str:
    """`2026-11-18 11:06 UTC` (or just `11:06:40`)."""
    if ts is None:
        return "—"
    dt = datetime.fromtimestamp(ts, UTC)
    return dt.strftime("%Y-%m-%d %H:%M:%S UTC") if with_date else dt.strftime("%H:%M:%S")


def day(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d")


def percent(p: float | None) -> str:
    return "—" if p is None else f"{p * 100:.0f}%"

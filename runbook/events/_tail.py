"""The one output-tail rule: how much of a host's output the fold keeps.

Status, the reports and anything else that shows a command's output show this tail, so a
failure reads the same everywhere. The end of the output is what says why a command
failed; the bound keeps a run of thousands of hosts (or one host printing 200 MB) small.
Lines bound it as well as characters, so a failure that prints 4,000 one-character lines
still shows a screenful, and a cut never leaves more than TAIL_LINES lines to read.
"""

from __future__ import annotations

TAIL_CHARS = 4000  # per host and attempt
TAIL_LINES = 40


def keep_tail(tail: str, text: str) -> tuple[str, bool]:
    """`tail` followed by `text`, cut to the rule; and whether anything was cut."""
    joined = tail + text
    cut = False
    if len(joined) > TAIL_CHARS:
        joined = joined[-TAIL_CHARS:]
        cut = True
    lines = joined.splitlines(keepends=True)
    if len(lines) > TAIL_LINES:
        joined = "".join(lines[-TAIL_LINES:])
        cut = True
    return joined, cut

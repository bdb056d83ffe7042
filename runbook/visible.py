"""Text from commands and operators made safe to show: control characters as ^X.

A command's output reaches the operator's terminal (plain view, live view, `status`) and
files people `cat` (the md export). Escape sequences in it would run there: clear the
screen, retitle the window, rewrite a line with a carriage return so a failure reads as
success, or worse on some terminals. The journal keeps the exact bytes (JSON-escaped);
what is shown has every control character but tab and newline spelled out.
"""

from __future__ import annotations

import re

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def _spelled(m: re.Match[str]) -> str:
    code = ord(m.group())
    if code < 0x20 or code == 0x7F:
        return "^" + chr(code ^ 0x40)  # ESC → ^[, CR → ^M, DEL → ^?
    return f"\\x{code:02x}"  # C1 controls


def visible(text: str) -> str:
    """`text` with control characters (tab and newline kept) written out as ^X."""
    if text.isprintable() or not _CONTROL.search(text):
        return text
    return _CONTROL.sub(_spelled, text.replace("\r\n", "\n"))

"""What a command reads on its standard input: `stdin:` text, and sudo's password.

`sudo -S -k -p PROMPT` prints PROMPT on stderr when it wants the password; only then is
the password written (never in the command line, the journal or the screen), and the
`stdin:` text only once the command itself has started (it prints STARTED on stderr first
thing), so a sudo that asks nothing never reads the password as the command's input. Both
markers are cut out of the output. A second prompt means the password was refused: stdin
is closed, and sudo ends with its own message.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

SUDO_PROMPT = "[runbook-sudo-password]"
STARTED = "[runbook-become-started]\n"


@dataclass(frozen=True)
class Feed:
    """The input of one command (None: nothing)."""

    stdin: str | None = None
    password: str | None = field(default=None, repr=False)  # sudo -S: after the prompt


class FeedState:
    """Follows a command's stderr and says what to write to its stdin, and when to close it.

    `send` writes bytes to the command's stdin; `close` ends it. Both are called from the
    thread that reads the command's output.
    """

    def __init__(
        self, feed: Feed, send: Callable[[bytes], None], close: Callable[[], None]
    ) -> None:
        self.feed = feed
        self._send = send
        self._close = close
        self._held = ""
        self._prompts = 0
        self._closed = False
        self.watching = feed.password is not None

    def start(self) -> None:
        """The command was started: without a password its stdin goes at once."""
        if not self.watching:
            self._give_stdin()

    def stderr(self, text: str) -> str:
        """The stderr text to pass on; writes to stdin as the markers show."""
        if not self.watching:
            return text
        text = self._held + text
        self._held = ""
        out = []
        while text:
            hits = [(i, m) for m in (SUDO_PROMPT, STARTED) if (i := text.find(m)) >= 0]
            if not hits:
                keep = _partial(text)
                out.append(text[: len(text) - keep])
                self._held = text[len(text) - keep :]
                break
            i, marker = min(hits)
            out.append(text[:i])
            text = text[i + len(marker) :]
            if marker == SUDO_PROMPT:
                self._prompts += 1
                if self._prompts == 1 and self.feed.password is not None:
                    self._send(self.feed.password.encode() + b"\n")
                else:
                    self._end()  # refused: sudo reads EOF and gives up
            else:
                self._give_stdin()
                out.append(text)
                self.watching = False
                break
        return "".join(out)

    def flush(self) -> str:
        held, self._held = self._held, ""
        return held

    def _give_stdin(self) -> None:
        if self.feed.stdin:
            self._send(self.feed.stdin.encode())
        self._end()

    def _end(self) -> None:
        if not self._closed:
            self._closed = True
            self._close()


def _partial(text: str) -> int:
    """How many characters at the end of `text` may be the start of a marker."""
    for n in range(min(len(text), len(SUDO_PROMPT)), 0, -1):
        tail = text[-n:]
        if SUDO_PROMPT.startswith(tail) or STARTED.startswith(tail):
            return n
    return 0

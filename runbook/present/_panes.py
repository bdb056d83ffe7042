"""The console's panes that change often, drawn without re-laying out the whole screen."""

from __future__ import annotations

from rich.text import Text
from textual.geometry import Size
from textual.reactive import Reactive
from textual.widgets import RichLog


class EventLog(RichLog):
    """RichLog, but a line added costs a repaint of the log, not a layout of the screen.

    Textual's Widget.virtual_size re-lays out every widget when it changes, and a RichLog
    changes it with each line it takes. The pane's own size is fixed by the CSS, so a new
    line can change nothing around it; only a scrollbar appearing or going changes the
    pane's inside. On a 500-host run that layout was most of the console's CPU (23 of
    33 layouts in a 40 s rehearsal; bench/console_cost.py).
    """

    virtual_size: Reactive[Size] = Reactive(Size(0, 0), layout=False, repaint=True)

    def watch_virtual_size(self, old: Size, new: Size) -> None:
        width, height = self.scrollable_content_region.size
        if (old.width > width) != (new.width > width) or (old.height > height) != (
            new.height > height
        ):
            self.refresh(layout=True)  # a scrollbar appears or goes: the inside changes
        elif self.is_mounted:
            self._scroll_update(new)  # the scrollbar's thumb follows the new length


class SteadyHeight:
    """A pane's height that grows at once but shrinks only after HOLD_S of being smaller.

    A pane that changes height re-lays out the whole screen (its neighbours move), which
    is most of what a frame costs; the running steps' table changes height each time a
    step starts or ends. Blank lines keep its height until it has been smaller a while.
    """

    HOLD_S = 10.0

    def __init__(self) -> None:
        self.rows = 0
        self.until = 0.0

    def pad(self, text: Text, now: float) -> Text:
        """`text`, with blank lines to the held height if it is shorter."""
        rows = text.plain.count("\n") + 1
        if rows >= self.rows or now >= self.until:
            self.rows, self.until = rows, now + self.HOLD_S
            return text
        return Text.assemble(text, "\n" * (self.rows - rows))

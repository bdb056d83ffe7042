"""Column-aligned tables rendered in linear time, for lists of thousands of rows.

rich's Table measures every cell several times through its generic renderable protocol:
about 1 ms a row, so `runbook plan` of a 10,000-step playbook spent 10 s drawing its
table. A Grid holds only strings with one style per cell, measures each cell once and
yields its segments directly; rich still does the colours, the terminal width and the
cropping.
"""

from __future__ import annotations

import io
import sys
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Literal

from rich.cells import cell_len
from rich.console import Console, ConsoleOptions, RenderableType, RenderResult
from rich.segment import Segment
from rich.style import Style
from rich.text import Text

Justify = Literal["left", "right", "center"]
# A cell: plain text, (text, style name), or a Text whose own style applies to the whole
# cell (its spans are ignored).
Cell = str | tuple[str, str] | Text
SEPARATOR = "  "


@dataclass(frozen=True)
class Column:
    header: str
    justify: Justify = "left"
    wrap: bool = False  # the one column that gives way to a narrow terminal
    min_width: int = 8


class Grid:
    """A table: a header, rows, blank-line sections, an optional rule under the header."""

    def __init__(
        self,
        columns: Sequence[Column],
        *,
        edge: str = "",
        header_rule: bool = False,
        header_style: str = "bold",
    ) -> None:
        self.columns = list(columns)
        self.edge = edge
        self.header_rule = header_rule
        self.header_style = Style.parse(header_style)
        self._rows: list[list[tuple[str, Style | None]] | None] = []  # None: a section break

    def add_row(self, *cells: Cell) -> None:
        if len(cells) != len(self.columns):
            raise ValueError(f"{len(cells)} cells for {len(self.columns)} columns")
        self._rows.append([_cell(c) for c in cells])

    def add_section(self) -> None:
        self._rows.append(None)

    def _widths(self, max_width: int) -> list[int]:
        widths = [_width(c.header) for c in self.columns]
        for row in self._rows:
            if row is not None:
                for i, (text, _style) in enumerate(row):
                    w = _width(text)
                    if w > widths[i]:
                        widths[i] = w
        overflow = len(self.edge) + sum(widths) + len(SEPARATOR) * (len(widths) - 1) - max_width
        for i, column in enumerate(self.columns):
            if column.wrap and overflow > 0:
                widths[i] = max(min(widths[i], column.min_width), widths[i] - overflow)
        return widths

    def lines(self, max_width: int) -> Iterator[list[tuple[str, Style | None]]]:
        """Each output line as (text, style) pieces, without trailing blanks."""
        widths = self._widths(max_width)
        header: list[tuple[str, Style | None]] = [
            (c.header, self.header_style) for c in self.columns
        ]
        yield from self._row_lines(header, widths)
        if self.header_rule:
            total = sum(widths) + len(SEPARATOR) * (len(widths) - 1)
            yield [(self.edge + "─" * total, None)]
        for row in self._rows:
            if row is None:
                yield []
            else:
                yield from self._row_lines(row, widths)

    def _row_lines(
        self, row: list[tuple[str, Style | None]], widths: list[int]
    ) -> Iterator[list[tuple[str, Style | None]]]:
        wrapped = [
            wrap(text, widths[i]) if self.columns[i].wrap else [text]
            for i, (text, _style) in enumerate(row)
        ]
        last = max((i for i, parts in enumerate(wrapped) if any(parts)), default=-1)
        for n in range(max(len(parts) for parts in wrapped)):
            pieces: list[tuple[str, Style | None]] = [(self.edge, None)] if self.edge else []
            for i in range(last + 1):
                text = wrapped[i][n] if n < len(wrapped[i]) else ""
                padded = _pad(text, widths[i], self.columns[i].justify)
                if i == last:
                    padded = padded.rstrip()
                pieces.append((padded, row[i][1] if text else None))
                if i < last:
                    pieces.append((SEPARATOR, None))
            yield pieces

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        newline = Segment.line()
        for pieces in self.lines(options.max_width):
            for text, style in pieces:
                yield Segment(text, style)
            yield newline


def _width(text: str) -> int:
    return len(text) if text.isascii() else cell_len(text)


def _cell(cell: Cell) -> tuple[str, Style | None]:
    if isinstance(cell, tuple):
        return cell[0], Style.parse(cell[1]) if cell[1] else None
    if isinstance(cell, Text):
        style = cell.style
        return cell.plain, (Style.parse(style) if isinstance(style, str) else style) or None
    return cell, None


def _pad(text: str, width: int, justify: Justify) -> str:
    gap = width - _width(text)
    if gap <= 0:
        return text
    if justify == "right":
        return " " * gap + text
    if justify == "center":
        return " " * (gap // 2) + text + " " * (gap - gap // 2)
    return text + " " * gap


def wrap(text: str, width: int) -> list[str]:
    """Greedy word wrap by terminal cells; a word wider than the column is cut."""
    if _width(text) <= width:
        return [text]
    lines: list[str] = []
    line = ""
    for word in text.split():
        while cell_len(word) > width:
            if line:
                lines.append(line)
                line = ""
            cut = _fit(word, width)
            lines.append(word[:cut])
            word = word[cut:]
        candidate = f"{line} {word}" if line else word
        if cell_len(candidate) <= width:
            line = candidate
        else:
            lines.append(line)
            line = word
    if line:
        lines.append(line)
    return lines or [""]


def _fit(word: str, width: int) -> int:
    """How many characters of `word` fit in `width` cells (at least one)."""
    used = 0
    for i, ch in enumerate(word):
        used += cell_len(ch)
        if used > width:
            return max(i, 1)
    return len(word)


def print_out(renderables: Iterable[RenderableType | str], *, color: bool, pipe_width: int) -> None:
    """Print to stdout: styled at the terminal's width on a terminal; piped or redirected,
    at a fixed width, uncoloured, without trailing blanks, so the bytes never depend on the
    environment and diff cleanly. A str is text as it is (never rich markup)."""
    renderables = [Text(r) if isinstance(r, str) else r for r in renderables]
    if sys.stdout.isatty():
        console = Console(no_color=not color, highlight=False, emoji=False)
        for renderable in renderables:
            console.print(renderable)
        return
    buffer = io.StringIO()
    console = Console(file=buffer, width=pipe_width, no_color=True, highlight=False, emoji=False)
    for renderable in renderables:
        if isinstance(renderable, Grid):
            # Straight to text: no styles to render, and 10,000 rows stay fast.
            for pieces in renderable.lines(pipe_width):
                buffer.write("".join(text for text, _style in pieces).rstrip() + "\n")
        else:
            console.print(renderable)
    sys.stdout.write("".join(line.rstrip() + "\n" for line in buffer.getvalue().splitlines()))

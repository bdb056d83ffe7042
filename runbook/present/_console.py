"""The full-screen console (Textual): the board, the questions, the log, a step's output.

It only reads a Feed (runbook/present/_feed.py) and sends answers back through it: it
never changes a run but through the decisions an operator could type as commands.
"""

from __future__ import annotations

from collections.abc import Callable
from time import monotonic
from typing import ClassVar

from rich.cells import cell_len
from rich.console import Group, RenderableType
from rich.padding import Padding
from rich.text import Text
from textual import events
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.widgets import Footer, RichLog, Static

from runbook.present._board import Board
from runbook.present._console_screens import DecisionScreen, NoteScreen, OutputScreen
from runbook.present._decisions import Decision
from runbook.present._draw import (
    render_eta,
    render_failures,
    render_header,
    render_phases,
    render_steps,
    step_order,
)
from runbook.present._feed import Ask, Feed, LogLine
from runbook.present._panes import EventLog, SteadyHeight
from runbook.visible import visible

DECIDES_ON = {  # the steps each decision applies to, as `runbook retry|skip|expect` check
    "retry": ("failed", "blocked"),
    "skip": ("failed", "blocked", "pending"),
    "expect": ("running", "waiting", "claimed"),
}
POLL_S = 1.0  # how often the screen takes new log lines and boards: a frame costs ~15 ms


def render_asks(asks: tuple[Ask, ...], selected: int) -> RenderableType:
    """Each open question in full: what to do, its keys, the command for any terminal.

    Nothing is cut: Textual wraps the text at the pane's width, and a word wider than the
    pane (a long step id) is folded onto the next line rather than ended with '…'. A manual
    step's instructions are Markdown, shown as such; a command (--step) stays as written.
    """
    parts: list[RenderableType] = []
    for i, a in enumerate(asks):
        mine = i == selected
        kind = {"manual": "manual step", "gate": "next step", "resume": "interrupted step"}
        head = Text("▶ " if mine else "  ", style="bold")
        head.append(f"{kind.get(a.kind, a.kind)} {a.step}", style="bold yellow")
        if a.title:
            head.append(f": {a.title}", style="bold")
        parts.append(head)
        if a.kind == "manual" and a.text.strip():
            from rich.markdown import Markdown  # markdown-it: 30 ms, only once a step asks

            parts.append(Padding(Markdown(visible(a.text.strip())), (0, 0, 0, 2)))
        elif a.text.strip():
            parts.append(Text("\n".join(f"  {ln}" for ln in visible(a.text).strip().splitlines())))
        keys = "  ".join(f"[{w[0]}] {w}" for w in a.answers)
        if a.values:
            keys += "  " + "  ".join(
                f"[{n}] {v}" + (" (default)" if v == a.default else "")
                for n, v in enumerate(a.values[:9], 1)
            )
        elif a.asks_value:
            keys += f"  ({a.answers[0]}: then type the {'secret ' if a.secret else ''}value)"
        tail = Text("  keys: ", style="dim")
        tail.append(keys if mine else f"{keys}  (Tab: select)", style="bold" if mine else "dim")
        if a.command:
            tail.append("\n  or from any terminal: ", style="dim")
            tail.append(a.command, style="bold cyan")
            tail.append(" [--skip|--fail]", style="cyan")
            if a.secret:
                tail.append("  (the secret value only here)", style="dim")
        parts.append(tail)
    return Group(*parts)


def render_log(line: LogLine) -> Text:
    text = Text(f"{line.ts} ", style="dim")
    text.append(f"{line.word:<11}", style=line.style)
    text.append(f" {line.subject}", style="bold")
    if line.text:
        text.append(f"  {line.text}")
    return text


def _height(text: Text, width: int) -> int:
    """Lines `text` takes at `width` cells (wrapped)."""
    return sum(max(1, -(-cell_len(line) // width)) for line in text.plain.split("\n"))


class RunConsole(App[RenderableType | None]):
    """The console of one run: `run`, `resume`, `rehearse` and `watch` draw this."""

    TITLE = "runbook"
    ENABLE_COMMAND_PALETTE = False
    CSS = """
    Screen { layout: vertical; }
    #top { height: auto; max-height: 70%; }
    #header, #eta, #asks, #phases, #steps, #failures { height: auto; padding: 0 1; }
    #asks { border: round $warning; display: none; }
    #asks.open { display: block; }
    #failures { display: none; }
    #failures.open { display: block; }
    #log { height: 1fr; min-height: 4; border-top: solid $primary; padding: 0 1; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("q", "leave", "quit"),
        Binding("ctrl+c", "interrupt", "interrupt", show=False, priority=True),
        Binding("tab", "next_ask", "next question", show=False),
        Binding("up,k", "move(-1)", "step ↑", show=False),
        Binding("down,j", "move(1)", "step ↓", show=False),
        Binding("enter", "output", "output"),
        Binding("R", "decide('retry')", "retry"),
        Binding("S", "decide('skip')", "skip"),
        Binding("E", "decide('expect')", "expect"),
        Binding("pageup", "log_page(-1)", "log ↑", show=False),
        Binding("pagedown", "log_page(1)", "log ↓", show=False),
    ]

    def __init__(
        self,
        feed: Feed,
        *,
        stop: Callable[[], None] | None = None,
        output_of: Callable[[str], str] | None = None,
        summary_of: Callable[[], RenderableType | None] | None = None,
        leave_confirms: bool = True,
        poll_s: float = POLL_S,
        linger_s: float = 0.0,
        leave: Callable[[], bool] | None = None,
    ) -> None:
        super().__init__()
        self.leave = leave  # True: close at the next look (watch: a stop signal came)
        self.feed = feed
        self.stop = stop  # interrupts the run (None: watching, q only leaves)
        self.output_of = output_of
        self.summary_of = summary_of
        self.leave_confirms = leave_confirms and stop is not None
        self.poll_s = poll_s
        self.linger_s = linger_s
        self.board: Board | None = None
        self.asks: tuple[Ask, ...] = ()
        self.selected_ask = 0
        self.selected_step: str | None = None
        self._seen = 0
        self._leaving = False
        self._ending = False
        self._shown: dict[str, Text] = {}
        self._steps_height = SteadyHeight()

    def compose(self) -> ComposeResult:
        # Nothing on the board takes focus: the keys are the console's (answers, the step
        # cursor), never a pane's own scrolling; the mouse wheel still scrolls them.
        top = VerticalScroll(id="top")
        top.can_focus = False
        with top:
            yield Static(id="header")
            yield Static(id="eta")
            yield Static(id="asks")
            yield Static(id="steps")
            yield Static(id="failures")
            yield Static(id="phases")
        log = EventLog(
            id="log", wrap=True, markup=False, highlight=False, max_lines=5000, min_width=20
        )
        log.can_focus = False
        yield log
        yield Footer()

    def on_mount(self) -> None:
        self.pull()
        self.set_interval(self.poll_s, self.pull)

    def on_resize(self, event: events.Resize) -> None:
        if self.board is not None:
            self._draw_steps(self.board)  # its columns follow the width

    # -- the feed -------------------------------------------------------------------------

    def pull(self) -> None:
        """Take what the run committed since the last look, and draw it."""
        if self.leave is not None and self.leave():
            self.exit(None)
            return
        update, self._seen = self.feed.take(self._seen)
        if update.log:  # one write per look: each write is a render and a refresh
            lines = [render_log(line) for line in update.log]
            self.query_one("#log", RichLog).write(Text("\n").join(lines))
        if update.asks != self.asks:
            self.asks = update.asks
            self._settled_elsewhere()
            self.selected_ask = min(self.selected_ask, max(0, len(self.asks) - 1))
            self._draw_asks()
        if update.board is not None and update.board is not self.board:
            before, self.board = self.board, update.board
            self._draw_board(before)
        if update.ended and not self._ending:
            self._ending = True
            self._end()

    def _draw_board(self, before: Board | None) -> None:
        """Redraw what changed; a pane keeps its layout when its shape did not change."""
        board = self.board
        if board is None:
            return
        order = step_order(board)
        if self.selected_step not in order:
            self.selected_step = order[0] if order else None
        self._put("#header", render_header(board))
        self._put("#eta", render_eta(board))
        self._draw_steps(board)
        if before is None or before.phases != board.phases:
            self._put("#phases", render_phases(board))
        if before is None or before.failures != board.failures:
            failures = self.query_one("#failures", Static)
            failures.set_class(bool(board.failures), "open")
            failures.update(render_failures(board))

    def _draw_steps(self, board: Board) -> None:
        width = self.query_one("#steps", Static).content_size.width or self.size.width - 2
        text = render_steps(board, self.selected_step, max(40, width))
        self._put("#steps", text if self._ending else self._steps_height.pad(text, monotonic()))

    def _put(self, pane: str, text: Text) -> None:
        """Update a one-text pane: nothing when unchanged, no new layout when as tall."""
        widget = self.query_one(pane, Static)
        last = self._shown.get(pane)
        if last is not None and last == text:
            return
        width = max(1, widget.content_size.width)
        self._shown[pane] = text
        widget.update(text, layout=last is None or _height(last, width) != _height(text, width))

    def _settled_elsewhere(self) -> None:
        """The question being answered here was answered elsewhere (or withdrawn)."""
        screen = self.screen
        if isinstance(screen, NoteScreen) and all(a.step != screen.step for a in self.asks):
            screen.dismiss(None)
            self.notify(f"{screen.step}: settled elsewhere; no answer needed here")

    def _draw_asks(self) -> None:
        pane = self.query_one("#asks", Static)
        pane.set_class(bool(self.asks), "open")
        pane.border_title = f"{len(self.asks)} waiting for you" if self.asks else ""
        pane.update(render_asks(self.asks, self.selected_ask))

    def _end(self) -> None:
        summary = self.summary_of() if self.summary_of is not None else None
        if summary is not None:
            self.query_one("#log", RichLog).write(summary)
        if self.linger_s > 0:
            self.set_timer(self.linger_s, lambda: self.exit(summary))
        else:
            self.exit(summary)

    # -- keys -----------------------------------------------------------------------------

    def on_key(self, event: events.Key) -> None:
        """An answer to the selected question: the first letter of a word, or a value's number."""
        if event.key != "q":
            self._leaving = False
        if not self.asks or self._ending or len(self.screen_stack) > 1:
            return  # nothing asked, or the output screen is open
        ask = self.asks[self.selected_ask]
        key = event.character or ""
        if key.isdigit() and ask.values and 1 <= int(key) <= min(9, len(ask.values)):
            self._answer(ask, ask.answers[0], ask.values[int(key) - 1])
            event.stop()
            return
        for word in ask.answers:
            if key != word[0]:
                continue
            event.stop()
            if ask.values and word == ask.answers[0]:  # "done" needs one of the choices
                if ask.default in ask.values:
                    self._answer(ask, word, ask.default)
                else:
                    self.notify(f"{ask.step}: pick its value by number (1-{len(ask.values)})")
                return
            self._answer(ask, word, None)
            return

    def _answer(self, ask: Ask, word: str, value: str | None) -> None:
        """Ask for a note (and a typed value): Enter answers, Esc goes back, so one stray key
        never answers."""

        def send(got: tuple[str | None, str] | None) -> None:
            if got is not None and any(a.step == ask.step for a in self.asks):
                self._send(ask, word, got[0], got[1].strip())

        self.push_screen(NoteScreen(ask, word, value), send)

    def _send(self, ask: Ask, word: str, value: str | None, note: str) -> None:
        self.feed.answered(ask.step)
        self.asks = tuple(a for a in self.asks if a.step != ask.step)
        self.selected_ask = min(self.selected_ask, max(0, len(self.asks) - 1))
        self._draw_asks()
        shown = "" if value is None else (" = ***" if ask.secret else f" = {value}")
        self.query_one("#log", RichLog).write(
            Text(f"you answered {ask.step}: {word}{shown}", style="bold magenta")
        )
        self.feed.answer(ask.step, word, note, value)

    def action_next_ask(self) -> None:
        if self.asks:
            self.selected_ask = (self.selected_ask + 1) % len(self.asks)
            self._draw_asks()

    def action_move(self, delta: int) -> None:
        if self.board is None:
            return
        order = step_order(self.board)
        if not order:
            return
        at = order.index(self.selected_step) if self.selected_step in order else 0
        self.selected_step = order[max(0, min(len(order) - 1, at + delta))]
        self._draw_steps(self.board)

    def action_log_page(self, direction: int) -> None:
        log = self.query_one("#log", RichLog)
        if direction < 0:
            log.scroll_page_up()
        else:
            log.scroll_page_down()

    def action_output(self) -> None:
        if self.selected_step is None or self.output_of is None:
            return
        self.push_screen(OutputScreen(self.selected_step, self.output_of(self.selected_step)))

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """R/S/E only where decisions can be journaled (not on a picture of a run)."""
        return None if action == "decide" and self.feed.decide is None else True

    def action_decide(self, action: str) -> None:
        """R, S, E: retry, skip or expect for the step under the cursor (as the commands)."""
        step = self.selected_step
        if self.feed.decide is None or self.board is None or step is None or self._ending:
            return
        status = next(r.status for r in (*self.board.active, *self.board.finished) if r.id == step)
        if status not in DECIDES_ON[action]:
            able = " or ".join(DECIDES_ON[action])
            self.notify(f"{step} is {status}: {action} is for a {able} step", severity="warning")
            return

        def send(got: tuple[str, float | None] | None) -> None:
            if got is not None and self.feed.decide is not None:
                note, seconds = got
                self.feed.decide(Decision(step, action, note, remaining_s=seconds))

        self.push_screen(DecisionScreen(step, action), send)

    def action_leave(self) -> None:
        """q: leave. A run on this terminal asks twice, as leaving interrupts it."""
        if self.stop is None or self._ending:
            self.exit(self.summary_of() if self.summary_of is not None else None)
            return
        if self.leave_confirms and not self._leaving:
            self._leaving = True
            self.notify("q again interrupts the run (resumable); any other key: go on")
            return
        self.action_interrupt()

    def action_interrupt(self) -> None:
        """Ctrl-C: interrupt the run (journaled, resumable); the console closes when it stops."""
        if self.stop is None:
            self.exit(self.summary_of() if self.summary_of is not None else None)
            return
        self.notify("interrupting: the run stays resumable")
        self.stop()

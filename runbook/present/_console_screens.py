"""The console's dialogs: an answer with its note (and a typed value), a decision about a
step (retry, skip, expect), a step's output."""

from __future__ import annotations

import re
from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, RichLog, Static

from runbook.present._feed import Ask


class NoteScreen(ModalScreen[tuple[str | None, str] | None]):
    """The answer about to be sent, a value when it is typed, and a note for the journal.

    Enter sends (value, note); Esc goes back. A value is checked as `runbook confirm`
    checks it (not empty, its pattern); a secret one is typed without echo.
    """

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "back", "back")]
    DEFAULT_CSS = """
    NoteScreen { align: center middle; }
    NoteScreen > Vertical {
        width: 90%; max-width: 100; height: auto; border: round $warning; padding: 0 1;
    }
    """

    def __init__(self, ask: Ask, word: str, value: str | None) -> None:
        super().__init__()
        self.ask = ask
        self.step = ask.step
        self.word = word
        self.value = value
        self.typed = ask.asks_value and value is None and word == ask.answers[0]

    def compose(self) -> ComposeResult:
        what = Text("answer ", style="bold")
        what.append(self.word + (f" = {self.value}" if self.value is not None else ""), "bold")
        what.append(f" to {self.step}", style="bold yellow")
        with Vertical():
            yield Static(what)
            if self.typed:
                hint = f" (must match {self.ask.pattern})" if self.ask.pattern else ""
                yield Static(Text(f"{self.ask.prompt}{hint}:"))
                yield Input(
                    value=self.ask.default or "",
                    password=self.ask.secret,
                    id="value",
                )
            yield Static(Text("A note for the journal (optional). Enter: answer · Esc: back"))
            yield Input(placeholder="note", id="note")

    def on_mount(self) -> None:
        self.query_one("#value" if self.typed else "#note", Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        value = self.value
        if self.typed:
            value = self.query_one("#value", Input).value.strip()
            problem = self._problem(value)
            if problem:
                self.notify(problem, severity="warning")
                self.query_one("#value", Input).focus()
                return
            if event.input.id == "value":
                self.query_one("#note", Input).focus()
                return
        self.dismiss((value, self.query_one("#note", Input).value))

    def _problem(self, value: str) -> str | None:
        if not value:
            return f"{self.step} needs a value"
        if self.ask.pattern and re.fullmatch(self.ask.pattern, value) is None:
            return f"the value must match {self.ask.pattern}"
        return None

    def action_back(self) -> None:
        self.dismiss(None)


DECISIONS = {
    "retry": "run it again (a blocked step: the failed steps blocking it)",
    "skip": "skip it: its dependents may start (say why in the note)",
    "expect": "your word on how much longer it takes: the ETA uses it",
}


class DecisionScreen(ModalScreen[tuple[str, float | None] | None]):
    """retry, skip or expect for one step: (note, seconds for expect); Esc goes back.

    As the commands require: skip needs a note, expect a duration (90s, 15m, 1h30m).
    """

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "back", "back")]
    DEFAULT_CSS = """
    DecisionScreen { align: center middle; }
    DecisionScreen > Vertical {
        width: 90%; max-width: 100; height: auto; border: round $accent; padding: 0 1;
    }
    """

    def __init__(self, step: str, action: str) -> None:
        super().__init__()
        self.step = step
        self.action = action

    def compose(self) -> ComposeResult:
        what = Text(f"{self.action} ", style="bold")
        what.append(self.step, style="bold yellow")
        what.append(f": {DECISIONS[self.action]}")
        with Vertical():
            yield Static(what)
            if self.action == "expect":
                yield Static(Text("How much longer (90s, 15m, 1h30m):"))
                yield Input(id="duration")
            needed = "required" if self.action == "skip" else "optional"
            yield Static(Text(f"A note for the journal ({needed}). Enter: send · Esc: back"))
            yield Input(placeholder="note", id="note")

    def on_mount(self) -> None:
        self.query_one("#duration" if self.action == "expect" else "#note", Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        from runbook.durations import parse_duration

        seconds: float | None = None
        if self.action == "expect":
            try:
                seconds = parse_duration(self.query_one("#duration", Input).value.strip())
            except ValueError as err:
                self.notify(f"how much longer: {err}", severity="warning")
                self.query_one("#duration", Input).focus()
                return
            if event.input.id == "duration":
                self.query_one("#note", Input).focus()
                return
        note = self.query_one("#note", Input).value.strip()
        if self.action == "skip" and not note:
            self.notify("skip needs a note: say why, for the audit", severity="warning")
            return
        self.dismiss((note, seconds))

    def action_back(self) -> None:
        self.dismiss(None)


class OutputScreen(ModalScreen[None]):
    """A step's full output, scrollable; Escape or q closes it."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape,q,enter", "dismiss_output", "close")]
    DEFAULT_CSS = """
    OutputScreen { align: center middle; }
    OutputScreen > RichLog { width: 100%; height: 100%; border: round $accent; }
    """

    def __init__(self, step: str, text: str) -> None:
        super().__init__()
        self.step = step
        self.text = text

    def compose(self) -> ComposeResult:
        log = RichLog(wrap=True, markup=False, highlight=False, id="output", min_width=20)
        log.border_title = f"{self.step}: output (Esc to close)"
        yield log

    def on_mount(self) -> None:
        log = self.query_one(RichLog)
        for line in self.text.splitlines() or ["(no output)"]:
            log.write(Text(line))

    def action_dismiss_output(self) -> None:
        self.dismiss(None)

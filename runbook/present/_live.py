"""The live board on a terminal, and the operator prompt (manual steps, --step, resume).

`render_board(state, now)` (runbook/present/_board.py) is a pure render function; only
`LiveView.tick`, called by the engine loop, refreshes the screen. A prompt runs on its own
thread: it pauses the board, asks, and hands the answer to the engine, which journals it
exactly like `runbook confirm` from another terminal (whichever is first wins; the other
is told).
"""

from __future__ import annotations

import os
import queue
import re
import selectors
import sys
import threading
import time
from collections.abc import Mapping
from typing import Any, TextIO

from rich.console import Console
from rich.live import Live
from rich.text import Text

from runbook.engine import Question
from runbook.events import Event, RunState
from runbook.present._board import render_board
from runbook.visible import visible

REFRESH_S = 0.25
LOGGED = frozenset(
    {"step_succeeded", "step_failed", "step_skipped", "step_retrying", "manual_answered"}
)


class LiveView:
    """Listener (the board) and Asker (the prompt) for a terminal."""

    def __init__(
        self,
        color: bool = True,
        stdin: TextIO | None = None,
        console: Console | None = None,
        verbosity: int = 0,
    ) -> None:
        self.console = console or Console(no_color=not color, highlight=False)
        self.verbosity = verbosity
        self._prompt_text = ""  # the prompt line on screen, put back after a line printed
        self.stdin = stdin or sys.stdin
        self._live: Live | None = None
        self._lock = threading.RLock()
        self._paused = False
        self._closed = False
        self._next_draw = 0.0
        self._state: RunState | None = None
        self._lines: dict[tuple[str, str], str] = {}
        self._first_eta: Mapping[str, Any] | None = None
        self._questions: queue.Queue[Question] = queue.Queue()
        self._withdrawn: dict[str, str] = {}
        self._engine: Any = None
        self._on_screen: str | None = None  # the step whose prompt is open
        self._told: set[str] = set()  # steps whose open prompt was said to be settled

    # -- listener ---------------------------------------------------------------------------

    def event(self, e: Event, state: RunState) -> None:
        self._state = state
        if self.verbosity > 0 and e.type in ("host_started", "host_output"):
            self._log_verbose(e)
        if e.type == "host_failed":
            self._log_failed(e, state)
        if e.type == "host_output":
            lines = [ln for ln in str(e.data.get("text") or "").splitlines() if ln.strip()]
            if lines:
                key = (e.step or "", e.host or "")
                self._lines.pop(key, None)
                self._lines[key] = visible(lines[-1][:200])
                while len(self._lines) > 500:
                    self._lines.pop(next(iter(self._lines)))
        elif e.type == "eta" and self._first_eta is None:
            self._first_eta = e.data
        elif e.type in LOGGED:
            from runbook.present._plain import describe

            text = visible(describe(e) or "")
            style = "red" if e.type == "step_failed" else ""
            self._log(Text(f"{e.ts[11:19]} {e.step}: {text}", style=style))

    def _log(self, line: Text) -> None:
        """A line above the board; while a prompt is open, above the prompt (put back)."""
        with self._lock:
            if self._closed:
                return
            if self._paused:
                self.console.file.write("\r\x1b[K")
                self.console.print(line)
                self.console.print(self._prompt_text, end="", markup=False, highlight=False)
                self.console.file.flush()
            else:
                self.console.print(line)

    def _log_verbose(self, e: Event) -> None:
        """`-v`: each command as it starts, and what it prints."""
        where = f"{e.step}@{e.host}" if e.host else str(e.step)
        if e.type == "host_started":
            text = f"{e.ts[11:19]} {where} {e.data.get('action')}: {e.data.get('command')}"
            self._log(Text(visible(text), style="dim"))
            return
        for line in str(e.data.get("text") or "").splitlines():
            self._log(Text(visible(f"  {where} | {line}")))

    def _log_failed(self, e: Event, state: RunState) -> None:
        """A failed host's error, as it fails: what it said and the end of its output."""
        from runbook.report import host_label

        where = f"{e.step}@{host_label(e.host or '')}"
        msg = f"{e.data.get('reason')}: {e.data.get('message')}"
        self._log(Text(visible(f"{e.ts[11:19]} ✗ {where} failed ({msg})"), style="red"))
        if self.verbosity > 0:
            return  # its output was shown as it came
        step = state.steps.get(e.step or "")
        host = step.host_states.get(e.host or "") if step is not None else None
        if host is not None:
            for line in [ln for ln in host.tail.splitlines() if ln.strip()][-5:]:
                self._log(Text(visible(f"  {where} | {line}"), style="red"))

    def tick(self, state: RunState, now: float) -> None:
        real = time.monotonic()
        if real < self._next_draw:
            return
        self._next_draw = real + REFRESH_S
        with self._lock:
            if self._paused or self._closed:
                return
            board = render_board(state, now, self._lines, self._first_eta)
            if self._live is None:
                self._live = Live(board, console=self.console, auto_refresh=False)
                self._live.start()
            else:
                self._live.update(board, refresh=True)

    def close(self) -> None:
        """The engine stopped: draw the final board (never a stale one), then the summary."""
        from runbook.present._summary import render_summary
        from runbook.report import run_summary

        with self._lock:
            self._closed = True
            state = self._state
            now = state.last_ts if state is not None and state.last_ts is not None else 0.0
            if self._paused:
                self.console.print()  # off the open prompt's line
            if state is not None and state.run_id:
                board = render_board(state, now, self._lines, self._first_eta)
                if self._live is not None:
                    self._live.update(board, refresh=True)
                else:
                    self.console.print(board)
            if self._live is not None:
                self._live.stop()
                self._live = None
            if state is not None and state.run_id:
                self.console.print()
                self.console.print(render_summary(run_summary(state, now, engine_stopped=True)))

    # -- asker ------------------------------------------------------------------------------

    def bind(self, engine: Any) -> LiveView:
        """Answers go to `engine`; the prompt thread starts."""
        self._engine = engine
        threading.Thread(target=self._prompt_loop, name="runbook-prompt", daemon=True).start()
        return self

    def ask(self, question: Question) -> None:
        self._withdrawn.pop(question.step, None)
        self._questions.put(question)

    def withdraw(self, step: str, why: str) -> None:
        self._withdrawn[step] = why
        # Said at once (the engine may finish and exit before the prompt thread looks).
        self._tell_settled(step)

    def _tell_settled(self, step: str) -> None:
        with self._lock:
            why = self._withdrawn.get(step)
            if why is None or self._on_screen != step or step in self._told:
                return
            self._told.add(step)
            self.console.print(f"\n  {step}: {why}; no answer needed here")

    def _prompt_loop(self) -> None:
        while True:
            q = self._questions.get()
            if q.step in self._withdrawn:
                continue
            with self._lock:
                self._paused = True
                if self._live is not None:
                    self._live.stop()
                    self._live = None
            try:
                self._on_screen = q.step
                self._told.discard(q.step)
                answer = self._prompt(q)
            finally:
                with self._lock:
                    self._on_screen = None
                    self._paused = False
                    self._next_draw = 0.0
            if answer is not None and self._engine is not None:
                self._engine.answer(q.step, answer[0], answer[1], None, answer[2])

    def _prompt(self, q: Question) -> tuple[str, str, str | None] | None:
        c = self.console
        c.print()
        kind = {"manual": "manual step", "gate": "next step", "resume": "interrupted step"}
        c.print(Text(f"▶ {kind[q.kind]} {q.step}: {q.title}", style="bold yellow"))
        if q.kind == "manual" and q.text.strip():
            from rich.markdown import Markdown
            from rich.padding import Padding

            # A playbook writes its instructions in Markdown; the terminal shows them so.
            c.print(Padding(Markdown(visible(q.text)), (0, 0, 0, 2)))
        else:
            for line in q.text.splitlines():
                c.print(f"  {line}", markup=False, highlight=False)
        if q.hosts:
            c.print(f"  hosts: {', '.join(q.hosts[:20])}" + (" …" if len(q.hosts) > 20 else ""))
        if q.owner:
            c.print(f"  owner: {q.owner}")
        if q.doc:
            c.print(f"  doc: {q.doc}", markup=False, highlight=False)
        choices = " / ".join(q.choices)
        while True:
            typed = self._read_line(q, f"Answer {choices}: ")
            if typed is None:
                return None
            word = typed.strip().lower()
            match = [ch for ch in q.choices if word and ch.startswith(word)]
            if len(match) == 1:
                break
            c.print(f"  please answer one of: {choices}")
        value = None
        if q.input is not None and match[0] == "done":
            value = self._value(q, q.input)
            if value is None:
                return None
        note = self._read_line(q, "Note (optional, Enter to skip): ")
        if note is None:
            return None
        return match[0], note.strip(), value

    def _value(self, q: Question, spec: Mapping[str, Any]) -> str | None:
        """The value a step's `input` asks for, checked as `runbook confirm` checks it."""
        c = self.console
        choices = [str(x) for x in spec.get("choices") or ()]
        default = spec.get("default")
        for i, choice in enumerate(choices, 1):
            c.print(f"  {i}. {choice}" + ("  (default)" if choice == default else ""))
        prompt = str(spec.get("prompt") or "Value")
        shown = f" [{default}]" if default else ""
        while True:
            if spec.get("secret"):
                typed = self._read_secret(q, f"{prompt} (not shown): ")
            else:
                typed = self._read_line(q, f"{prompt}{shown}: ")
            if typed is None:
                return None
            value = typed.strip() or (str(default) if default else "")
            if choices and value.isdigit() and 1 <= int(value) <= len(choices):
                value = choices[int(value) - 1]
            pattern = spec.get("pattern")
            if choices and value not in choices:
                c.print(f"  please answer one of: {', '.join(choices)}")
            elif pattern and re.fullmatch(str(pattern), value) is None:
                c.print(f"  the value must match {pattern}")
            elif value:
                return value

    def _read_secret(self, q: Question, prompt: str) -> str | None:
        """A line typed without echo (a secret `input`)."""
        fd = self.stdin.fileno() if hasattr(self.stdin, "fileno") else -1
        if fd < 0 or not os.isatty(fd):
            return self._read_line(q, prompt)
        import termios

        old = termios.tcgetattr(fd)
        new = termios.tcgetattr(fd)
        new[3] &= ~termios.ECHO
        termios.tcsetattr(fd, termios.TCSADRAIN, new)
        try:
            return self._read_line(q, prompt)
        finally:
            termios.tcsetattr(fd, termios.TCSADRAIN, old)
            self.console.print()

    def _read_line(self, q: Question, prompt: str) -> str | None:
        """A line from the terminal, or None when the question was settled elsewhere."""
        self._prompt_text = prompt
        self.console.print(prompt, end="", markup=False, highlight=False)
        self.console.file.flush()
        while True:
            if q.step in self._withdrawn:
                self._tell_settled(q.step)
                return None
            try:
                ready = _readable(self.stdin, 0.25)
            except (ValueError, OSError):
                return None
            if ready:
                line = self.stdin.readline()
                return line if line else None


def _readable(stream: TextIO, timeout_s: float) -> bool:
    """Whether `stream` has input within `timeout_s` (poll: select() fails past fd 1024)."""
    with selectors.PollSelector() as sel:
        sel.register(stream, selectors.EVENT_READ)
        return bool(sel.select(timeout_s))

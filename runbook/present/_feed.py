"""The console's feed: what the run's thread hands to the screen's thread.

The engine (or, for `runbook watch`, a thread reading the journal) calls `event`, `tick`,
`ask` and `withdraw` as it commits; the screen calls `take` a few times a second and gets
the latest Board, the log lines since it last looked, and the open questions. Everything
crosses under one lock as frozen values: the screen never reads the engine's RunState.
Answers go back through `answer`, which the owner wires to `Engine.answer` (a run on this
terminal) or to the journal's operator decisions (`watch`).
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from runbook.events import Event, RunState
from runbook.present._board import Board, board_of
from runbook.present._plain import describe
from runbook.visible import visible

if TYPE_CHECKING:
    from runbook.present._decisions import Decision

REFRESH_S = 1.0  # a board a second (real time) as elapsed times tick, what it costs
PROMPT_S = 0.5  # sooner when a step starts, waits or fails, but never more often
LOG_LINES = 5000
RESULT_WORDS = {
    "step_succeeded": ("succeeded", "green"),
    "step_failed": ("FAILED", "bold red"),
    "step_skipped": ("skipped", "blue"),
    "step_blocked": ("blocked", "red"),
    "step_retrying": ("retrying", "yellow"),
    "step_started": ("started", ""),
    "manual_waiting": ("waiting", "magenta"),
    "manual_claimed": ("claimed", "magenta"),
    "manual_answered": ("answered", "magenta"),
    "host_failed": ("host failed", "red"),
    "run_started": ("run started", "bold"),
    "run_resumed": ("resumed", "bold"),
    "run_interrupted": ("interrupted", "bold red"),
    "run_finished": ("finished", "bold"),
    "operator_retry": ("retry", "yellow"),
    "operator_expect": ("expect", ""),
}
MANUAL_ANSWERS = ("done", "skip", "fail")


@dataclass(frozen=True)
class Ask:
    """A question waiting for an operator, as the console shows it."""

    step: str
    kind: str  # manual, gate (--step), resume, input
    title: str
    text: str
    answers: tuple[str, ...]  # done/skip/fail, run/skip/abort, ...: keyed by first letter
    values: tuple[str, ...] = ()  # a value to pick (keys 1-9): `input` steps with `choices`
    command: str = ""  # the same answer from any terminal; empty: only this terminal
    asks_value: bool = False  # "done" needs a value (a manual step's `input`)
    default: str | None = None
    pattern: str | None = None
    secret: bool = False  # typed without echo, never journaled
    prompt: str = "Value"


@dataclass(frozen=True)
class LogLine:
    ts: str
    subject: str
    word: str
    style: str
    text: str


@dataclass(frozen=True)
class Update:
    board: Board | None
    log: tuple[LogLine, ...]
    asks: tuple[Ask, ...]
    ended: bool


def _ask(
    step: str,
    kind: str,
    title: str,
    text: str,
    answers: tuple[str, ...],
    run_id: str,
    spec: Mapping[str, Any] | None,
    doc: str | None = None,
) -> Ask:
    """An Ask, with a manual step's `input` (choices, default, pattern, secret) if any, and
    the step's `doc` link under its text."""
    if doc:
        text = f"{text.rstrip()}\n\ndoc: {doc}"
    command = f"runbook confirm {run_id} {step}" if kind == "manual" else ""
    if spec is None:
        return Ask(step, kind, title, text, answers, (), command)
    values = tuple(str(v) for v in spec.get("choices") or ())
    default = spec.get("default")
    if not spec.get("secret"):  # a secret is typed only at the engine's own terminal
        command += " --value " + ("|".join(values) if values else "TEXT")
    return Ask(
        step,
        kind,
        title,
        text,
        answers,
        values,
        command,
        asks_value=True,
        default=str(default) if default is not None else None,
        pattern=str(spec["pattern"]) if spec.get("pattern") else None,
        secret=bool(spec.get("secret")),
        prompt=str(spec.get("prompt") or "Value"),
    )


def ask_of(question: Any, run_id: str) -> Ask:
    """An engine Question (manual, gate, resume; a manual step's `input`)."""
    spec = getattr(question, "input", None)
    return _ask(
        question.step,
        question.kind,
        question.title,
        question.text,
        tuple(question.choices),
        run_id,
        spec if isinstance(spec, Mapping) else None,
        getattr(question, "doc", None),
    )


def asks_of(state: RunState) -> tuple[Ask, ...]:
    """The manual steps waiting in a run read from the journal (`watch`)."""
    return tuple(
        _ask(
            s.id,
            "manual",
            s.title,
            s.instructions or "",
            MANUAL_ANSWERS,
            state.run_id,
            s.input,
            s.doc,
        )
        for s in state.with_status("waiting", "claimed")
    )


def log_line(e: Event) -> LogLine | None:
    """One event of the log pane, with its result word; None: not shown there."""
    if e.type not in RESULT_WORDS:
        return None
    word, style = RESULT_WORDS[e.type]
    if e.type == "run_finished":
        word = str(e.data.get("result") or "finished")
        style = "bold green" if word == "succeeded" else "bold red"
    text = visible(describe(e) or "")
    subject = f"{e.step}@{e.host}" if e.host else (e.step or "")
    return LogLine(e.ts[11:19], subject, word, style, text)


@dataclass
class Feed:
    """Listener and asker for the console (one per run on screen)."""

    refresh_s: float = REFRESH_S
    # (step, choice, note, value): wired by the owner to the engine or the journal
    answer: Callable[[str, str, str, str | None], None] = lambda step, choice, note, value: None
    # retry / skip / expect on a step (and `watch`'s answers): journaled by a DecisionWriter;
    # None: this console cannot decide (nothing to write them to)
    decide: Callable[[Decision], None] | None = None
    run_id: str = ""
    verbose: bool = False  # -v: each command and its output in the log too
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _board: Board | None = None
    _log: deque[LogLine] = field(default_factory=lambda: deque(maxlen=LOG_LINES))
    _log_seen: int = 0  # lines appended so far (the screen keeps its own count)
    _asks: dict[str, Ask] = field(default_factory=dict)
    _last_lines: dict[str, str] = field(default_factory=dict)
    _first_p50: float | None = None
    _prev_p50: float | None = None
    _p50: float | None = None
    _next_draw: float = 0.0
    _drawn: float = 0.0
    _ended: bool = False
    _final_state: RunState | None = None
    _state: RunState | None = None  # the engine's, read only once it stopped (done)

    # -- the run's side -------------------------------------------------------------------

    def event(self, e: Event, state: RunState) -> None:
        """A committed event (the engine's thread)."""
        if not self.run_id:
            self.run_id = e.run_id
        self._state = state
        if e.type == "host_output":
            lines = [ln for ln in str(e.data.get("text") or "").splitlines() if ln.strip()]
            if lines and e.step:
                self._last_lines[e.step] = visible(lines[-1][:300])
            if self.verbose:
                where = f"{e.step}@{e.host}" if e.host else (e.step or "")
                for ln in lines:
                    self.note(LogLine(e.ts[11:19], where, "│", "dim", visible(ln)))
            return
        if e.type == "host_started" and self.verbose:
            where = f"{e.step}@{e.host}" if e.host else (e.step or "")
            text = visible(f"{e.data.get('action')}: {e.data.get('command')}")
            self.note(LogLine(e.ts[11:19], where, "runs", "cyan", text))
        if e.type == "eta":
            from runbook.clock import parse_iso

            p50 = parse_iso(str(e.data["p50"]))
            self._prev_p50 = self._p50 if self._p50 is not None else p50
            self._p50 = p50
            if self._first_p50 is None:
                self._first_p50 = p50
            return
        line = log_line(e)
        if line is not None:
            self.note(line)
        if e.type in ("step_started", "manual_waiting", "step_failed", "run_finished"):
            # Shown at the next tick, not a second later (a burst: one board per PROMPT_S).
            self._next_draw = min(self._next_draw, self._drawn + PROMPT_S)

    def note(self, line: LogLine) -> None:
        """A line of the console's own (what an answer became) into the log."""
        with self._lock:
            self._log.append(line)
            self._log_seen += 1

    def tick(self, state: RunState, now: float) -> None:
        """Rebuild the board, at most every refresh_s of real time (the engine's thread)."""
        real = time.monotonic()
        if real < self._next_draw:
            return
        self._next_draw = real + self.refresh_s
        self._drawn = real
        board = board_of(state, now, self._last_lines, self._first_p50, self._prev_p50)
        with self._lock:
            self._board = board

    def ask(self, question: Any) -> None:
        with self._lock:
            self._asks[question.step] = ask_of(question, self.run_id)

    def put_asks(self, asks: tuple[Ask, ...]) -> None:
        """The open questions, all at once (`watch` reads them from the fold)."""
        with self._lock:
            self._asks = {a.step: a for a in asks}

    def withdraw(self, step: str, why: str) -> None:
        with self._lock:
            self._asks.pop(step, None)

    def done(self) -> None:
        """The engine stopped (Ui.done): whatever it last committed is the end."""
        state = self._state
        if state is None:
            with self._lock:
                self._ended = True
            return
        self.end(state, state.finished or state.last_ts or time.time())

    def end(self, state: RunState, now: float) -> None:
        """The run stopped: the last board, then the screen may close."""
        board = board_of(state, now, self._last_lines, self._first_p50, self._prev_p50)
        with self._lock:
            self._board = board
            self._asks.clear()
            self._ended = True
            self._final_state = state

    # -- the screen's side ----------------------------------------------------------------

    def take(self, seen: int) -> tuple[Update, int]:
        """The latest board, the log lines after the first `seen`, the open questions."""
        with self._lock:
            new = min(self._log_seen - seen, len(self._log))
            log = tuple(list(self._log)[len(self._log) - new :]) if new > 0 else ()
            update = Update(self._board, log, tuple(self._asks.values()), self._ended)
            return update, self._log_seen

    def answered(self, step: str) -> None:
        """The screen sent an answer: the question leaves at once (the engine confirms)."""
        with self._lock:
            self._asks.pop(step, None)

    @property
    def final_state(self) -> RunState | None:
        return self._final_state

"""What the engine shares with the outside: options, questions to an operator, listeners.

The engine never prints. Presenters (runbook/present/) listen to committed events, and
a terminal asker puts questions to the operator and hands the answer back through
`Engine.answer`, from its own thread.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from runbook.events import Event, RunState
from runbook.executors import Commands

QuestionKind = Literal["manual", "gate", "resume"]

CHOICES: Mapping[QuestionKind, tuple[str, ...]] = {
    "manual": ("done", "skip", "fail"),  # SPEC §4: the manual prompt
    "gate": ("run", "skip", "abort"),  # --step, before each automated step
    "resume": ("rerun", "skip", "fail"),  # an in-flight step nothing else can decide
}


@dataclass(frozen=True)
class Question:
    """Something only an operator can decide about one step."""

    step: str
    kind: QuestionKind
    title: str
    text: str  # instructions (manual), the command (gate), what is uncertain (resume)
    hosts: tuple[str, ...] = ()
    owner: str | None = None
    # a manual step's `input` as rendered: choices, pattern, default, prompt, secret
    input: Mapping[str, Any] | None = None
    doc: str | None = None  # the step's link, shown with the question

    @property
    def choices(self) -> tuple[str, ...]:
        return CHOICES[self.kind]


class Asker(Protocol):
    """Puts questions to an operator at a terminal; answers come back via Engine.answer."""

    def ask(self, question: Question) -> None:
        """Show the question (must not block)."""
        ...

    def withdraw(self, step: str, why: str) -> None:
        """The question about `step` was settled elsewhere (another terminal, a claim)."""
        ...


class Listener(Protocol):
    """Sees every committed event of the run, in order, on the engine thread."""

    def event(self, event: Event, state: RunState) -> None: ...

    def tick(self, state: RunState, now: float) -> None:
        """Called every loop turn (a few times a second at least): a chance to redraw."""
        ...


class NullListener:
    """Shows nothing."""

    def event(self, event: Event, state: RunState) -> None:
        pass

    def tick(self, state: RunState, now: float) -> None:
        pass


class StepWork(Protocol):
    """The rendered text of each step: commands per host, and manual instructions."""

    def commands(self, step_id: str, host: str | None) -> Commands: ...

    def instructions(self, step_id: str) -> str: ...


@dataclass(frozen=True)
class EngineOptions:
    """How a run runs (the `run_started.data.options` that matter to the engine)."""

    operator: str
    concurrency: int | None = None
    forks: int = 50
    step_gate: bool = False  # --step
    auto_answer: bool = False  # rehearsal without --interactive: manual steps answer "done"
    speed: float | None = None  # virtual clock only: None is "max"
    initial_skips: Mapping[str, str] = field(default_factory=dict)  # step → reason

"""What the engine's decisions ask of the world: events to journal, then things to do.

The core (runbook/engine/_core.py) only appends here; the loop (_engine.py) drains it in
order: events go to the group commit, `Start` and `Ask` wait until those events are
stored (commit before act), `Withdraw` is immediate, and `Confirm` is an operator answer
that the journal itself must accept (another terminal may have answered first).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from runbook.engine._attempt import RunCommand
from runbook.engine._io import Question
from runbook.engine._jobs import Job


@dataclass(frozen=True)
class Emit:
    """Journal this event."""

    type: str
    step: str | None
    host: str | None
    data: dict[str, Any]


@dataclass(frozen=True)
class Start:
    """Start these commands, once the events before are stored."""

    taken: list[tuple[Job, RunCommand]]


@dataclass(frozen=True)
class Ask:
    """Put this question to the operator, once the events before are stored."""

    question: Question


@dataclass(frozen=True)
class Withdraw:
    """The question about `step` was settled otherwise: take it off the screen."""

    step: str
    why: str


@dataclass(frozen=True)
class Confirm:
    """Answer a manual step through the journal (as `runbook confirm` does)."""

    step: str
    choice: str
    note: str
    operator: str
    value: str | None = None  # the answer to the step's `input`


Output = Emit | Start | Ask | Withdraw | Confirm


@dataclass
class Outbox:
    """The core's outputs, in the order it decided them."""

    items: list[Output] = field(default_factory=list)

    def emit(
        self, type_: str, step: str | None = None, host: str | None = None, **data: Any
    ) -> None:
        self.items.append(Emit(type_, step, host, data))

    def add(self, item: Output) -> None:
        self.items.append(item)

    def has_events(self) -> bool:
        """Events decided and not yet handed to the loop."""
        return any(isinstance(item, Emit) for item in self.items)

    def drain(self) -> list[Output]:
        items, self.items = self.items, []
        return items

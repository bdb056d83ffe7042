"""Each run's state as both backends keep it between writes: folded once, then advanced.

A checked append (an operator's answer, a claim) needs the run's state inside its write;
folding the whole journal for each would read every host output line again. So the state
stays here, brought up to date with the events after it, and each commit advances it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence

from runbook.events import Event, RunState, fold


class FoldedStates:
    """Run id → its folded state; safe to share between the engine's threads."""

    def __init__(self) -> None:
        self._states: dict[str, RunState] = {}
        self._lock = threading.Lock()

    def current(self, run_id: str, newer: Callable[[int], Sequence[Event]]) -> RunState:
        """The run's state with `newer(last_seq)`, the events it has not seen, applied."""
        with self._lock:
            state = self._states.get(run_id)
            if state is None:
                state = self._states[run_id] = fold([])
        for event in newer(state.last_seq):
            state.apply(event)
        return state

    def committed(self, run_id: str, events: Sequence[Event]) -> None:
        """Advance the run's state by events just committed, if it is right before them."""
        with self._lock:
            state = self._states.get(run_id)
            if state is not None and state.last_seq == events[0].seq - 1:
                for event in events:
                    state.apply(event)

    def forget(self, run_id: str) -> None:
        """Drop the run's state (a failed write, a copied run): the next read folds afresh."""
        with self._lock:
            self._states.pop(run_id, None)

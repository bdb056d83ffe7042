"""When the engine writes an `eta` event, and how much forecasting it can afford.

SPEC §5 asks for an ETA at the start and after every step transition. A forecast also
goes stale while nothing changes state — a two-hour step is in its third hour, a manual
step waits — so one is also due every PERIOD_S of run time while steps are active, and
when a running step passes its estimate (likely, then max) or an operator's `expect`.
Run time is the engine's clock: virtual in rehearsals, where these moments are stops for
the clock like any timer. Forecasting never takes more than ETA_SHARE of the engine's
real time (a due ETA waits for budget, except at the start and the end).

A rehearsal's clock is virtual: its real time is only what the engine computes, and a
share of it starved rehearsals of ETAs (at `--speed max`, a 60-step rehearsal on a loaded
machine got one ETA for every four transitions), so their journals depended on the
machine's load. On a virtual clock, a plan of up to VIRTUAL_EVERY_STEPS steps gets every
due ETA (a forecast costs ~15 ms at 300 steps): the same rehearsal writes the same ETAs
on any machine. Larger plans keep a budget, VIRTUAL_SHARE of the real time, so that a
5,000-step rehearsal (~0.15 s a forecast) still takes seconds, not minutes.
"""

from __future__ import annotations

import heapq
import time
from collections.abc import Callable, Iterable

PERIOD_S = 300.0  # an ETA at least every 5 minutes of run time while steps are active
ETA_SHARE = 0.2  # at most this share of the engine's real time goes to forecasting
VIRTUAL_EVERY_STEPS = 500  # on a virtual clock, plans up to this size get every due ETA ...
VIRTUAL_SHARE = 0.6  # ... larger ones may spend this share of the real time forecasting


class EtaSchedule:
    """Decides when an `eta` is due; the engine forecasts and journals it."""

    def __init__(
        self,
        period_s: float = PERIOD_S,
        share: float = ETA_SHARE,
        virtual: bool = False,
        steps: int = 0,
    ) -> None:
        self.period_s = period_s
        self.share = VIRTUAL_SHARE if virtual else share
        self._every_due = virtual and steps <= VIRTUAL_EVERY_STEPS
        self.dirty = True  # the start of a run (or a resume) wants one
        self._spent = 0.0
        self._t0 = time.monotonic()
        self._next_periodic: float | None = None
        self._marks: list[tuple[float, str, int]] = []  # (at, step, attempt), a heap

    def transition(self) -> None:
        """A step changed state: the forecast is out of date."""
        self.dirty = True

    def step_started(self, step: str, attempt: int, at: float, marks: Iterable[float]) -> None:
        """An attempt began at `at`: an ETA is due when its elapsed time passes each mark."""
        for mark in sorted(set(marks)):
            if mark > 0:
                heapq.heappush(self._marks, (at + mark, step, attempt))

    def expected(self, step: str, attempt: int, at: float) -> None:
        """An operator said the step ends at `at`: past that, the forecast must say so."""
        heapq.heappush(self._marks, (at, step, attempt))

    def next_at(self, active: bool) -> float | None:
        """The next clock time an ETA falls due by itself (None: none scheduled)."""
        times = [self._marks[0][0]] if self._marks else []
        if active and self._next_periodic is not None:
            times.append(self._next_periodic)
        return min(times) if times else None

    def check(self, now: float, active: bool, running: Callable[[str, int], bool]) -> None:
        """Mark the ETA due if a period ended or a still-running attempt passed a mark."""
        if active and self._next_periodic is not None and now >= self._next_periodic:
            self.dirty = True
            self._next_periodic = None  # the next period starts when this one is written
        while self._marks and self._marks[0][0] <= now:
            _, step, attempt = heapq.heappop(self._marks)
            if running(step, attempt):
                self.dirty = True

    def affordable(self) -> bool:
        """Whether forecasting now keeps within the share of real time (or needs not)."""
        if self._every_due:
            return True
        return self._spent <= self.share * (time.monotonic() - self._t0) + 0.05

    def written(self, now: float, cost_s: float) -> None:
        """An ETA was journaled at clock time `now`, costing `cost_s` of real time."""
        self.dirty = False
        self._spent += cost_s
        self._next_periodic = now + self.period_s

"""Real and virtual clocks: the core asks a clock for the time, never `time` directly."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    """What the engine needs from time."""

    def now(self) -> float:
        """Seconds since the epoch (virtual in rehearsals)."""
        ...

    def sleep(self, seconds: float) -> None:
        """Wait; a virtual clock may return at once."""
        ...


class RealClock:
    """Wall-clock time that never jumps: the wall time when the clock was made, advanced
    by the monotonic clock.

    After a power loss the machines' time sources come back late, and NTP then steps the
    system clock, often by minutes, sometimes by hours. Read straight from time.time(), a
    step back would freeze every retry delay, poll interval and ETA for that long (the
    timers are in this clock's time) and a step forward would fire them early and make the
    steps running then look that much longer. Here durations and timers stay true, and a
    run's times stay consistent with its start; a new process (`resume`) takes the
    corrected time.
    """

    def __init__(self) -> None:
        self._wall = time.time()
        self._mono = time.monotonic()

    def now(self) -> float:
        return self._wall + (time.monotonic() - self._mono)

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            time.sleep(seconds)


class VirtualClock:
    """Time that only moves when told to: `advance_to` jumps, `speed` plays it back slower.

    With speed None ("max") time jumps straight to the next thing that happens; with
    speed N, advancing by d virtual seconds waits d / N real seconds.
    """

    def __init__(self, start: float, speed: float | None = None) -> None:
        self._now = start
        self.speed = speed
        self._lock = threading.Lock()

    def now(self) -> float:
        with self._lock:
            return self._now

    def sleep(self, seconds: float) -> None:
        self.advance_to(self.now() + max(0.0, seconds))

    def advance_to(self, t: float) -> None:
        """Move time forward to `t` (never backwards)."""
        with self._lock:
            delta = t - self._now
            if delta <= 0:
                return
        if self.speed:
            time.sleep(delta / self.speed)
        with self._lock:
            self._now = max(self._now, t)


def iso(ts: float) -> str:
    """ISO-8601 UTC with milliseconds and a Z, as the journal stores it."""
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def parse_iso(text: str) -> float:
    """Seconds since the epoch for a journal timestamp."""
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def after(ts: float, seconds: float) -> str:
    """ISO time `seconds` after `ts`."""
    return iso((datetime.fromtimestamp(ts, UTC) + timedelta(seconds=seconds)).timestamp())

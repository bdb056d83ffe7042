"""Real and virtual clocks: the core asks a clock for the time, never `time` directly."""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Protocol

# `wait`'s `block(seconds)`: waits up to that many real seconds, returning early when
# something arrives (a command ended).
Block = Callable[[float], None]


class Clock(Protocol):
    """What the engine needs from time."""

    # Time moves only when the engine moves it (a rehearsal): nothing is lost by computing
    # between two instants, so every due ETA can be afforded.
    virtual: bool

    def now(self) -> float:
        """Seconds since the epoch (virtual in rehearsals)."""
        ...

    def sleep(self, seconds: float) -> None:
        """Wait; a virtual clock may return at once."""
        ...

    def wait(self, due: float | None, stop: float | None, block: Block, poll_s: float) -> None:
        """Let time pass towards `due` (the next timer) but not past `stop` (a moment to
        look again), at most `poll_s` of real time, through `block`."""
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

    virtual = False

    def __init__(self) -> None:
        self._wall = time.time()
        self._mono = time.monotonic()

    def now(self) -> float:
        return self._wall + (time.monotonic() - self._mono)

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            time.sleep(seconds)

    def wait(self, due: float | None, stop: float | None, block: Block, poll_s: float) -> None:
        now = self.now()
        block(min([poll_s, *(max(0.0, at - now) for at in (due, stop) if at is not None)]))


class VirtualClock:
    """Time that only moves when told to: `advance_to` jumps, `speed` plays it back slower.

    With speed None ("max") time jumps straight to the next thing that happens; with
    speed N, advancing by d virtual seconds waits d / N real seconds.
    """

    virtual = True

    def __init__(self, start: float, speed: float | None = None) -> None:
        self._now = start
        self.speed = speed
        self._lock = threading.Lock()

    def now(self) -> float:
        with self._lock:
            return self._now

    def sleep(self, seconds: float) -> None:
        self.advance_to(self.now() + max(0.0, seconds))

    def wait(self, due: float | None, stop: float | None, block: Block, poll_s: float) -> None:
        if due is None:  # only people can move things now: let time pass with them
            block(poll_s)
            self.advance_to(self.now() + poll_s * (self.speed or 1.0))
            return
        # A due ETA (`stop`) is a stop for the clock, but never a reason for time to move.
        at = due if stop is None else min(due, stop)
        if self.speed is not None:
            at = min(at, self.now() + poll_s * self.speed)
        self.advance_to(at)

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
    # datetime's own text, its seconds' part kept while they last (every event's ts is
    # written, ~50 a step within the same second): the microseconds are rounded as
    # `datetime.fromtimestamp` rounds them (half to even, of the fraction), then cut.
    global _last_second
    frac, whole = math.modf(ts)
    us = round(frac * 1e6)
    if us >= 1_000_000:
        whole += 1.0
        us -= 1_000_000
    elif us < 0 or not 0.0 <= whole < _BIG:  # before 1970, or far out: datetime itself
        return _iso(ts)
    second, text = _last_second
    if whole != second:
        text = datetime.fromtimestamp(whole, UTC).isoformat(timespec="seconds")[:-6]
        _last_second = (whole, text)
    return f"{text}.{us // 1000:03d}Z"


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


_BIG = 253_402_300_799.0  # 9999-12-31T23:59:59Z, datetime's last second
_last_second: tuple[float, str] = (-1.0, "")


def parse_iso(text: str) -> float:
    """Seconds since the epoch for a journal timestamp."""
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def after(ts: float, seconds: float) -> str:
    """ISO time `seconds` after `ts`."""
    return iso((datetime.fromtimestamp(ts, UTC) + timedelta(seconds=seconds)).timestamp())

"""Planned P50/P90 of a whole restore: a seeded Monte Carlo over the dependency graph.

Each step's duration is drawn from a PERT (scaled beta) distribution fitted to its
min/likely/max. A single-value estimate is "likely" with a default right-skewed spread
(wider for manual steps and for steps with no estimate at all): on an outage night, work
overruns far more often than it finishes early. Small and self-contained so the real
forecaster (runbook/estimate.py) can replace it.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Protocol

from runbook.model import Estimate

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    Floats = npt.NDArray[np.float64]

SAMPLES = 1000  # P90's sampling error is about ±1 percentile point at this size
SEED = 20_240_601  # fixed: the plan must be byte-stable
AUTOMATED_SPREAD = (0.75, 2.0)  # min and max as multiples of a single-value estimate
MANUAL_SPREAD = (0.5, 3.0)  # people, phones and site visits vary more
_GRID = 2048  # points of each tabulated beta quantile function
_BLOCK = 256  # steps sampled at once


class Timed(Protocol):
    """What the simulation needs of a step (model.Step and plan.PlanStep both fit)."""

    @property
    def id(self) -> str: ...

    @property
    def kind(self) -> str: ...

    @property
    def needs(self) -> tuple[str, ...]: ...

    @property
    def estimate(self) -> Estimate: ...


def three_point(step: Timed) -> tuple[float, float, float]:
    """(min, likely, max) seconds, with the default spread for a single-value estimate."""
    e = step.estimate
    if e.three_point:
        return e.min_s, e.likely_s, e.max_s
    lo, hi = MANUAL_SPREAD if step.kind == "manual" or not e.given else AUTOMATED_SPREAD
    return e.likely_s * lo, e.likely_s, e.likely_s * hi


def planned_quantiles(
    steps: Sequence[Timed],
    concurrency: int | None = None,
    samples: int = SAMPLES,
    seed: int = SEED,
) -> tuple[float, float]:
    """(P50, P90) seconds of the whole restore; `steps` in a dependency-respecting order."""
    if not steps:
        return 0.0, 0.0
    import numpy as np

    rng = np.random.default_rng(seed)
    sampler = _PertSampler(rng)
    if concurrency is None or concurrency >= len(steps):
        total = _unlimited(steps, sampler, samples)
    else:
        total = _limited(steps, sampler, samples, concurrency)
    p50, p90 = np.quantile(total, [0.5, 0.9])
    # Whole seconds: stable output bytes even if the last float bits differ by platform.
    return float(round(p50)), float(round(p90))


def _unlimited(steps: Sequence[Timed], sampler: _PertSampler, n: int) -> Floats:
    """Every step starts as soon as all it needs is done."""
    import numpy as np

    pending = _dependent_counts(steps)
    finish: dict[str, Floats] = {}
    total = np.zeros(n)
    for s, duration in _durations(steps, sampler, n):
        if s.needs:
            t = _latest(s.needs, finish, pending)
            t += duration
        else:
            t = duration.copy()
        np.maximum(total, t, out=total)
        if pending[s.id]:
            finish[s.id] = t
    return total


def _limited(steps: Sequence[Timed], sampler: _PertSampler, n: int, slots: int) -> Floats:
    """List scheduling on `slots` runners, steps taken in plan order.

    Each step takes the runner that frees up last before it is ready (best fit), else the
    one that frees up first; so a runner is not held idle by a step that waits on its needs
    while others could use it. Runners never used yet are all free at 0 and thus
    interchangeable: rows are added only when some sample needs one, so the cost follows
    the parallelism the graph really has, not a large --concurrency.
    """
    import numpy as np

    pending = _dependent_counts(steps)
    finish: dict[str, Floats] = {}
    buf = np.zeros((min(slots, 8), n))
    used = 1
    cols = np.arange(n)
    for s, duration in _durations(steps, sampler, n):
        ready = _latest(s.needs, finish, pending) if s.needs else np.zeros(n)
        free = buf[:used]
        fits = free <= ready
        fit_somewhere = fits.any(axis=0)
        if used < slots and not fit_somewhere.all():
            if used == len(buf):
                grown = np.zeros((min(slots, 2 * len(buf)), n))
                grown[:used] = buf[:used]
                buf = grown
            used += 1  # the new row is free at 0: it fits every sample
            free = buf[:used]
            fits = free <= ready
            fit_somewhere = fits.any(axis=0)
        slot = np.where(fits, free, -np.inf).argmax(axis=0)
        if not fit_somewhere.all():
            slot = np.where(fit_somewhere, slot, free.argmin(axis=0))
        start = np.maximum(ready, free[slot, cols])
        t = start + duration
        free[slot, cols] = t
        if pending[s.id]:
            finish[s.id] = t
    return np.asarray(buf[:used].max(axis=0))


def _durations(
    steps: Sequence[Timed], sampler: _PertSampler, n: int
) -> Iterator[tuple[Timed, Floats]]:
    """Each step with its sampled durations, drawn a block at a time (bounded memory)."""
    for first in range(0, len(steps), _BLOCK):
        chunk = steps[first : first + _BLOCK]
        yield from zip(chunk, sampler.block(chunk, n), strict=True)


def _dependent_counts(steps: Sequence[Timed]) -> dict[str, int]:
    counts = {s.id: 0 for s in steps}
    for s in steps:
        for need in s.needs:
            counts[need] += 1
    return counts


def _latest(needs: Sequence[str], finish: dict[str, Floats], pending: dict[str, int]) -> Floats:
    """Element-wise latest finish of `needs`; frees each array after its last dependent."""
    import numpy as np

    out: Floats | None = None
    for need in needs:
        f = finish[need]
        out = f.copy() if out is None else np.maximum(out, f, out=out)
        pending[need] -= 1
        if not pending[need]:
            del finish[need]
    assert out is not None
    return out


class _PertSampler:
    """PERT draws for a block of steps at once, through tabulated inverse CDFs.

    numpy's beta sampler is about ten times slower, and one numpy call per step would
    dominate a 10,000-step plan; a block is a few vectorised operations.
    """

    def __init__(self, rng: np.random.Generator) -> None:
        import numpy as np

        self._rng = rng
        self._keys: dict[tuple[float, float], int] = {(0.0, 0.0): 0}
        self._tables: list[Floats] = [np.zeros(_GRID)]  # row 0: fixed durations (span 0)

    def block(self, steps: Sequence[Timed], n: int) -> Floats:
        """A (len(steps), n) matrix of sampled durations, one row per step."""
        import numpy as np

        lo = np.empty(len(steps))
        span = np.empty(len(steps))
        shape = np.empty(len(steps), dtype=np.intp)
        for k, s in enumerate(steps):
            low, likely, high = three_point(s)
            lo[k] = low
            span[k] = max(high - low, 0.0)
            shape[k] = self._shape(low, likely, high)
        u = self._rng.random((len(steps), n))
        u *= _GRID - 1
        i = u.astype(np.intp)
        np.minimum(i, _GRID - 2, out=i)
        u -= i  # now the fraction between two table points
        tables = np.stack(self._tables)
        rows = shape[:, None]
        left = tables[rows, i]
        out = tables[rows, i + 1]
        out -= left
        out *= u
        out += left
        out *= span[:, None]
        out += lo[:, None]
        return np.asarray(out)

    def _shape(self, lo: float, likely: float, hi: float) -> int:
        if hi <= lo:
            return 0
        likely = min(max(likely, lo), hi)
        a = 1.0 + 4.0 * (likely - lo) / (hi - lo)
        b = 1.0 + 4.0 * (hi - likely) / (hi - lo)
        key = (round(a, 6), round(b, 6))
        index = self._keys.get(key)
        if index is None:
            index = self._keys[key] = len(self._tables)
            self._tables.append(_beta_quantiles(a, b))
        return index


def _beta_quantiles(a: float, b: float) -> Floats:
    """Beta(a, b) quantiles at _GRID evenly spaced probabilities."""
    import numpy as np

    x = np.linspace(0.0, 1.0, _GRID)
    mid = (x[:-1] + x[1:]) / 2  # midpoints: no 0 ** negative at the ends
    cdf = np.concatenate(([0.0], np.cumsum(mid ** (a - 1.0) * (1.0 - mid) ** (b - 1.0))))
    cdf /= cdf[-1]
    return np.asarray(np.interp(x, cdf, x))

"""The forecaster protocol the engine calls, and the simple critical-path forecaster.

The engine asks a Forecaster for an ETA at the start and after every step transition;
the Monte Carlo forecaster (runbook/forecast/_montecarlo.py) implements the same protocol. This one
is the deterministic fallback: the longest path through the work that is left, each step
at a quantile of its three-point estimate, running steps at max(estimate − elapsed, 0),
or what an operator said with `runbook expect`.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from runbook.events import RunState
from runbook.model import DEFAULT_ESTIMATE_S

QUANTILES = (0.1, 0.5, 0.9)


@dataclass(frozen=True)
class Forecast:
    """When the run should end, as of `now`."""

    p50_ts: float
    p90_ts: float
    remaining_p50_s: float
    remaining_p90_s: float
    critical_path: tuple[str, ...]
    rto_risk: float | None  # probability of missing the playbook's rto; None without one
    method: str


class Forecaster(Protocol):
    """Anything that turns a run's state into a Forecast."""

    def forecast(self, state: RunState, now: float) -> Forecast: ...


def triangular_quantile(lo: float, mode: float, hi: float, q: float) -> float:
    """The q-quantile of a triangular distribution on [lo, hi] peaking at mode."""
    if hi <= lo:
        return lo
    f = (mode - lo) / (hi - lo)
    if q < f:
        return lo + math.sqrt(q * (hi - lo) * (mode - lo))
    return hi - math.sqrt((1 - q) * (hi - lo) * (hi - mode))


def _three_point(estimate: Mapping[str, Any]) -> tuple[float, float, float]:
    likely = float(estimate.get("likely_s", DEFAULT_ESTIMATE_S))
    lo = float(estimate.get("min_s", likely))
    hi = float(estimate.get("max_s", likely))
    return lo, likely, hi


class SimpleForecaster:
    """Remaining critical path at the 10th, 50th and 90th percentile of each estimate."""

    method = "critical-path"

    def __init__(self, plan: Mapping[str, Any]) -> None:
        steps = plan.get("steps") or []
        waves = plan.get("waves") or []
        self._order: list[str] = [sid for wave in waves for sid in wave] or [
            str(s["id"]) for s in steps
        ]
        self._needs: dict[str, tuple[str, ...]] = {}
        self._q: dict[str, tuple[float, float, float]] = {}
        for s in steps:
            sid = str(s["id"])
            self._needs[sid] = tuple(s.get("needs") or ())
            lo, likely, hi = _three_point(s.get("estimate") or {})
            self._q[sid] = tuple(  # type: ignore[assignment]
                triangular_quantile(lo, likely, hi, q) for q in QUANTILES
            )
        self.rto_s: float | None = plan.get("rto_s")

    def forecast(self, state: RunState, now: float) -> Forecast:
        """The ETA of the rest of the run, from `now`."""
        finish: dict[str, tuple[float, float, float]] = {}
        via: dict[str, str | None] = {}
        steps = state.steps
        for sid in self._order:
            st = steps.get(sid)
            status = st.status if st is not None else "pending"
            if status in ("succeeded", "skipped"):
                continue
            s0 = s1 = s2 = 0.0
            best: str | None = None
            for n in self._needs.get(sid, ()):  # needs are sorted: ties go to the first id
                f = finish.get(n)
                if f is None:
                    continue
                s0, s2 = max(s0, f[0]), max(s2, f[2])
                if best is None or f[1] > s1:
                    s1, best = f[1], n
            rem = self._remaining(sid, st, status, now)
            finish[sid] = (s0 + rem[0], s1 + rem[1], s2 + rem[2])
            via[sid] = best
        if not finish:
            r10 = r50 = r90 = 0.0
            path: tuple[str, ...] = ()
        else:
            last = max(finish, key=lambda s: (finish[s][1], s))
            r10, r50 = finish[last][0], finish[last][1]
            r90 = max(f[2] for f in finish.values())
            chain: list[str] = []
            cur: str | None = last
            while cur is not None:
                chain.append(cur)
                cur = via.get(cur)
            path = tuple(reversed(chain))
        return Forecast(
            p50_ts=now + r50,
            p90_ts=now + max(r90, r50),
            remaining_p50_s=r50,
            remaining_p90_s=max(r90, r50),
            critical_path=path,
            rto_risk=self._risk(state, now, r10, r50, max(r90, r50)),
            method=self.method,
        )

    def _remaining(self, sid: str, st: Any, status: str, now: float) -> tuple[float, float, float]:
        q = self._q.get(sid, (DEFAULT_ESTIMATE_S,) * 3)
        if st is None or status not in ("running", "waiting", "claimed"):
            return q
        if st.expect is not None:
            left = float(st.expect.remaining_at(now))
            return (left, left, left)
        elapsed = float(st.elapsed(now))
        return (max(q[0] - elapsed, 0.0), max(q[1] - elapsed, 0.0), max(q[2] - elapsed, 0.0))

    def _risk(
        self, state: RunState, now: float, r10: float, r50: float, r90: float
    ) -> float | None:
        rto = state.rto_s if state.rto_s is not None else self.rto_s
        if rto is None or state.started is None:
            return None
        left = state.started + rto - now  # time left before the RTO is missed
        if r90 - r10 < 1e-9:
            return 1.0 if left < r50 else 0.0
        # Piecewise-linear CDF through (0,0) (r10,.1) (r50,.5) (r90,.9) (r90+(r90-r50),1).
        points = ((0.0, 0.0), (r10, 0.1), (r50, 0.5), (r90, 0.9), (r90 + (r90 - r50), 1.0))
        if left <= 0:
            return 1.0
        for (x0, y0), (x1, y1) in itertools.pairwise(points):
            if left <= x1:
                cdf = y0 if x1 <= x0 else y0 + (y1 - y0) * (left - x0) / (x1 - x0)
                return round(1.0 - cdf, 4)
        return 0.0


def eta_data(f: Forecast, iso: Any) -> dict[str, Any]:
    """The `eta` event data (SPEC §5) of a forecast; `iso` formats a timestamp."""
    return {
        "p50": iso(f.p50_ts),
        "p90": iso(f.p90_ts),
        "remaining_p50_s": round(f.remaining_p50_s, 3),
        "remaining_p90_s": round(f.remaining_p90_s, 3),
        "critical_path": list(f.critical_path),
        "rto_risk": f.rto_risk,
        "method": f.method,
    }

"""The ETA forecaster: duration models + live learning + Monte Carlo over what remains.

Pure: numpy, no I/O. `MonteCarloForecaster(plan, history).forecast(state, now)` gives
P50/P90 finish times, the probability of missing the RTO and the current critical path.
All randomness is drawn once (common random numbers): the same evidence gives the same
answer, and the ETA moves only when information arrives.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

import numpy as np
from numpy.typing import NDArray

from runbook.estimate_learn import OUTLIER_K, OUTLIER_P, Finished, Posterior, learn
from runbook.estimate_model import MIN_DURATION_S, History, StepModels, build_models
from runbook.estimate_normal import survival, upper_ppf
from runbook.estimate_observe import DONE, RUNNING, Observations, observe_state
from runbook.estimate_sim import Graph, simulate
from runbook.estimate_simple import Forecast, Forecaster, eta_data

FloatArray = NDArray[np.float64]

SAMPLES = 1000
SAMPLE_BUDGET = 2_000_000  # steps × samples kept in memory (float32 noise: ~16 MB)
MIN_SAMPLES = 300
SEED = 5_318_008
EXPECT_SD = 0.25  # an operator's word on remaining time: close, not exact
MIN_ESS_SHARE = 0.25  # evidence from running steps may not leave fewer effective samples
CRITICAL_SHARE = 0.0  # the critical path follows the most-often-critical need while > this
# Large playbooks: recompute once this many steps changed state (an update of 5,000 steps
# costs ~0.1 s and the engine asks after every transition); in between, the last forecast
# stands. Below 250 steps every transition recomputes.
RECOMPUTE_EVERY_STEPS = 250


def plan_json(plan: Any) -> Mapping[str, Any]:
    """The Plan JSON of a Plan object or of an already-plain mapping."""
    if isinstance(plan, Mapping):
        return plan
    out: Mapping[str, Any] = plan.to_json()
    return out


class MonteCarloForecaster:
    """Lognormal step models learned live, replayed over the remaining graph N times."""

    method = "monte-carlo"

    def __init__(
        self,
        plan: Any,
        history: History | None = None,
        *,
        mode: str = "live",
        concurrency: int | None = None,
        samples: int = SAMPLES,
        seed: int = SEED,
    ) -> None:
        self.plan = plan_json(plan)
        self.graph = Graph.from_plan(self.plan)
        models = build_models(self.plan, history, mode)
        order = np.array([models.ids.index(s) for s in self.graph.ids], dtype=np.int64)
        self.models = StepModels(
            self.graph.ids,
            models.mu[order],
            models.sigma[order],
            models.phase[order],
            models.phases,
            tuple(models.kind[i] for i in order),
            models.run_effect_prior,
            models.run_effect_sd,
            models.learned,
        )
        self.concurrency = concurrency
        rto = self.plan.get("rto_s")
        self.rto_s = float(rto) if rto else None
        n_steps = len(self.graph.ids)
        self.samples = max(MIN_SAMPLES, min(samples, SAMPLE_BUDGET // max(n_steps, 1)))
        rng = np.random.default_rng(seed)
        shape = (n_steps, self.samples)
        self._z = rng.standard_normal(shape).astype(np.float32)
        self._u = rng.random(shape).astype(np.float32)
        self._zt = rng.standard_normal((self.samples, 1 + len(models.phases)))
        self._every = max(1, n_steps // RECOMPUTE_EVERY_STEPS)
        self._last: tuple[dict[str, tuple[str, float | None]], Forecast] | None = None

    def forecast(self, state: Any, now: float) -> Forecast:
        """The ETA given a RunState (or Observations) at time `now` on the run's clock."""
        obs = state if isinstance(state, Observations) else observe_state(state)
        return self.forecast_observed(obs, now)

    def forecast_observed(self, obs: Observations, now: float) -> Forecast:
        """The ETA from Observations (the last one again if little has changed since)."""
        key = {s: (o.category, o.expect_ts) for s, o in obs.steps.items()}
        if self._last is not None and self._every > 1:
            seen, last = self._last
            changed = sum(1 for s, v in key.items() if seen.get(s) != v)
            left = any(v[0] != DONE for v in key.values())
            if changed < self._every and left:
                return replace(
                    last,
                    remaining_p50_s=max(last.p50_ts - now, 0.0),
                    remaining_p90_s=max(last.p90_ts - now, 0.0),
                )
        out = self._compute(obs, now)
        self._last = (key, out)
        return out

    def _compute(self, obs: Observations, now: float) -> Forecast:
        g, m = self.graph, self.models
        n = self._z.shape[1]
        cats = [obs.steps[s].category if s in obs.steps else "todo" for s in g.ids]
        done = np.array([c == DONE for c in cats], dtype=bool)
        post = learn(m, self._finished(obs))
        effects = post.draw(self._zt)  # (n, 1 + phases)
        # Per step still to finish: log-median after this run's and its phase's learned
        # departure; finished steps' rows stay zero (nothing is drawn for them).
        live = np.flatnonzero(~done)
        log_med = np.zeros((len(g.ids), n))
        log_med[live] = m.mu[live, None] + effects[:, 0][None, :] + effects[:, 1:].T[m.phase[live]]
        sd = (m.sigma * post.noise_scale)[:, None]
        durations = np.zeros((len(g.ids), n))
        spread = np.where(self._u[live] < OUTLIER_P, OUTLIER_K * sd[live], sd[live])
        durations[live] = np.exp(log_med[live] + spread * self._z[live])
        log_w = np.zeros(n)
        fixed: dict[int, FloatArray] = {}
        for i, c in enumerate(cats):
            if c != RUNNING:
                continue
            so = obs.steps[g.ids[i]]
            if so.expect_remaining_s is not None and so.expect_ts is not None:
                fixed[i] = self._expected(so.expect_remaining_s, now - so.expect_ts, i)
                continue
            elapsed = max(now - so.started, 0.0) if so.started is not None else 0.0
            rem, surv = self._running(log_med[i], sd[i, 0], elapsed, i)
            fixed[i] = rem
            log_w += np.log(np.maximum(surv, 1e-300))
        w = _tempered(log_w)
        limit = self.concurrency if self.concurrency is not None else obs.concurrency
        res = simulate(g, durations, fixed, done, w, limit)
        q50, q90 = _weighted_quantiles(res.end, w, (0.5, 0.9))
        risk = None
        if self.rto_s is not None:
            start = obs.started if obs.started is not None else now
            deadline = start + self.rto_s - now
            risk = float(w[res.end > deadline].sum() / w.sum())
        path = self._critical_path(res.critical, done)
        return Forecast(now + q50, now + q90, q50, q90, path, risk, self.method)

    def _finished(self, obs: Observations) -> list[Finished]:
        idx = self.graph.index
        done = [
            (so.finished_seq, s, so.work_s)
            for s, so in obs.steps.items()
            if so.category == DONE and so.work_s is not None and s in idx
        ]
        done.sort()
        return [Finished(idx[s], float(w)) for _, s, w in done if w is not None]

    def _running(
        self, log_med: FloatArray, sd: float, elapsed: float, i: int
    ) -> tuple[FloatArray, FloatArray]:
        """Remaining time of a step running for `elapsed` s, and how likely that was.

        Conditioned on taking longer than it already has: an overdue step's remaining time
        grows, and a step overdue for its normal spread is more likely a badly-stuck one.
        """
        t = np.log(max(elapsed, MIN_DURATION_S))
        a_in = (t - log_med) / sd
        a_out = (t - log_med) / (OUTLIER_K * sd)
        s_in = (1.0 - OUTLIER_P) * survival(a_in)
        s_out = OUTLIER_P * survival(a_out)
        surv = s_in + s_out
        p_out = s_out / np.maximum(surv, 1e-300)
        is_out = self._u[i].astype(np.float64) < p_out
        a = np.where(is_out, a_out, a_in)
        scale = np.where(is_out, OUTLIER_K * sd, sd)
        v = np.clip(survival(self._z[i].astype(np.float64)), 1e-12, 1.0)
        tail = np.maximum(survival(a), 1e-300)
        zc = np.where(a > 8.0, a - np.log(v) / np.maximum(a, 1.0), upper_ppf(v * tail))
        total = np.exp(log_med + scale * np.maximum(zc, a))
        return np.maximum(total - elapsed, 0.0), surv

    def _expected(self, remaining_s: float, since: float, i: int) -> FloatArray:
        """Remaining time after an operator said `remaining_s` more, `since` s ago."""
        log_med = np.log(max(remaining_s, MIN_DURATION_S))
        since = max(since, 0.0)
        z = self._z[i].astype(np.float64)
        if since <= 0.0:
            return np.asarray(np.exp(log_med + EXPECT_SD * z))
        a = (np.log(max(since, MIN_DURATION_S)) - log_med) / EXPECT_SD
        v = np.clip(survival(z), 1e-12, 1.0)
        tail = max(float(survival(a)), 1e-300)
        zc = upper_ppf(v * tail) if a <= 8.0 else a - np.log(v) / a
        return np.asarray(np.maximum(np.exp(log_med + EXPECT_SD * zc) - since, 0.0))

    def _critical_path(self, critical: FloatArray, done: NDArray[np.bool_]) -> tuple[str, ...]:
        """Walk back from the most-often-last step through its most-often-critical needs."""
        g = self.graph
        live = ~done
        sinks = [
            i for i in range(len(g.ids)) if live[i] and not any(live[d] for d in g.dependents[i])
        ]
        if not sinks:
            return ()
        cur = max(sinks, key=lambda i: (critical[i], -i))
        if critical[cur] <= CRITICAL_SHARE:
            return ()
        path = [cur]
        while True:
            needs = [int(j) for j in g.needs[cur] if live[j] and critical[j] > CRITICAL_SHARE]
            if not needs:
                break
            cur = max(needs, key=lambda j: (critical[j], -j))
            path.append(cur)
        return tuple(g.ids[i] for i in reversed(path))

    def posterior(self, obs: Observations) -> Posterior:
        """The learned run and phase effects (for status displays and tests)."""
        return learn(self.models, self._finished(obs))


def _tempered(log_w: FloatArray) -> FloatArray:
    """Normalised importance weights, flattened if they would leave too few samples."""
    n = len(log_w)
    if not np.any(log_w):
        return np.full(n, 1.0 / n)
    base = log_w - log_w.max()

    def ess(alpha: float) -> float:
        w = np.exp(alpha * base)
        return float(w.sum() ** 2 / (w * w).sum())

    alpha = 1.0
    if ess(1.0) < MIN_ESS_SHARE * n:
        lo, hi = 0.0, 1.0
        for _ in range(20):
            mid = (lo + hi) / 2
            lo, hi = (mid, hi) if ess(mid) >= MIN_ESS_SHARE * n else (lo, mid)
        alpha = lo
    w = np.exp(alpha * base)
    out: FloatArray = w / w.sum()
    return out


def _weighted_quantiles(x: FloatArray, w: FloatArray, qs: Sequence[float]) -> list[float]:
    order = np.argsort(x, kind="stable")
    cw = np.cumsum(w[order])
    cw /= cw[-1]
    return [float(x[order][min(int(np.searchsorted(cw, q)), len(x) - 1)]) for q in qs]


__all__ = ["Forecast", "Forecaster", "MonteCarloForecaster", "eta_data", "planned"]


def planned(plan: Any, history: History | None = None, concurrency: int | None = None) -> Forecast:
    """The restore's planned P50/P90 before any run (`now` = 0: times are durations)."""
    fc = MonteCarloForecaster(plan, history, concurrency=concurrency)
    return fc.forecast_observed(Observations(started=0.0), 0.0)

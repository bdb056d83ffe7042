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

from runbook.forecast._latency import NO_WAIT_S, Latency, learn_latency
from runbook.forecast._learn import Finished, Posterior, learn
from runbook.forecast._model import History, StepModels, build_models
from runbook.forecast._observe import DONE, RUNNING, Observations, observe_state
from runbook.forecast._reference import with_reference_prior
from runbook.forecast._running import expected_remaining, running_remaining
from runbook.forecast._sim import Graph, simulate
from runbook.forecast._simple import Forecast, Forecaster, eta_data
from runbook.forecast._tail import STUCK_LOG_MEAN, STUCK_P_CALM, overrun

FloatArray = NDArray[np.float64]

SAMPLES = 1000
SAMPLE_BUDGET = 2_000_000  # steps × samples kept in memory (float32 noise: ~16 MB)
# Past 10,000 steps the budget leaves 200 samples: enough for the P50/P90 of a total that
# sums thousands of steps (its sampling error is under 1% of it), and a 10,000-step plan
# stays under 2 s (bench/plan_scale.py).
MIN_SAMPLES = 200
BLOCK = 256  # rows of sampled durations computed at once
SEED = 5_318_008
MIN_ESS_SHARE = 0.25  # evidence from running steps may not leave fewer effective samples
# How much a running step's elapsed time reweights the sampled run and phase slowdowns
# (the exponent on its survival probability). Its own remaining time is always conditioned
# on it. At 1 (full Bayes) every critical step still running pushed the whole ETA up, tick
# after tick, and its end pulled it back: a saw-tooth that made the P50 move 1.8× the
# run's length with ETAs at every transition, for no gain in accuracy or coverage on
# bench/eta (RESULTS.md). Finished steps alone teach the slowdown.
RUNNING_EVIDENCE = 0.0
# An unclaimed manual step may be one worked on without a claim (answered with a wait of
# 0: the journal then counts the whole span as work), as likely as the waits learned say
# (_latency.py). False: every unclaimed step is still waiting (session 6's model).
UNCLAIMED_WORKED = True
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
        models = build_models(self.plan, history, mode).reordered(self.graph.ids)
        models = with_reference_prior(models, history, mode, self.plan)
        self.models: StepModels = models
        # Operator latency is real time only live: a rehearsal answers on its own clock.
        self._past_waits = _past_waits(history) if mode == "live" else None
        self.concurrency = concurrency
        rto = self.plan.get("rto_s")
        self.rto_s = float(rto) if rto else None
        n_steps = len(self.graph.ids)
        self.samples = max(MIN_SAMPLES, min(samples, SAMPLE_BUDGET // max(n_steps, 1)))
        rng = np.random.default_rng(seed)
        shape = (n_steps, self.samples)
        # float32 halves the memory of the draws; they are only ever combined in float64.
        self._z = rng.standard_normal(shape, dtype=np.float32)
        self._e = rng.standard_exponential(shape, dtype=np.float32)  # ziggurat: 4× −log(u)
        self._zt = rng.standard_normal((self.samples, 1 + len(models.phases)))
        self._night = rng.random(self.samples)  # which sampled nights are troubled ones
        # A conditional step runs in a sample with its `chance`, until its `when` is decided
        # (then it is skipped: done, or started: running). Drawn last: other draws unchanged.
        self._runs = _conditional_runs(self.plan, self.graph.ids, rng, self.samples)
        # Which part of the slowdown's heavy-tailed posterior each sample takes (_learn.py).
        self._part = rng.random(self.samples)
        # Manual steps' waits for an operator (live runs): drawn after every other draw.
        self._manual = np.array([k == "manual" for k in models.kind], dtype=bool)
        n_manual = int(self._manual.sum()) if self._past_waits is not None else 0
        self._lz = rng.standard_normal((n_manual, self.samples))
        self._lu = rng.random((n_manual, self.samples))
        self._lrow = np.cumsum(self._manual) - 1  # step index → row of its latency draws
        self._every = max(1, n_steps // RECOMPUTE_EVERY_STEPS)
        self._last: tuple[dict[str, tuple[str, float | None]], Forecast] | None = None
        # False: no critical path (the plan's P50/P90 only); saves its third of the time.
        self.with_path = True

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
        n_steps, n = self._z.shape
        cats = [obs.steps[s].category if s in obs.steps else "todo" for s in g.ids]
        done = np.array([c == DONE for c in cats], dtype=bool)
        running = [i for i, c in enumerate(cats) if c == RUNNING]
        lat = self._latency(obs)
        post = learn(m, self._finished(obs), running=self._running(obs, now, lat))
        effects = post.draw(self._zt, self._part)  # (n, 1 + phases)
        lam = STUCK_LOG_MEAN
        # Each sampled night is troubled or calm, as likely as the finished steps say.
        p = np.where(self._night < post.troubled, post.troubled_p, STUCK_P_CALM)
        sd = m.sigma * post.noise_scale
        effects_t = np.ascontiguousarray(effects[:, 1:].T)  # (phases, n)
        durations = np.zeros((n_steps, n))
        todo = np.flatnonzero(~done & ~np.isin(np.arange(n_steps), running))
        if m.instant is not None:
            todo = todo[~m.instant[todo]]  # estimated at 0 s: they take no time
        for lo in range(0, len(todo), BLOCK):
            # Steps not started: log median after this run's and its phase's learned
            # departure, their own noise and the stuck-step overrun. In blocks of rows:
            # a 10,000-step plan never holds more than one block of temporaries.
            rows = todo[lo : lo + BLOCK]
            x = effects_t[m.phase[rows]]
            x += effects[:, 0]
            x += m.mu[rows, None]
            x += sd[rows, None] * self._z[rows]
            x += overrun(self._e[rows], p, lam)
            durations[rows] = np.exp(x, out=x)
        if lat is not None:
            for i in todo[self._manual[todo]]:
                r = self._lrow[i]
                durations[i] += lat.draw(self._lz[r], self._lu[r])
        for i, runs in self._runs.items():
            if not done[i] and i not in running:
                durations[i] *= runs  # 0 in the samples where its `when` is false
        log_w = np.zeros(n)
        fixed: dict[int, FloatArray] = {}
        for i in running:
            so = obs.steps[g.ids[i]]
            if so.expect_remaining_s is not None and so.expect_ts is not None:
                since = now - so.expect_ts
                fixed[i] = expected_remaining(so.expect_remaining_s, since, self._z[i])
                continue
            elapsed = max(now - so.started, 0.0) if so.started is not None else 0.0
            log_med = m.mu[i] + effects[:, 0] + effects_t[m.phase[i]]
            u = np.exp(-self._e[i].astype(np.float64))
            rest, log_surv = running_remaining(
                log_med, float(sd[i]), elapsed, p, lam, self._z[i], u
            )
            if lat is not None and so.unclaimed and self._manual[i]:
                # Nobody has claimed it: the rest of the wait, then all of the work ...
                r = self._lrow[i]
                work = np.exp(log_med + sd[i] * self._z[i] + overrun(self._e[i], p, lam))
                fixed[i] = lat.remaining(elapsed, self._lz[r]) + work
                if UNCLAIMED_WORKED:
                    # ... or it is being worked on without a claim (_latency.py).
                    worked = self._lu[r] < lat.worked_share(elapsed, log_surv)
                    fixed[i] = np.where(worked, rest, fixed[i])
                continue
            fixed[i] = rest
            log_w += log_surv
        w = _tempered(RUNNING_EVIDENCE * log_w)
        limit = self.concurrency if self.concurrency is not None else obs.concurrency
        res = simulate(g, durations, fixed, done, w, limit, critical=self.with_path)
        q50, q90 = _weighted_quantiles(res.end, w, (0.5, 0.9))
        risk = None
        if self.rto_s is not None:
            start = obs.started if obs.started is not None else now
            deadline = start + self.rto_s - now
            risk = float(w[res.end > deadline].sum() / w.sum())
        path = self._critical_path(res.critical, done) if self.with_path else ()
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

    def _running(self, obs: Observations, now: float, lat: Latency | None) -> list[Finished]:
        """Steps under way, with their elapsed work time, as censored evidence."""
        idx = self.graph.index
        out = []
        for s, so in obs.steps.items():
            if so.category != RUNNING or so.started is None or s not in idx:
                continue
            if so.expect_ts is not None or (lat is not None and so.unclaimed):
                continue  # an operator's word, or a wait that is not work
            out.append(Finished(idx[s], max(now - so.started, 0.0)))
        return out

    def _latency(self, obs: Observations) -> Latency | None:
        """Operator latency (live runs): earlier live nights' waits and this run's.

        Only once some wait was measured: a team that never ran live (or never claims its
        steps) has its answers' latency inside the work its estimates learn from.
        """
        if self._past_waits is None:
            return None
        waits = [*self._past_waits, *(s.wait_s for s in obs.steps.values() if s.wait_s is not None)]
        return learn_latency(waits) if any(w >= NO_WAIT_S for w in waits) else None

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
        return learn(self.models, self._finished(obs))  # finished steps only


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


def _past_waits(history: History | None) -> list[float]:
    """Operator waits of earlier live runs, of this playbook and of the team's others."""
    if history is None:
        return []
    own = [w for r in history.runs if r.mode == "live" for w in r.waits]
    return own + [w for r in history.reference if r.mode == "live" for w in r.waits]


def _conditional_runs(
    plan: Mapping[str, Any], ids: Sequence[str], rng: np.random.Generator, samples: int
) -> dict[int, FloatArray]:
    """For each step with a `chance` below 1: 1.0 where it runs in a sample, else 0.0."""
    chances = {s["id"]: s.get("chance") for s in plan.get("steps", ()) if s.get("when")}
    out: dict[int, FloatArray] = {}
    for i, sid in enumerate(ids):
        p = chances.get(sid)
        if p is not None and p < 1.0:
            out[i] = (rng.random(samples) < float(p)).astype(np.float64)
    return out


def planned(
    plan: Any,
    history: History | None = None,
    concurrency: int | None = None,
    *,
    critical_path: bool = True,
) -> Forecast:
    """The restore's planned P50/P90 before any run (`now` = 0: times are durations).

    `critical_path=False`: the same P50/P90 and RTO risk, without the critical path.
    """
    fc = MonteCarloForecaster(plan, history, concurrency=concurrency)
    fc.with_path = critical_path
    return fc.forecast_observed(Observations(started=0.0), 0.0)

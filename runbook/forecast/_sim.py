"""Monte Carlo over the remaining graph: finish times of N sampled futures at once.

Each step's row holds N sampled durations; the dispatch rule is replayed vectorised over
samples, one step at a time in the engine's dispatch order (precomputed once). Without a
concurrency limit a step starts when its last need finishes. With a limit, slots are
handed out in dispatch order, each step taking the slot that freed last before it was
ready (so an earlier-freed slot stays available for a step that is ready sooner).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]


@dataclass(frozen=True)
class Wave:
    """Graph rows [start, stop) of one wave, whose steps need only earlier waves' steps.

    The needs of its steps that have any are `flat[lo:hi]`, row `rows[k]`'s starting at
    `lo + starts[k]`; `rows` is None when every step of the wave has needs.
    """

    start: int
    stop: int
    lo: int
    hi: int
    starts: IntArray
    rows: IntArray | None


@dataclass(frozen=True)
class Graph:
    """The plan's steps in dispatch order with their needs as index arrays."""

    ids: tuple[str, ...]  # dispatch order: wave, then id (the engine's sorted ready set)
    index: Mapping[str, int]
    needs: tuple[IntArray, ...]
    dependents: tuple[tuple[int, ...], ...]
    # All needs in one array (each step's `needs` is a view of it), and the waves when each
    # step needs only steps of earlier ones (None: not so, e.g. a hand-made plan).
    flat: IntArray | None = None
    waves: tuple[Wave, ...] | None = None

    @classmethod
    def from_plan(cls, plan: Mapping[str, Any]) -> Graph:
        steps: Sequence[Mapping[str, Any]] = plan.get("steps", ())
        waves = _waves(steps)
        ids = tuple(sorted(waves, key=lambda s: (waves[s], s)))
        index = {s: i for i, s in enumerate(ids)}
        by_id = {str(s["id"]): s for s in steps}
        # One array for all the needs, each step's a view of it: 10,000 small arrays
        # cost ~50 ms to make one by one.
        flat: list[int] = []
        ends: list[int] = []
        deps: list[list[int]] = [[] for _ in ids]
        layered = True
        start = 0  # the first row of the current wave
        for i, s in enumerate(ids):
            if i and waves[s] != waves[ids[i - 1]]:
                start = i
            ns = [index[n] for n in by_id[s].get("needs", ()) if n in index]
            ns.sort()
            for n in ns:
                deps[n].append(i)
            if ns and ns[-1] >= start:
                layered = False
            flat += ns
            ends.append(len(flat))
        all_needs = np.array(flat, dtype=np.int64)
        firsts = [0, *ends]
        needs = tuple(all_needs[a:b] for a, b in zip(firsts, ends, strict=False))
        return cls(
            ids,
            index,
            needs,
            tuple(tuple(d) for d in deps),
            all_needs,
            _wave_rows(ids, waves, firsts) if layered else None,
        )


def _wave_rows(ids: Sequence[str], waves: Mapping[str, int], firsts: list[int]) -> tuple[Wave, ...]:
    """The rows of each wave in graph order, and where their needs are in `flat`."""
    out = []
    start = 0
    for i in range(1, len(ids) + 1):
        if i < len(ids) and waves[ids[i]] == waves[ids[start]]:
            continue
        rows = [r for r in range(start, i) if firsts[r + 1] > firsts[r]]
        lo, hi = firsts[start], firsts[i]
        out.append(
            Wave(
                start,
                i,
                lo,
                hi,
                np.array([firsts[r] - lo for r in rows], dtype=np.int64),
                None if len(rows) == i - start else np.array(rows, dtype=np.int64),
            )
        )
        start = i
    return tuple(out)


def _waves(steps: Sequence[Mapping[str, Any]]) -> dict[str, int]:
    """Longest-path layer of each step: the plan's own `wave`, recomputed if absent."""
    if all(isinstance(s.get("wave"), int) for s in steps):
        return {str(s["id"]): int(s["wave"]) for s in steps}
    needs = {str(s["id"]): [str(n) for n in s.get("needs", ())] for s in steps}
    wave: dict[str, int] = {}
    for start in needs:
        stack = [start]
        while stack:
            s = stack[-1]
            if s in wave:
                stack.pop()
                continue
            todo = [n for n in needs[s] if n in needs and n not in wave]
            if todo:
                stack.extend(todo)
                if len(stack) > 4 * len(needs) + 8:  # a cycle: the loader forbids it
                    raise ValueError("the plan's steps form a cycle")
                continue
            wave[s] = 1 + max((wave[n] for n in needs[s] if n in needs), default=-1)
            stack.pop()
    return wave


@dataclass(frozen=True)
class SimResult:
    """Finish time (seconds from now) of the whole run per sample, and step criticality."""

    end: FloatArray  # shape (N,)
    critical: FloatArray  # per step in graph order: weighted share of samples it was critical


def simulate(
    graph: Graph,
    durations: FloatArray,
    fixed_finish: Mapping[int, FloatArray],
    done: NDArray[np.bool_],
    weights: FloatArray,
    concurrency: int | None = None,
    uses_slot: NDArray[np.bool_] | None = None,
    critical: bool = True,
) -> SimResult:
    """Replay dispatch over samples.

    `durations` (steps × N) are the sampled work times of steps not yet started;
    `fixed_finish` maps running steps to their sampled finish (from now); `done` steps
    finished already. Times are relative to now. `critical=False` leaves the criticality
    at zero (a third of the time of a 10,000-step plan's forecast).
    """
    n_steps, n = durations.shape
    if n_steps == 0:
        return SimResult(np.zeros(n), np.zeros(0))
    if concurrency is not None and concurrency > 0:
        finish, pred = _limited(graph, durations, fixed_finish, done, concurrency, uses_slot)
        share = _criticality(finish, pred, weights) if critical else np.zeros(n_steps)
        return SimResult(finish.max(axis=0), share)
    finish = _unlimited(graph, durations, fixed_finish, done)
    share = _critical_share(graph, finish, done, weights) if critical else np.zeros(n_steps)
    return SimResult(finish.max(axis=0), share)


def _unlimited(
    graph: Graph,
    durations: FloatArray,
    fixed_finish: Mapping[int, FloatArray],
    done: NDArray[np.bool_],
) -> FloatArray:
    """Finish times when every step starts as soon as its last need is done.

    Wave by wave, each wave's steps at once (their needs are all in earlier waves): the
    same maxima and sums as step by step, in a few numpy calls per wave instead of
    several per step.
    """
    if graph.waves is None or graph.flat is None:
        return _unlimited_in_order(graph, durations, fixed_finish, done)
    finish = np.empty(durations.shape)
    flat = graph.flat
    skip = np.flatnonzero(done)
    for w in graph.waves:
        if w.hi == w.lo:  # no step of this wave needs any
            finish[w.start : w.stop] = durations[w.start : w.stop]
        else:
            ready = np.maximum.reduceat(finish[flat[w.lo : w.hi]], w.starts, axis=0)
            if w.rows is None:
                np.add(ready, durations[w.start : w.stop], out=finish[w.start : w.stop])
            else:
                finish[w.start : w.stop] = durations[w.start : w.stop]
                finish[w.rows] += ready
        # Done steps finished already (at 0); running ones when they were sampled to.
        finish[skip[np.searchsorted(skip, w.start) : np.searchsorted(skip, w.stop)]] = 0.0
        for i, f in fixed_finish.items():
            if w.start <= i < w.stop and not done[i]:
                finish[i] = f
    return finish


def _unlimited_in_order(
    graph: Graph,
    durations: FloatArray,
    fixed_finish: Mapping[int, FloatArray],
    done: NDArray[np.bool_],
) -> FloatArray:
    """`_unlimited` one step at a time, in graph order."""
    finish = np.zeros(durations.shape)
    for i in range(len(finish)):
        if done[i]:
            continue
        f = fixed_finish.get(i)
        if f is not None:
            finish[i] = f
            continue
        ns = graph.needs[i]
        row = finish[i]
        if len(ns) == 0:
            row[:] = durations[i]
            continue
        # In place, need by need: no (needs × N) temporary for a step with many needs.
        np.maximum(finish[ns[0]], finish[ns[-1]], out=row)
        for j in ns[1:-1]:
            np.maximum(row, finish[j], out=row)
        row += durations[i]
    return finish


def _critical_share(
    graph: Graph, finish: FloatArray, done: NDArray[np.bool_], weights: FloatArray
) -> FloatArray:
    """Weighted share of samples in which each step lies on the path that ends last.

    Walked backwards from each sample's last step through the need that finished last;
    only steps critical in some sample are looked at, which is few of them.
    """
    n_steps, n = finish.shape
    cols = np.arange(n)
    last = finish.argmax(axis=0)
    crit = np.zeros((n_steps, n), dtype=bool)
    alive = finish[last, cols] > 0.0
    crit[last[alive], cols[alive]] = True
    for i in range(n_steps - 1, -1, -1):
        ns = graph.needs[i]
        if done[i] or len(ns) == 0 or not crit[i].any():
            continue
        sel = np.flatnonzero(crit[i])
        if len(ns) == 1:
            j = int(ns[0])
            crit[j, sel] |= finish[j, sel] > 0.0
            continue
        sub = finish[np.ix_(ns, sel)]
        arg = sub.argmax(axis=0)  # ties: the first need, as the engine's order
        ok = sub[arg, np.arange(len(sel))] > 0.0
        crit[ns[arg[ok]], sel[ok]] = True
    total = weights.sum()
    out: FloatArray = crit @ weights
    return out / total if total > 0 else out


def _limited(
    graph: Graph,
    durations: FloatArray,
    fixed_finish: Mapping[int, FloatArray],
    done: NDArray[np.bool_],
    concurrency: int,
    uses_slot: NDArray[np.bool_] | None,
) -> tuple[FloatArray, NDArray[np.int64]]:
    """Finish times and critical predecessors with at most `concurrency` steps at once."""
    n_steps, n = durations.shape
    finish = np.zeros((n_steps, n))
    pred = np.full((n_steps, n), -1, dtype=np.int64)
    cols = np.arange(n)
    width = max(concurrency, sum(1 for i in fixed_finish if uses_slot is None or uses_slot[i]))
    slots = np.zeros((n, width))
    slot_owner = np.full((n, width), -1, dtype=np.int64)
    for j, (i, f) in enumerate(sorted(fixed_finish.items())):
        if uses_slot is None or uses_slot[i]:
            slots[:, j] = f
            slot_owner[:, j] = i
    for i in range(n_steps):
        if done[i]:
            continue
        if i in fixed_finish:
            finish[i] = fixed_finish[i]
            continue
        ns = graph.needs[i]
        if len(ns):
            fin = finish[ns]
            arg = fin.argmax(axis=0)
            ready = fin[arg, cols]
            who = np.where(ready > 0.0, ns[arg], -1)
        else:
            ready = np.zeros(n)
            who = np.full(n, -1, dtype=np.int64)
        if uses_slot is None or uses_slot[i]:
            free_by_ready = np.where(slots <= ready[:, None], slots, -np.inf)
            best_fit = free_by_ready.argmax(axis=1)
            earliest = slots.argmin(axis=1)
            slot = np.where(np.isfinite(free_by_ready[cols, best_fit]), best_fit, earliest)
            slot_free = slots[cols, slot]
            waited = slot_free > ready
            ready = np.maximum(ready, slot_free)
            who = np.where(waited, slot_owner[cols, slot], who)
            finish[i] = ready + durations[i]
            slots[cols, slot] = finish[i]
            slot_owner[cols, slot] = i
        else:
            finish[i] = ready + durations[i]
        pred[i] = who
    return finish, pred


def _criticality(finish: FloatArray, pred: NDArray[np.int64], weights: FloatArray) -> FloatArray:
    """Weighted share of samples in which each step lies on the path that ends last."""
    n_steps, n = finish.shape
    counts = np.zeros(n_steps)
    if n_steps == 0:
        return counts
    cur = finish.argmax(axis=0)
    alive = finish[cur, np.arange(n)] > 0.0
    cols = np.arange(n)
    for _ in range(n_steps):
        if not alive.any():
            break
        counts += np.bincount(cur[alive], weights=weights[alive], minlength=n_steps)
        nxt = pred[cur, cols]
        alive &= nxt >= 0
        cur = np.where(alive, nxt, 0)
    total = weights.sum()
    return counts / total if total > 0 else counts

"""How long each command "takes" in a rehearsal: the `--durations` file, else seeded draws.

Only the simulated transport reads these; the forecaster never does, so a rehearsal shows
how the ETA would have behaved live.
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping

from runbook.model import Durations, Playbook, Step


def draw(step: Step, rng: random.Random) -> float:
    """A duration for the whole step from its estimate (triangular on min/likely/max)."""
    e = step.estimate
    if not e.three_point:
        return e.likely_s
    return rng.triangular(e.min_s, e.max_s, e.likely_s)


def waves(step: Step, n: int, forks: int) -> int:
    """How many waves `n` hosts run in: `serial` batches one after the other, each in
    waves of `parallel` (and `--forks`) hosts at once."""
    sizes: list[int] = []
    k = 0
    while sum(sizes) < n:  # as the engine cuts batches: each size in turn, the last repeats
        size = step.serial[min(k, len(step.serial) - 1)].of(n) if step.serial else n
        sizes.append(min(max(1, size), n - sum(sizes)))
        k += 1
    return sum(math.ceil(b / max(1, min(step.parallel or b, forks, b))) for b in sizes)


class RehearsalTimes:
    """How long each step, and each host of a remote step, takes in this rehearsal.

    Draws happen once, up front, in playbook order, so a seed gives the same rehearsal
    whatever the threads do. A whole-step duration is shared out over the waves of
    hosts the step runs in (`parallel`, `--forks`), so the step takes about that long.
    """

    def __init__(
        self,
        playbook: Playbook,
        step_hosts: Mapping[str, tuple[str, ...]],
        durations: Durations,
        seed: int,
        forks: int,
    ) -> None:
        rng = random.Random(seed)
        self._whole: dict[str, float] = {}
        self._per_host_share: dict[str, float] = {}
        self._hosts = durations.hosts
        self._given_steps = set(durations.steps)
        for step in playbook.steps:
            drawn = draw(step, rng)  # drawn even when listed, so the sequence stays stable
            whole = durations.steps.get(step.id, drawn)
            self._whole[step.id] = whole
            n = len(step_hosts.get(step.id, ())) if step.kind == "remote" else 0
            n = min(n, 1) if step.run_once else n
            if n:
                self._per_host_share[step.id] = whole / waves(step, n, forks)

    def given(self, step_id: str, host: str | None) -> bool:
        """Whether the durations file set this one (else it was drawn from the estimate)."""
        return step_id in self._given_steps or (
            host is not None and host in self._hosts.get(step_id, {})
        )

    def step(self, step_id: str) -> float:
        """The whole step's work (manual and local steps)."""
        return self._whole.get(step_id, 0.0)

    def host(self, step_id: str, host: str | None) -> float:
        """One host's work in a remote step (the whole step's work when `host` is None)."""
        if host is None:
            return self.step(step_id)
        listed = self._hosts.get(step_id, {})
        if host in listed:
            return listed[host]
        return self._per_host_share.get(step_id, self.step(step_id))

"""Rehearsal durations: the `--durations` file, and seeded draws from estimates for the rest.

Only the simulated transport reads these; the forecaster never does (SPEC §3), so a
rehearsal shows how the ETA would have behaved live.
"""

from __future__ import annotations

import difflib
import math
import random
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from runbook.durations import parse_duration
from runbook.errors import InputError, Issue
from runbook.load._source import Document, load_yaml
from runbook.model import Playbook, Step


@dataclass(frozen=True)
class Durations:
    """A parsed `--durations` file: whole-step work, or per-host durations."""

    steps: Mapping[str, float] = field(default_factory=dict)
    hosts: Mapping[str, Mapping[str, float]] = field(default_factory=dict)
    path: str | None = None


def _did_you_mean(name: str, choices: list[str]) -> str:
    close = difflib.get_close_matches(name, choices, n=1)
    return f"did you mean '{close[0]}'?" if close else ""


def load_durations(
    path: Path | str, playbook: Playbook, step_hosts: Mapping[str, tuple[str, ...]]
) -> Durations:
    """Read `path`; every unknown step or host and every bad duration is a located issue."""
    doc = load_yaml(path)
    return parse_durations(doc, playbook, step_hosts)


def parse_durations(
    doc: Document, playbook: Playbook, step_hosts: Mapping[str, tuple[str, ...]]
) -> Durations:
    """Validate a loaded durations document against the resolved playbook."""
    data = doc.data
    if data is None:
        return Durations(path=doc.path)
    if not isinstance(data, dict):
        raise InputError(
            [
                Issue(
                    doc.loc(()),
                    "a durations file is a mapping of step ids to durations",
                    "write e.g. `core-switches: 12m` or `core-switches: {sw1: 3m}`",
                )
            ]
        )
    issues: list[Issue] = []
    steps: dict[str, float] = {}
    hosts: dict[str, dict[str, float]] = {}
    kinds = {s.id: s.kind for s in playbook.steps}
    ids = sorted(kinds)
    for key, value in data.items():
        name = str(key)
        if name not in kinds:
            issues.append(
                Issue(doc.key_loc((key,)), f"unknown step '{name}'", _did_you_mean(name, ids))
            )
            continue
        if isinstance(value, dict):
            names = list(step_hosts.get(name, ()))
            if kinds[name] != "remote" or not names:
                issues.append(
                    Issue(
                        doc.loc((key,)),
                        f"step '{name}' runs on no inventory host",
                        "give the whole step's duration instead, e.g. `{name}: 10m`",
                    )
                )
                continue
            per_host: dict[str, float] = {}
            for host_key, d in value.items():
                host = str(host_key)
                if host not in names:
                    issues.append(
                        Issue(
                            doc.key_loc((key, host_key)),
                            f"step '{name}' has no host '{host}'",
                            _did_you_mean(host, names),
                        )
                    )
                    continue
                try:
                    per_host[host] = parse_duration(d)
                except ValueError as e:
                    issues.append(Issue(doc.loc((key, host_key)), str(e)))
            hosts[name] = per_host
            continue
        try:
            steps[name] = parse_duration(value)
        except ValueError as e:
            issues.append(Issue(doc.loc((key,)), str(e)))
    if issues:
        raise InputError(issues)
    return Durations(steps, hosts, doc.path)


def draw(step: Step, rng: random.Random) -> float:
    """A duration for the whole step from its estimate (triangular on min/likely/max)."""
    e = step.estimate
    if not e.three_point:
        return e.likely_s
    return rng.triangular(e.min_s, e.max_s, e.likely_s)


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
            if n:
                width = max(1, min(step.parallel or n, forks, n))
                self._per_host_share[step.id] = whole / math.ceil(n / width)

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

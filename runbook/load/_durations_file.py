"""Rehearsal durations: the `--durations` file, and seeded draws from estimates for the rest.

Only the simulated transport reads these; the forecaster never does (SPEC §3), so a
rehearsal shows how the ETA would have behaved live.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from pathlib import Path

from runbook.durations import parse_duration
from runbook.errors import InputError, Issue
from runbook.load._source import Document, load_yaml
from runbook.model import Durations, Playbook


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
                        f"give the whole step's duration instead, e.g. `{name}: 10m`",
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

"""Worlds where every plan of a team is optimistic, and manual steps wait for people at night.

generate.py's worlds assume plans are right on average and go wrong one way at a time.
Real teams write plans that are all optimistic by a shared factor, and at night a manual
step waits minutes to an hour before anyone picks it up. Here:

- a team's factor F is log-normal, median 1.9× (1.3–2.8× for 95% of teams); each of its
  playbooks departs from it by its own factor (sd 0.15 in log), on top of generate.py's
  per-step offsets (sd 0.3) and run noise (sd 0.25);
- the scored playbook has no runs of its own: the history is 3–6 earlier runs of *other*
  playbooks of the same team (the reference class), as the journal would hold them;
- the team's RTO is its plan's critical path × 1.5–3.5 (some nights miss it, some not);
- the scored night is calm (only the team's factor), except in team-rough.

Worlds:
- team: a calm rehearsal; references are rehearsals of other playbooks.
- team-night: a live night; manual steps wait for an operator (0 with probability 0.25,
  else log-normal, median 6 minutes, sd 1.1: one in ten over 25 minutes, a few over an
  hour); references are two live nights (with their waits) and rehearsals.
- team-cold: a rehearsal with nothing in the journal at all (the team's first playbook).
- team-rough: team-night, but the night is, by seed, one of generate.py's four: calm,
  everything a further 1.8× slower, one phase 3× slower, or 3% of the steps stuck 6–12×
  (the earlier runs in the history are calm ones).
- wide: nothing in the journal and a plan optimistic by anything from 1.1× to 4×
  (log-uniform: no team's centre to learn), a calm rehearsal. Added in session 6 to
  stand in for plans written apart from this bench: the cold prior's centre is wrong by
  up to 2.7× either way, and only the night's first steps can tell.
- team-phases: team, but each phase of the team's playbooks has its own optimism on top
  of the team's (log-normal, sd 0.35: storage may always take 2× what its estimates
  say, sign-off be right), the same in every playbook of the team; live, with waits.
- wide-rough: wide, but a live night with operator waits, calm / 1.8× slower / one phase
  3× / 3% stuck by seed as in team-rough.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from typing import Any

from generate import PHASES, REGIMES, RUN_NOISE_SD, Case, _critical, playbook
from simrun import plan_of

from runbook.forecast._model import History
from runbook.forecast._reference import ReferenceRun, reference_run

WORLDS = ("team", "team-night", "team-cold", "team-rough", "wide", "wide-rough", "team-phases")
PHASE_LOG_SD = 0.35  # team-phases: each phase's own optimism
WIDE_FACTOR = (1.1, 4.0)  # the wide worlds' plan optimism, log-uniform between
TEAM_LOG_FACTOR = (math.log(1.9), 0.2)
PLAYBOOK_SD = 0.15
WAIT_ZERO = 0.25
WAIT_LOG = (math.log(360.0), 1.1)
WAIT_MAX_S = 3 * 3600.0


@dataclass(frozen=True)
class TeamCase(Case):
    """A Case with the night's operator waits, the run's mode and the reference history."""

    waits: dict[str, float] = field(default_factory=dict)
    mode: str = "rehearsal"
    hist: History = field(default_factory=History)
    # the other playbooks' rehearsals (playbook, durations), for the CLI path to rehearse
    # into the same state file first; live nights cannot be rehearsed (in-process only)
    others: list[tuple[dict[str, Any], dict[str, float]]] = field(default_factory=list)


def _waits(rng: random.Random, book: dict[str, Any]) -> dict[str, float]:
    out = {}
    for s in book["steps"]:
        if "manual" in s:
            zero = rng.random() < WAIT_ZERO
            out[s["id"]] = 0.0 if zero else min(math.exp(rng.gauss(*WAIT_LOG)), WAIT_MAX_S)
    return out


def _run(
    rng: random.Random,
    medians: dict[str, float],
    factor: float,
    phase: dict[str, float] | None = None,
) -> dict[str, float]:
    """Durations of one run; `phase`: each phase's own factor (step ids start with it)."""
    return {
        s: round(
            max(
                m
                * factor
                * (phase or {}).get(s.rsplit("-", 1)[0], 1.0)
                * math.exp(rng.gauss(0.0, RUN_NOISE_SD)),
                5.0,
            ),
            1,
        )
        for s, m in medians.items()
    }


def _night(
    rng: random.Random, book: dict[str, Any], truth: dict[str, float], night: str
) -> dict[str, float]:  # fmt: skip
    """generate.py's regimes on top of the team's calm durations."""
    phase_of = {s["id"]: s["phase"] for s in book["steps"]}
    slow_phase = rng.choice(PHASES[1:8])
    ids = sorted(truth)
    stuck = set(rng.sample(ids, k=max(1, len(ids) // 30))) if night == "stuck" else set()
    out = {}
    for sid in ids:
        d = truth[sid]
        if night == "slower":
            d *= 1.8
        elif night == "phase-slow" and phase_of[sid] == slow_phase:
            d *= 3.0
        elif sid in stuck:
            d *= rng.uniform(6.0, 12.0)
        out[sid] = round(d, 1)
    return out


def case(n_steps: int, world: str, seed: int) -> TeamCase:
    """The scored run of a playbook of team `seed`, with its team's other runs as history."""
    rng = random.Random(seed * 104_729 + WORLDS.index(world))
    team = math.exp(rng.gauss(*TEAM_LOG_FACTOR))
    if world.startswith("wide"):
        team = math.exp(rng.uniform(*(math.log(f) for f in WIDE_FACTOR)))
    phases = (
        {p: math.exp(rng.gauss(0.0, PHASE_LOG_SD)) for p in PHASES}
        if world == "team-phases"
        else None
    )
    refs: list[ReferenceRun] = []
    others: list[tuple[dict[str, Any], dict[str, float]]] = []
    if world not in ("team-cold", "wide", "wide-rough"):
        modes = ["live", "live"] if world in ("team-night", "team-rough", "team-phases") else []
        modes += ["rehearsal"] * rng.randint(2, 4)
        for k, mode in enumerate(modes):
            other, medians = playbook(rng.choice([20, 40, 60]), 10_000 + seed * 10 + k)
            factor = team * math.exp(rng.gauss(0.0, PLAYBOOK_SD))
            durations = _run(rng, medians, factor, phases)
            waits = list(_waits(rng, other).values()) if mode == "live" else []
            ref = reference_run(f"ref{k}", mode, plan_of(other), durations, waits)
            if ref is not None:
                refs.append(ref)
            if mode == "rehearsal":
                other["playbook"] = f"team{seed}-other{k}"
                others.append((other, durations))
    book, medians = playbook(n_steps, seed)
    factor = team * math.exp(rng.gauss(0.0, PLAYBOOK_SD))
    rough = world in ("team-rough", "wide-rough")
    night = REGIMES[seed % len(REGIMES)] if rough else "on-plan"
    truth = _night(rng, book, _run(rng, medians, factor, phases), night)
    live = world in ("team-night", "team-rough", "wide-rough", "team-phases")
    waits = _waits(rng, book) if live else {}
    likely = {s["id"]: s["estimate"]["likely_s"] for s in plan_of(book)["steps"]}
    plan_cp = _critical(book, likely)
    book["rto"] = f"{int(plan_cp * rng.uniform(1.5, 3.5))}s"
    mode = "live" if live else "rehearsal"
    return TeamCase(
        f"{n_steps}-{world}-{seed}",
        book,
        truth,
        [],
        world,
        waits=waits,
        mode=mode,
        hist=History((), tuple(refs)),
        others=others,
    )

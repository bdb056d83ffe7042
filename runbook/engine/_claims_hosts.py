"""Team mode, host by host: the hosts of other engines' steps this engine claims and runs,
and the host work it follows (runbook/engine/_away.py runs it; docs/team-mode.md).

Read from every event as it is folded:
- `engine_joined`: each engine's reach (its `join --limit` hosts; none: every host);
- `host_offered`: a host of another engine's step that the step's claimant does not
  reach; an engine that reaches it claims it (`work_claimed` with `host`), then runs it;
- `work_claimed` with `host`, until the host's end (`host_succeeded`, `host_failed`,
  `host_cancelled`, `host_not_started`): host work in flight somewhere; every engine
  stays open while some is;
- news about the step itself (an attempt began or ended, the step was claimed again):
  the offers made before it are void.

A host whose engine is gone (it left, or its lease expired and it was ended) is taken
over by a live engine that reaches it, as a step is (SPEC §4): that engine's commands
there are ended first; `run` in flight is re-run only if `idempotent`, else `skip_if`
or `verify` decide, else the host fails as `uncertain` (its claimant then fails the
step without a retry: an operator decides).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from runbook.engine import _away as away
from runbook.engine._recovery import StepResume, host_way_back
from runbook.engine._table import StepRun

if TYPE_CHECKING:
    from runbook.engine._core import RunCore
    from runbook.events import Event, RunState

HOST_ENDS = frozenset({"host_succeeded", "host_failed", "host_cancelled", "host_not_started"})
STEP_NEWS = frozenset(
    {"step_started", "step_retrying", "step_succeeded", "step_failed", "step_skipped"}
)
FINISHED = frozenset({"succeeded", "skipped", "failed", "blocked"})
Key = tuple[str, str]  # (step, host)
DEFER_S = 2.0  # how long a step waits for the engine reaching most of its hosts (real time)


class HostShare:
    """Team's host-level half (a mixin of engine/_claims.py's Team)."""

    journal: Any
    run_id: str
    me: str
    reach: frozenset[str] | None
    claimant: dict[str, str | None]
    gone: set[str]
    live: list[str]
    end_orphans: Any
    folded: Callable[[], int]

    def init_hosts(self) -> None:
        self.reach_of: dict[str, frozenset[str] | None] = {self.me: self.reach}
        # offers this engine may claim: attempt, mode, and the seq it was refused at
        self.offers: dict[Key, tuple[int, str, int]] = {}
        self.host_work: dict[Key, tuple[str, int]] = {}  # claimed hosts: engine, attempt
        # (step, its claimant gone or None) -> when it was first left to another engine
        self.deferred: dict[tuple[str, str | None], float] = {}

    def reaches(self, host: str | None) -> bool:
        """Whether this engine runs `host` itself (None: the control machine)."""
        return host is None or self.reach is None or host in self.reach

    def all_reached(self, run: StepRun) -> bool:
        """Whether the live engines together reach every host of the step."""
        live = {*self.live, self.me}
        reaches = [r for e, r in self.reach_of.items() if e in live and e not in self.gone]
        return all(any(r is None or h in r for r in reaches) for h in run.plan.hosts)

    def waits(self, run: StepRun) -> bool:
        """A step of which this engine reaches some hosts, not claimed yet: while no live
        engine reaches the others, or while another live engine reaches more of them (it
        claims the step first, and this one the hosts it is offered; unless that one has
        not claimed it within DEFER_S, being busy: then this one does)."""
        if run.plan.kind != "remote" or self.reach is None:
            return False
        hosts = run.plan.hosts
        mine = sum(1 for h in hosts if h in self.reach)
        if not mine:
            return False
        if not self.all_reached(run):
            return True
        live = set(self.live) - self.gone - {self.me}
        better = any(
            (len(hosts) if r is None else sum(1 for h in hosts if h in r)) > mine
            for e, r in self.reach_of.items()
            if e in live
        )
        now = time.monotonic()
        key = (run.id, self.claimant.get(run.id))  # a claim, or a takeover from that one
        return better and now < self.deferred.setdefault(key, now) + DEFER_S

    def hosts_open(self) -> bool:
        """Host work runs somewhere, or an offer waits for this engine."""
        return bool(self.host_work) or bool(self.offers)

    def my_hosts(self) -> list[list[str]]:
        """The hosts this engine claimed and has not finished: released as it leaves."""
        return [[s, h] for (s, h), (e, _) in sorted(self.host_work.items()) if e == self.me]

    # -- the journal ----------------------------------------------------------------------

    def note_host(self, e: Event) -> bool:
        """Track offers and host work; True for a host's end (its step's claimant counts
        an offered host's result)."""
        t, step, host, d = e.type, e.step, e.host, e.data
        if t == "engine_joined" and d.get("engine"):
            r, engine = d.get("reach"), str(d["engine"])
            self.reach_of[engine] = frozenset(r) if isinstance(r, list) else None
            if engine not in self.live:  # live from now (the list is read again each CHECK_S)
                self.live = sorted([*self.live, engine])
            return False
        if step is None:
            return False
        got = d.get("attempt")
        attempt = got if isinstance(got, int) else 0
        if t == "host_offered" and host is not None:
            if self.claimant.get(step) != self.me and self.reaches(host):
                self.offers[(step, host)] = (attempt, str(d.get("mode") or "normal"), 0)
        elif t == "work_claimed" and host is not None:
            self.offers.pop((step, host), None)
            self.host_work[(step, host)] = (str(d.get("engine") or ""), attempt)
        elif t in HOST_ENDS and host is not None:
            self.offers.pop((step, host), None)
            self.host_work.pop((step, host), None)
            return t in ("host_succeeded", "host_failed")
        elif t in STEP_NEWS or t == "work_claimed":
            for key in [k for k in self.offers if k[0] == step]:
                del self.offers[key]
        return False

    def react_host(self, core: RunCore, run: StepRun, e: Event) -> bool:
        """A host's end: counted if this engine offered it. True: nothing more to do."""
        if e.type not in HOST_ENDS:
            return False
        if (
            e.host in run.away
            and run.status == "running"
            and e.data.get("attempt") == run.attempt
            and e.type in ("host_succeeded", "host_failed")
        ):
            away.away_done(core, run, e)
        return True

    # -- claims ---------------------------------------------------------------------------

    def tick_hosts(self, core: RunCore, state: RunState) -> None:
        """Claim the offers this engine reaches; take over the hosts of engines gone."""
        seen = self.folded()
        for key, (attempt, mode, refused_at) in sorted(self.offers.items()):
            run = core.table.get(key[0])
            if run is None or run.status != "elsewhere" or (refused_at and seen <= refused_at):
                continue
            got = self.journal.claim_step(
                self.run_id, key[0], seen, extra={"attempt": attempt}, host=key[1]
            )
            if isinstance(got, int):
                self.offers.pop(key, None)
                self.host_work[key] = (self.me, attempt)
                away.run_guest(core, run, key[1], attempt, mode)
            elif got in ("stale", "busy"):  # fold the news first (or try again)
                self.offers[key] = (attempt, mode, seen if got == "stale" else 0)
            else:
                self.offers.pop(key, None)  # another engine runs it
        for key, (who, attempt) in sorted(self.host_work.items()):
            if who not in self.gone:
                continue
            run = core.table.get(key[0])
            if run is None or run.status in FINISHED:
                del self.host_work[key]  # its step is decided: that host's end means nothing
            elif (
                self.reaches(key[1])
                and self.claimant.get(run.id) not in self.gone
                and (run.status == "elsewhere" or key[1] in run.away)
            ):
                self._take_host(core, state, run, key[1], who, attempt)

    def _take_host(
        self, core: RunCore, state: RunState, run: StepRun, host: str, who: str, attempt: int
    ) -> None:
        mode, decision = host_way_back(state, run.step, run.id, host)
        data: dict[str, Any] = {"attempt": attempt, "decision": decision}
        st = state.steps.get(run.id)
        hs = st.host_states.get(host) if st is not None else None
        if hs is not None and hs.in_flight and self.end_orphans is not None:
            killed = self.end_orphans(who, run.id, {host})  # before the host goes on here
            if killed:
                data["orphans_killed"] = killed
        got = self.journal.claim_step(
            self.run_id, run.id, self.folded(), source=who, extra=data, host=host
        )
        if not isinstance(got, int):
            return  # its engine is still leaving, or another engine took it: next turn
        self.host_work[(run.id, host)] = (self.me, attempt)
        if decision == "ask":
            away.uncertain_host(core, run, host, attempt, who)  # the claimant counts it
            return
        run.away.discard(host)  # the step's claimant runs it itself now, if it is this one
        away.run_guest(core, run, host, attempt, mode)

    def keep_away(self, sid: str, r: StepResume) -> set[str | None]:
        """A step taken over: its hosts that live engines claimed for the attempt in
        flight stay theirs (neither re-run nor uncertain here); the rest go on as usual."""
        held = {
            h: e
            for (s, h), (e, a) in self.host_work.items()
            if s == sid and e not in self.gone and a == r.attempt
        }
        if held:  # this engine's own run on as guest jobs, already active here
            r.todo = [h for h in r.todo if h not in held]
            r.uncertain = [h for h in r.uncertain if h not in held]
            for h in held:
                r.modes.pop(h, None)
            if r.decision is not None and not r.uncertain:
                r.decision = "rerun"
        return {h for h, e in held.items() if e != self.me}

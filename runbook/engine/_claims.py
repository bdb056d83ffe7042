"""This engine's share of a team-mode run: claims, the other engines' steps, takeovers.

Several live engines work on one run (PostgreSQL, `runbook join`). Each claims a ready
step before it starts it (runbook/journal/_pg_claims.py: one transaction, journaled as
`work_claimed`); a step another engine claimed is `elsewhere` here: this engine starts
nothing of it, stays open while it runs, and folds its claimant's events like an
operator's decisions (the loop polls the journal; an idle engine is woken by NOTIFY):
its `step_succeeded` lets its dependents become ready here too, its `step_failed` blocks
them. A claim refused because the journal holds news about the step is tried again once
the news is folded.

Hosts: a step whose hosts are split over the engines' reaches goes to an engine that
reaches at least one of them, while the live engines together reach them all; the
hosts it does not reach are offered and claimed one by one by engines that do
(runbook/engine/_away.py, _claims_hosts.py).

Takeover: every CHECK_S, an engine ends the other engines whose lease expired (each
journaled `engine_left`); an unfinished step whose claimant left or was ended is claimed
again (`work_claimed` naming `from`) and handled as after a crash (§4): the commands
that engine left on this machine are ended, then an in-flight step is re-run only if
idempotent, else `skip_if` / `verify` decide, else an operator.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Collection, Iterable, Sequence
from typing import TYPE_CHECKING, Any

from runbook.engine._claims_hosts import HostShare
from runbook.engine._recovery import StepResume, analyse
from runbook.engine._start import FINISHED, adopt
from runbook.engine._table import StepRun
from runbook.errors import StateError
from runbook.events import Event, RunState

if TYPE_CHECKING:
    from runbook.engine._core import RunCore

CHECK_S = 1.0  # how often the other engines' leases are looked at (real time)
# Events about other engines' work that move this engine's table.
TEAM_TYPES = frozenset({"work_claimed", "engine_left", "step_succeeded", "step_failed"})
IN_FLIGHT = frozenset({"running", "retry", "waiting"})

# End a gone engine's commands of a step (on those of its hosts, when given).
Orphans = Callable[[str, str, Collection[str] | None], list[dict[str, Any]]]


class Team(HostShare):
    """Claims for one engine on one run; `journal` is a PostgresJournal holding its lease."""

    def __init__(
        self,
        journal: Any,
        run_id: str,
        events: Iterable[Event],
        *,
        no_local: bool = False,
        reach: frozenset[str] | None = None,
        end_orphans: Orphans | None = None,
    ) -> None:
        self.journal = journal
        self.run_id = run_id
        self.me: str = journal.engine
        self.no_local = no_local
        self.reach = reach  # hosts this engine may run (join --limit); None: all
        self.end_orphans = end_orphans
        # The last seq whose event the engine has acted on (set by the engine): a claim
        # is refused while the journal holds news about the step after it.
        self.folded: Callable[[], int] = lambda: 0
        self.claimant: dict[str, str | None] = {}  # step -> who claimed it last
        self.gone: set[str] = set()  # engines that left or were ended
        self.recheck: set[str] = set()  # claims refused for news: try once it is folded
        self.live: list[str] = journal.live_engines(run_id) or [self.me]
        self._next_check = 0.0
        self.init_hosts()
        for e in events:
            self.note(e)

    # -- what the core asks ---------------------------------------------------------------

    def may_take(self, run: StepRun) -> bool:
        """Whether this engine may claim the step (--no-local; join --limit: it reaches
        one of its hosts at least, and the live engines together reach them all)."""
        if run.plan.kind == "local":
            return not self.no_local
        if run.plan.kind == "remote" and self.reach is not None:
            return any(h in self.reach for h in run.plan.hosts) and self.all_reached(run)
        return True

    def take(self, core: RunCore, run: StepRun) -> bool:
        """Claim a ready step before starting it; False leaves it to another engine."""
        if self.waits(run):  # for an engine reaching the rest, or reaching more of them
            core.table.set(run, "pending")
            self.recheck.add(run.id)
            return False
        if not self.may_take(run):
            core.table.set(run, "elsewhere")
            self.claimant.setdefault(run.id, None)
            return False
        got = self.journal.claim_step(self.run_id, run.id, self.folded())
        if isinstance(got, int):
            self.claimant[run.id] = self.me
            return True
        if got in ("stale", "busy"):
            core.table.set(run, "pending")
            self.recheck.add(run.id)
        else:
            core.table.set(run, "elsewhere")
            self.claimant[run.id] = got
        return False

    def holds_open(self, core: RunCore) -> bool:
        """Other engines' steps or hosts run, or a claim waits to be tried again."""
        return core.table.elsewhere > 0 or bool(self.recheck) or self.hosts_open()

    @property
    def writes_eta(self) -> bool:
        """One engine at a time forecasts: the live one with the lowest id."""
        return not self.live or self.live[0] == self.me

    # -- the journal ----------------------------------------------------------------------

    def note(self, e: Event) -> bool:
        """Who claimed what, who left: read from every event as it is folded. True: the
        event moves this engine's table (`react` gets it once the turn reaches it)."""
        if e.type == "work_claimed" and e.step and e.host is None:
            self.claimant[e.step] = str(e.data.get("engine") or "")
        elif e.type == "engine_left" and e.data.get("engine"):
            self.gone.add(str(e.data["engine"]))
            self.live = [x for x in self.live if x != e.data["engine"]] or [self.me]
        return self.note_host(e) or e.type in TEAM_TYPES

    def react(self, core: RunCore, e: Event) -> None:
        """Another engine's step moved: follow it here (a step `elsewhere` only)."""
        run = core.table.get(e.step or "")
        if run is None or self.react_host(core, run, e):
            return
        if e.type == "work_claimed" and e.data.get("engine") != self.me:
            if run.status in ("pending", "ready", "elsewhere"):
                core.table.set(run, "elsewhere")
                self.recheck.discard(run.id)
            return
        if run.status != "elsewhere":
            return
        if e.type == "step_succeeded":
            core.succeed(run)
        elif e.type == "step_failed":
            core.table.set(run, "failed")
            if e.data.get("tolerated"):
                run.tolerated = True
                core.table.release(run.id)
            else:  # its claimant journaled the blocks; `abort` stops this engine too
                core.aborting = core.aborting or run.plan.on_failure == "abort"
                core.table.block_from(run.id)

    def tick(self, core: RunCore, state: RunState) -> None:
        """After the turn's news is folded: claims to try again, engines gone, takeovers."""
        for sid in sorted(self.recheck):
            run = core.table[sid]
            if run.status == "pending":
                core.table.ready_if_free(run)
        self.recheck.clear()
        now = time.monotonic()
        if now >= self._next_check:
            self._next_check = now + CHECK_S
            self.journal.end_expired(self.run_id)  # its engine_left is folded next turn
            self.live = self.journal.live_engines(self.run_id) or [self.me]
        if core.stopping or core.aborting:
            return
        for run in core.table.in_order():
            who = self.claimant.get(run.id)
            if (
                run.status == "elsewhere"
                and who in self.gone
                and self.may_take(run)
                and not self.waits(run)
            ):
                self._take_over(core, state, run, str(who))
        self.tick_hosts(core, state)

    def _take_over(self, core: RunCore, state: RunState, run: StepRun, who: str) -> None:
        r = analyse(state, (), {run.id: run.step})[run.id]
        away = self.keep_away(run.id, r)  # hosts another live engine runs: theirs
        data: dict[str, Any] = {"decision": r.decision} if r.decision else {}
        if r.status in IN_FLIGHT and self.end_orphans is not None:
            # before its step goes on here; on the hosts this engine reaches, not theirs
            mine = None if self.reach is None else self.reach - {h for h in away if h}
            killed = self.end_orphans(who, run.id, mine)
            if killed:
                data["orphans_killed"] = killed
        seen = self.folded()
        got = self.journal.claim_step(self.run_id, run.id, seen, source=who, extra=data)
        if not isinstance(got, int):
            return  # its engine is still leaving, or another engine took it: next turn
        self.claimant[run.id] = self.me
        run.away = away
        started = state.steps[run.id].started if run.id in state.steps else None
        adopt(core, run, r, started)

    def adopt_all(self, resume: dict[str, StepResume]) -> None:
        """`resume`: this engine alone takes over every step in flight (claims first)."""
        for sid, r in sorted(resume.items()):
            if r.status in IN_FLIGHT:
                who = self.claimant.get(sid) or "a previous engine"
                got = self.journal.claim_step(self.run_id, sid, self.folded(), source=who)
                if not isinstance(got, int):  # an engine that joined at this very moment
                    by = "another engine" if got in ("stale", "busy") else f"engine {got}"
                    raise StateError(
                        f"step {sid} of run {self.run_id} was just taken over by {by}, "
                        f"started at the same moment; work beside it: runbook join "
                        f"{self.run_id}"
                    )

    def leave(self, core: RunCore, reason: str) -> list[Event]:
        """Ctrl-C: leave the run to the engines still on it (`engine_left`, `released`:
        they take this engine's unfinished work over at once), or, the last one, end it
        (`run_interrupted`): decided under the run's lock (runbook/journal/_pg_team.py)."""
        mine = [r.id for r in core.table.in_order() if self.claimant.get(r.id) == self.me]
        unfinished = [s for s in mine if core.table[s].status not in FINISHED]
        hosts = self.my_hosts()
        extra = {"released_hosts": hosts} if hosts else {}
        left = {"engine": self.me, "reason": reason, "released": unfinished, **extra}
        got: list[Event] = self.journal.leave(self.run_id, left, {"reason": reason})
        return got

    def finish(self, append: Callable[[], Sequence[Event]]) -> Sequence[Event]:
        """The run's end, written once: the first engine to see it writes it."""
        try:
            return append()
        except StateError:
            return ()  # another engine wrote it first: the same end, seen there too

"""Picking an interrupted run up where the journal says it stopped (SPEC §4: crash safety).

runbook/engine/_recovery.py decides, per step and host, from the journal alone; this layer turns
those decisions into engine state: finished steps stay finished, failed ones block their
dependents again, in-flight ones continue their attempt (or ask an operator first).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping, Sequence
from typing import Any

from runbook.engine._attempt import Finished
from runbook.engine._core import DONE_OK, StepRun
from runbook.engine._operators import OperatorReactions
from runbook.engine._recovery import StepResume


class ResumingEngine(OperatorReactions):
    """Starts a run from its journal instead of from nothing."""

    def start_resumed(
        self, resume: Mapping[str, StepResume], orphans: Sequence[Mapping[str, Any]] = ()
    ) -> None:
        """An interrupted run: journal `run_resumed`, then pick every step up where it was.

        `orphans` are the commands of the previous engine found still running and killed
        before deciding (runbook/executors/_orphans.py); the journal says so.
        """
        in_flight = sorted(s for s, r in resume.items() if r.status in ("running", "retry"))
        decisions = {s: r.decision for s, r in sorted(resume.items()) if r.decision}
        extra: dict[str, Any] = {"orphans_killed": list(orphans)} if orphans else {}
        operator = self.options.operator
        self._emit(
            "run_resumed", operator=operator, in_flight=in_flight, decisions=decisions, **extra
        )
        for sid, r in resume.items():
            run = self.runs.get(sid)
            if run is None:
                continue
            run.attempt, run.failures, run.hosts_ok = r.attempt, r.failures, set(r.hosts_ok)
            run.started = self.state.steps[sid].started if sid in self.state.steps else None
            run.status = r.status if r.status in (*DONE_OK, "failed", "waiting") else "pending"
            if r.status == "blocked":
                run.status, run.blocked_by = "blocked", set(r.blocked_by)
                for root in r.blocked_by:
                    self._blocked_index.setdefault(root, set()).add(sid)
            elif r.status in ("running", "retry"):
                run.status = "resuming"
        for run in self.runs.values():
            run.unmet = sum(1 for n in run.plan.needs if self.runs[n].status not in DONE_OK)
        order = sorted(self.runs, key=lambda sid: self._order[sid])
        for sid in order:
            if self.runs[sid].status == "failed":
                self._block_from(sid)
        for sid in order:
            run = self.runs[sid]
            if run.status == "pending" and run.unmet == 0:
                self._make_ready(run)
            elif run.status == "waiting":
                self._await_manual(run)
            elif run.status == "resuming" and sid in resume:
                self._resume_in_flight(run, resume[sid])

    def _resume_in_flight(self, run: StepRun, r: StepResume) -> None:
        if r.status == "retry":
            self._begin_attempt(run)
            return
        run.status = "running"
        run.failed = {h: Finished(False, reason=a, message=b) for h, (a, b) in r.failed.items()}
        run.todo = deque(r.todo)
        run.modes = dict(r.modes)
        if r.decision == "ask" and r.uncertain:
            run.uncertain = list(r.uncertain)
            if self.asker is None:
                reason = "interrupted: needs an operator decision"
                self._fail(run, reason, self._uncertain(run))
                return
            run.status = "ask"
            where = ", ".join(h or "the control machine" for h in run.uncertain)
            self._ask(run, "resume", f"`run` was in progress on {where} when the engine stopped")
            return
        self._pump_hosts(run)

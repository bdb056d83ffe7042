"""Operator reactions: answers from this terminal, and decisions journaled from any other.

This terminal's answers (manual prompt, `--step` gate, resume question) arrive through
`Engine.answer` from the prompt thread; `confirm`, `claim`, `retry`, `skip` and `expect`
from other terminals arrive as journal events the engine polls. Either way the engine
thread reacts, so there is one place where a step's fate changes.
"""

from __future__ import annotations

from runbook.engine._core import DONE_OK, StepRun
from runbook.engine._steps import StepRunner
from runbook.events import Event


class OperatorReactions(StepRunner):
    """What people decide, turned into transitions."""

    def answer(self, step: str, choice: str, note: str = "", operator: str | None = None) -> None:
        """An operator's answer to a Question (any thread)."""
        self._answers.put((step, choice, note, operator))

    def _take_answers(self) -> None:
        while not self._answers.empty():
            sid, choice, note, operator = self._answers.get()
            q = self._questions.get(sid)
            run = self.runs.get(sid)
            if q is None or run is None:
                continue
            who = operator or self.options.operator
            if q.kind == "manual":
                self._answer_manual(sid, choice, note, who)
            elif q.kind == "gate":
                self._questions.pop(sid, None)
                self._gate_answer(run, choice, note, who)
            else:
                self._questions.pop(sid, None)
                self._resume_answer(run, choice, note, who)

    def _gate_answer(self, run: StepRun, choice: str, note: str, operator: str) -> None:
        if run.status != "gate":
            return
        if choice == "run":
            run.gate_passed = True
            self._begin_attempt(run)
        elif choice == "skip":
            self._skip(run, operator, note)
        else:
            run.status = "pending"
            self._aborting = True

    def _resume_answer(self, run: StepRun, choice: str, note: str, operator: str) -> None:
        if run.status != "ask":
            return
        if choice == "rerun":
            for host in run.todo:
                run.modes[host] = "normal"
            run.status = "running"
            self._pump_hosts(run)
        elif choice == "skip":
            self._skip(run, operator, note)
        else:
            self._fail(run, "interrupted: the operator marked it failed", self._uncertain(run))

    def _uncertain(self, run: StepRun) -> list[str]:
        return sorted(h or "localhost" for h in run.uncertain)

    def _react(self, e: Event) -> None:
        """An event that may come from another terminal: claim, answer, retry, skip, expect."""
        sid = e.step or ""
        run = self.runs.get(sid)
        if run is None:
            return
        if e.type == "manual_claimed":
            self._withdraw(sid, f"claimed by {e.data.get('operator') or 'someone'}")
        elif e.type == "manual_answered":
            self._manual_answered(run, e)
        elif e.type == "operator_retry":
            self._operator_retry(run)
        elif e.type == "step_skipped" and run.status not in DONE_OK:
            self._operator_skip(run)

    def _manual_answered(self, run: StepRun, e: Event) -> None:
        if run.status != "waiting":
            return
        sid = run.plan.id
        d = e.data
        answer = str(d.get("answer") or "done")
        who = d.get("operator")
        self._withdraw(sid, f"answered {answer} by {who or 'someone'}")
        duration = float(d.get("wait_s") or 0.0) + float(d.get("work_s") or 0.0)
        if answer == "done":
            self._emit("step_succeeded", step=sid, duration_s=duration, attempts=run.attempt)
            run.status = "succeeded"
            self._release(sid)
        elif answer == "skip":
            self._emit(
                "step_skipped", step=sid, reason="operator", operator=who, note=d.get("note")
            )
            run.status = "skipped"
            self._release(sid)
        else:
            note = d.get("note")
            self._fail(run, f"operator: {note}" if note else "operator: failed", [])

    def _operator_retry(self, run: StepRun) -> None:
        if run.status not in ("failed", "blocked"):
            return
        sid = run.plan.id
        for root in run.blocked_by:
            self._blocked_index.get(root, set()).discard(sid)
        run.blocked_by.clear()
        run.status = "pending"
        run.failures = 0
        run.failed.clear()
        self._unblock(sid)
        if run.unmet == 0:
            self._make_ready(run)

    def _operator_skip(self, run: StepRun) -> None:
        """Another terminal skipped the step: stop whatever it was doing, count it done."""
        sid = run.plan.id
        self._withdraw(sid, "skipped by an operator")
        for job in run.active.values():
            job.done = True
            job.cancel.set()
        run.active.clear()
        run.todo.clear()
        for root in run.blocked_by:
            self._blocked_index.get(root, set()).discard(sid)
        run.blocked_by.clear()
        run.status = "skipped"
        self._release(sid)

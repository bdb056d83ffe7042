"""One host's attempt at a step: `skip_if → copy → run → until → verify → fetch`, as a pure
state machine.

The engine asks `begin()` what to do first and feeds every command result to `after()`;
the answer is the next command, a time to poll `until` again, or the end of the attempt.
No clock, no threads, no I/O: the same sequence runs live and in rehearsals.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from runbook.durations import format_duration
from runbook.executors import Action, CommandResult, Commands

# normal: the whole sequence. verify_only: after a crash during `run`, only `verify` decides.
# after_run: after a crash once `run` had succeeded (during `until`/`verify`): go on from there.
Mode = Literal["normal", "verify_only", "after_run"]


@dataclass(frozen=True)
class RunCommand:
    """Run `action`'s command with at most `timeout_s`."""

    action: Action
    command: str
    timeout_s: float


@dataclass(frozen=True)
class PollLater:
    """`until` failed: run it again at `at`."""

    at: float


@dataclass(frozen=True)
class Finished:
    """The attempt is over for this host."""

    ok: bool
    skipped: bool = False  # skip_if said the work was already done
    reason: str = ""  # host_failed.reason: exit, timeout, refused, unreachable, ...
    exit_code: int | None = None
    message: str = ""


Next = RunCommand | PollLater | Finished


class HostAttempt:
    """The sequence for one host and one attempt, bounded by the step's per-attempt timeout."""

    def __init__(
        self,
        commands: Commands,
        *,
        started: float,
        timeout_s: float,
        every_s: float,
        mode: Mode = "normal",
    ) -> None:
        self.commands = commands
        self.started = started
        self.timeout_s = timeout_s
        self.deadline = started + timeout_s
        self.every_s = max(every_s, 0.01)
        self.mode = mode

    def begin(self, now: float) -> Next:
        """The first thing to do."""
        if self.mode == "verify_only":
            if self.commands.verify is None:
                return Finished(False, reason="error", message="no verify command")
            return self._command("verify", now)
        if self.mode == "after_run":
            return self._from("until", now)
        if self.commands.skip_if is not None:
            return self._command("skip_if", now)
        return self._from("copy", now)

    def restart(self, now: float) -> None:
        """Start the attempt's clock now (its first command got a slot only now)."""
        self.started = now
        self.deadline = now + self.timeout_s

    def remaining(self, now: float) -> float:
        """Seconds left of the attempt's timeout."""
        return self.deadline - now

    def poll(self, now: float) -> Next:
        """A PollLater came due."""
        return self._command("until", now)

    def after(self, action: Action, result: CommandResult, now: float) -> Next:
        """What follows `action` ending with `result`."""
        if result.error is not None:
            return Finished(False, reason=result.error.kind, message=f"{action}: {result.error}")
        if result.timed_out:
            return self._timeout(action)
        if action == "skip_if":
            if result.ok:
                return Finished(True, skipped=True, message="skip_if: already done")
            return self._from("copy", now)
        if action == "copy":
            return self._from("run", now) if result.ok else self._exit_failure(action, result)
        if action == "run":
            if result.ok:
                return self._from("until", now)
            return self._exit_failure(action, result)
        if action == "until":
            if result.ok:
                return self._from("verify", now)
            if result.exit_code is None:
                return self._exit_failure(action, result)
            if now + self.every_s >= self.deadline:
                return Finished(
                    False,
                    reason="timeout",
                    exit_code=result.exit_code,
                    message=f"until: still failing after {format_duration(self.timeout_s)}",
                )
            return PollLater(now + self.every_s)
        if action == "fetch":
            return Finished(True) if result.ok else self._exit_failure(action, result)
        if result.ok:
            return self._from("fetch", now)
        if self.mode == "verify_only":
            return Finished(
                False,
                reason="exit",
                exit_code=result.exit_code,
                message="verify failed after an interrupted run: needs an operator decision",
            )
        return self._exit_failure(action, result)

    def _from(self, action: Action, now: float) -> Next:
        """The first of `action` and the ones after it that the step has."""
        order: tuple[Action, ...] = ("copy", "run", "until", "verify", "fetch")
        for a in order[order.index(action) :]:
            if self.commands.get(a) is not None:
                return self._command(a, now)
        return Finished(True)

    def _command(self, action: Action, now: float) -> Next:
        remaining = self.deadline - now
        if remaining <= 0:
            return self._timeout(action)
        command = self.commands.get(action)
        assert command is not None
        return RunCommand(action, command, remaining)

    def _timeout(self, action: Action) -> Finished:
        return Finished(
            False,
            reason="timeout",
            message=f"{action}: timed out (timeout {format_duration(self.timeout_s)} per attempt)",
        )

    @staticmethod
    def _exit_failure(action: Action, result: CommandResult) -> Finished:
        code = result.exit_code
        what = f"exited {code}" if code is not None else "did not finish"
        return Finished(False, reason="exit", exit_code=code, message=f"{action} {what}")

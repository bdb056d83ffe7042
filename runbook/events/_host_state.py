"""Where one host of a step stands in one attempt (built by runbook/events/_fold_hosts.py).

A host runs `skip_if`, `run`, `until`, `verify` in turn. Resume must know whether a `run`
may have had effects, so a host keeps which action started last and in which engine life:
the first engine is life 0 and each `run_resumed` starts the next. A `run` followed by
another action in the same life was seen to end; one whose engine stopped first was not
(runbook/engine/_recovery.py reads `run_standing`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

ACTIONS_AFTER_RUN = frozenset({"until", "verify"})


@dataclass
class HostState:
    """One host of a step in one attempt ("" is the control machine, for a local step)."""

    name: str
    status: str = "pending"  # pending, running, succeeded, skipped (skip_if), failed
    attempt: int = 0  # the attempt its events name (0: they name none)
    action: str | None = None  # the action started last: skip_if, run, until, verify
    action_life: int = 0  # the engine life that started it
    run_life: int | None = None  # the engine life this attempt's `run` started in
    run_done: bool = False  # that `run` ended: a later action started in the same life
    started: float | None = None
    finished: float | None = None
    duration_s: float | None = None
    reason: str | None = None  # host_failed.reason
    exit_code: int | None = None
    message: str | None = None
    # The end of its output, stdout and stderr interleaved (runbook/events/_tail.py). No
    # one shows a succeeded host's output, so it is dropped then: 1000s of hosts stay small.
    tail: str = ""
    tail_cut: bool = False  # earlier output was cut, here or before it reached the journal
    # The same host in an earlier attempt that no step_started separated from this one
    # (an older or hand-written journal): kept for the history the reports draw.
    previous: HostState | None = field(default=None, repr=False)

    @property
    def in_flight(self) -> bool:
        """Its latest action started and the host has no outcome yet."""
        return self.status == "running"

    def run_standing(self, life: int) -> str | None:
        """This attempt's `run` seen from engine life `life`.

        None: not started; "running": started in `life`, not seen to end; "done": seen to
        end; "uncertain": the engine that started it stopped before it was seen to end.
        """
        if self.run_life is None:
            return None
        if self.run_done:
            return "done"
        return "running" if self.run_life == life else "uncertain"

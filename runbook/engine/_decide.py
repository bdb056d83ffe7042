"""What is decided only when a step becomes ready: `when`, run-time `hosts`, `input`.

Reads the run's fold (RunState) through `steps_view`, so every value a step reads is one
the journal holds: a resumed run decides exactly as the first engine would have. In a
rehearsal or a dry-run nothing ran, so `when` is drawn with its `chance` (seeded by the
seed and the step id, true without one) and a question takes its default.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Mapping
from typing import Any

from runbook import templates  # `when`, `hosts`, `steps` load Jinja2 on first use only
from runbook.engine._values import parse_output, rehearsed_text
from runbook.errors import InputError
from runbook.events import RunState
from runbook.model import Host, Inventory, RunMode, Step
from runbook.secrets import MASK, Redactor
from runbook.templates import context, render_text

CAPTURE_LIMIT = 64 * 1024  # stdout kept per host for steps that are read (docs/journal.md)


class DecideError(Exception):
    """A `when`, `hosts` or `input` that could not be evaluated: for an operator."""


def _message(err: InputError) -> str:
    issue = err.issues[0] if err.issues else None
    return issue.message if issue is not None else str(err)


class Decider:
    """The run-time decisions of one run, over its fold."""

    def __init__(
        self,
        steps: Mapping[str, Step],
        state: RunState,
        inventory: Inventory | None,
        allowed: frozenset[str] | None,
        values: Mapping[str, Any],
        run_id: str,
        mode: RunMode,
        seed: int | None = None,
    ) -> None:
        self.steps = steps
        self.state = state
        self.inventory = inventory
        self.allowed = allowed  # --limit, when given
        self.values = values
        self.run_id = run_id
        self.mode = mode
        self.seed = seed or 0
        self.simulated = mode != "live"
        # Steps whose results others read: their hosts' stdout and value are journaled.
        self.read = frozenset(r for s in steps.values() for r in s.reads)
        self.secrets: dict[tuple[str, str], Any] = {}  # (step, host or "") → secret value
        self.redactor: Redactor | None = None  # the run's: secret values learnt are masked
        self._views: dict[str, dict[str, Any]] = {}  # reader → `steps`, for its current start

    def learn_secret(self, *values: Any) -> None:
        """Mask these in everything journaled or shown from now on."""
        if self.redactor is not None:
            self.redactor.learn(str(v) for v in values if v not in (None, ""))

    # -- contexts -------------------------------------------------------------------------

    def view(self, sid: str, strict: bool = False) -> dict[str, Any] | None:
        """`steps` for the templates of `sid` (None when it reads no step); `strict` for
        its decisions (templates/_steps.py SkippedStep)."""
        reads = self.steps[sid].reads
        if not reads:
            return None
        if strict:  # a strict view records what was tested: one per evaluation
            return templates.steps_view(self.state.steps, reads, self.secrets, True)
        # Every host of the step renders with the same view: built once per start, not
        # once per host (a 1,000-host step reading a 1,000-host one).
        found = self._views.get(sid)
        if found is None:
            found = self._views[sid] = templates.steps_view(self.state.steps, reads, self.secrets)
        return found

    def forget(self, sid: str) -> None:
        """`sid` starts (again): what it reads is read afresh from the fold."""
        self._views.pop(sid, None)

    def context(self, sid: str, host: Host | None = None, strict: bool = False) -> dict[str, Any]:
        steps = self.view(sid, strict)
        return context(self.values, host, self.run_id, self.mode, steps=steps)

    # -- when -----------------------------------------------------------------------------

    def when_holds(self, step: Step) -> bool:
        """Whether the step runs; DecideError when `when` cannot be evaluated."""
        assert step.when is not None
        where = step.field_locations.get("when", step.location)
        try:
            held = bool(templates.evaluate(step.when, self.context(step.id, strict=True), where))
        except InputError as e:
            raise DecideError(f"`when` could not be evaluated: {_message(e)}") from None
        if not self.simulated:
            return held
        if step.chance is None:
            return True  # counted in full, as `plan` does
        return self._draw(step.id) < step.chance

    def _draw(self, sid: str) -> float:
        digest = hashlib.sha256(f"{self.seed}:{sid}".encode()).digest()
        return random.Random(int.from_bytes(digest[:8], "big")).random()

    # -- hosts ----------------------------------------------------------------------------

    def hosts(self, step: Step, planned: tuple[str, ...]) -> tuple[str | None, tuple[str, ...]]:
        """(the rendered pattern or None, the hosts) of a step starting now."""
        pattern: str | None = None
        chosen = planned
        if step.hosts_at_run_time:
            pattern, chosen = self._render_hosts(step)
        if step.run_once:
            chosen = chosen[:1]
        return pattern, chosen

    def _render_hosts(self, step: Step) -> tuple[str, tuple[str, ...]]:
        from runbook.load import select_hosts

        assert step.hosts is not None
        inv = self.inventory
        if inv is None:
            raise DecideError("`hosts` is decided at run time but the run has no inventory")
        where = step.field_locations.get("hosts", step.location)
        names = set(inv.hosts) | set(inv.groups)
        try:
            ctx = self.context(step.id, strict=True)
            pattern, problems = templates.render_names(step.hosts, ctx, names, where)
        except InputError as e:
            raise DecideError(f"`hosts` could not be rendered: {_message(e)}") from None
        if problems:
            raise NoHosts(pattern, "; ".join(problems))
        try:
            found = select_hosts(inv, pattern, where)
        except InputError:
            found = ()
        if self.allowed is not None:
            found = tuple(h for h in found if h in self.allowed)
        if not found:
            raise NoHosts(pattern)
        return pattern, found

    # -- input ----------------------------------------------------------------------------

    def rendered_input(self, step: Step) -> dict[str, Any] | None:
        """`input` as the operator gets it (journaled in `manual_waiting`)."""
        spec = step.input
        if spec is None:
            return None
        ctx = self.context(step.id)
        where = step.field_locations.get("input", step.location)
        out: dict[str, Any] = {}
        try:
            choices = spec.choices
            if isinstance(choices, str):
                found = templates.evaluate(choices, ctx, where)
                if not isinstance(found, (list, tuple)) or not found:
                    raise DecideError(f"`input.choices` must give a non-empty list, not {found!r}")
                choices = tuple(str(c) for c in found)
            if choices is not None:
                out["choices"] = list(choices)
            if spec.pattern is not None:
                out["pattern"] = spec.pattern
            for key in ("default", "prompt"):
                text = getattr(spec, key)
                if text is not None:
                    out[key] = render_text(text, ctx, where).strip()
        except InputError as e:
            raise DecideError(f"`input` could not be rendered: {_message(e)}") from None
        if spec.secret:
            out["secret"] = True
            out.pop("default", None)
        return out

    def rehearsed_answer(self, step: Step, rendered: Mapping[str, Any] | None) -> str | None:
        """What a rehearsal answers: the default, else the first choice, else the example."""
        if not rendered:
            return None
        if rendered.get("default"):
            return str(rendered["default"])
        if rendered.get("choices"):
            return str(rendered["choices"][0])
        return None if step.example is None else str(step.example)

    # -- results --------------------------------------------------------------------------

    def captures(self, step: Step) -> bool:
        """Whether the step's hosts journal rc, stdout and value."""
        return step.output is not None or step.id in self.read

    def result(
        self, step: Step, host: str | None, rc: int | None, stdout: str, cut: bool
    ) -> tuple[dict[str, Any], str | None]:
        """(the host event's data, a parse failure) for a host whose `run` ended."""
        if self.simulated:
            stdout, cut = rehearsed_text(step, host), False
        if len(stdout) > CAPTURE_LIMIT:
            cut = True
        stdout = stdout[:CAPTURE_LIMIT]
        data: dict[str, Any] = {"rc": rc, "stdout": stdout}
        if cut:
            data["stdout_cut"] = True
        value: Any = None
        failure: str | None = None
        if step.output is not None and not cut and rc == 0:
            try:
                value = parse_output(step.output.type, stdout)
            except ValueError as e:
                failure = f"output: {e}"
        data["value"] = value
        if step.output is not None and step.output.secret:
            self.secrets[(step.id, host or "")] = value
            self.learn_secret(stdout.strip(), value)
            data["stdout"] = data["value"] = MASK
        return data, failure


class NoHosts(DecideError):
    """A run-time `hosts` pattern that matched no host, or substituted a value that names
    none: the step fails (an expression that cannot be evaluated is an operator's call)."""

    def __init__(self, pattern: str, why: str = "") -> None:
        super().__init__(f"hosts '{pattern}' matched no host" + (f": {why}" if why else ""))
        self.pattern = pattern

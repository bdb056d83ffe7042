"""The rendered text of a run's steps: every command per host, and manual instructions.

Rendering is checked for every step and host before a run starts (`check_all`), so a
template that cannot render is an input error before anything runs, never half-way.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from runbook.attempt import Commands
from runbook.model import Host, RunMode, Step
from runbook.templates import context, render_command, render_text


class RenderedWork:
    """Renders a step's commands for a host on first use, then keeps them."""

    def __init__(
        self,
        steps: Mapping[str, Step],
        step_hosts: Mapping[str, tuple[str, ...]],
        hosts: Mapping[str, Host],
        values: Mapping[str, Any],
        run_id: str,
        mode: RunMode,
    ) -> None:
        self.steps = steps
        self.step_hosts = step_hosts
        self.hosts = hosts
        self.values = values
        self.run_id = run_id
        self.mode = mode
        self._commands: dict[tuple[str, str | None], Commands] = {}
        self._text: dict[str, str] = {}

    def commands(self, step_id: str, host: str | None) -> Commands:
        """The four commands of `step_id` on `host` (None: a local step), rendered."""
        key = (step_id, host)
        found = self._commands.get(key)
        if found is None:
            step = self.steps[step_id]
            ctx = context(
                self.values, self.hosts.get(host) if host else None, self.run_id, self.mode
            )
            where = step.field_locations

            def one(name: str) -> str | None:
                template = getattr(step, name)
                if template is None:
                    return None
                return render_command(template, ctx, where.get(name, step.location))

            found = Commands(one("skip_if"), one("run"), one("until"), one("verify"))
            self._commands[key] = found
        return found

    def instructions(self, step_id: str) -> str:
        """A manual step's instructions, rendered as plain text."""
        text = self._text.get(step_id)
        if text is None:
            step = self.steps[step_id]
            ctx = context(self.values, None, self.run_id, self.mode)
            loc = step.field_locations.get("manual", step.location)
            text = render_text(step.manual or step.title, ctx, loc)
            self._text[step_id] = text
        return text

    def check_all(self) -> None:
        """Render everything once (InputError on the first template that cannot render)."""
        for sid, step in self.steps.items():
            if step.kind == "manual":
                self.instructions(sid)
            elif step.kind == "local":
                self.commands(sid, None)
            else:
                for host in self.step_hosts.get(sid, ()):
                    self.commands(sid, host)

"""The rendered text of a run's steps: every command per host, and manual instructions.

Rendering is checked for every step and host before a run starts (`check_all`), so a
template that cannot render is an input error before anything runs, never half-way.

With the run's Redactor, a template that reads a secret is also rendered with stand-ins
(secret_forms.py): commands keep their real text to run and carry a masked one to journal
and show; manual instructions only ever exist masked (they are only shown).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from runbook import templates  # SecretForms: Jinja2, only for a run with secrets
from runbook.engine._decide import Decider
from runbook.engine._file_work import with_files
from runbook.engine._privileges import dress
from runbook.executors import ACTIONS, Commands
from runbook.model import Host, RunMode, Step
from runbook.secrets import Redactor
from runbook.templates import context, hosts_view, render_command, render_text


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
        redactor: Redactor | None = None,
    ) -> None:
        self.steps = steps
        self.step_hosts = step_hosts
        self.hosts = hosts
        self.values = values
        self.run_id = run_id
        self.mode = mode
        self.decider: Decider | None = None  # `steps` for templates that read earlier steps
        self._commands: dict[tuple[str, str | None], Commands] = {}
        self._text: dict[str, str] = {}
        # Only a run with secrets pays for looking for them.
        self._secrets = (
            templates.SecretForms(redactor, values, hosts, run_id, mode)
            if redactor is not None and redactor.secrets
            else None
        )

    def commands(self, step_id: str, host: str | None) -> Commands:
        """The four commands of `step_id` on `host` (None: a local step), rendered."""
        key = (step_id, host)
        found = self._commands.get(key)
        if found is None:
            step = self.steps[step_id]
            on = self.hosts.get(host) if host else None
            if step.reads and self.decider is not None:
                ctx = self.decider.context(step_id, on)
            else:
                ctx = context(self.values, on, self.run_id, self.mode)
            where = step.field_locations
            sources: dict[str, str] = {
                a: src for a in ACTIONS if (src := getattr(step, a)) is not None
            }
            real = {
                a: render_command(src, ctx, where.get(a, step.location))
                for a, src in sources.items()
            }
            shown = real
            secrets = self._secrets
            if secrets is not None:
                shown = {a: secrets.shown(sources[a], text, host, True) for a, text in real.items()}
            d = dress(step, self.hosts.get(host) if host else None, ctx)
            if d is None:
                found = _commands(real, _commands(shown) if shown != real else None)
            else:
                found = _commands(
                    {a: d.real(t) for a, t in real.items()},
                    _commands({a: d.shown(t) for a, t in shown.items()}),
                    d.stdin,
                    d.password,
                )
            self._commands[key] = with_files(found, step, host, ctx)
            found = self._commands[key]
        return found

    def instructions(self, step_id: str) -> str:
        """A manual step's instructions, rendered as plain text."""
        text = self._text.get(step_id)
        if text is None:
            step = self.steps[step_id]
            ctx = context(self.values, None, self.run_id, self.mode)
            if step.reads and self.decider is not None:
                ctx = self.decider.context(step_id)
            if step.hosts is not None:
                names = self.step_hosts.get(step_id, ())
                ctx["hosts"] = hosts_view([self.hosts[n] for n in names if n in self.hosts])
            loc = step.field_locations.get("manual", step.location)
            source = step.manual or step.title
            text = render_text(source, ctx, loc)
            if self._secrets is not None:
                text = self._secrets.shown(source, text, None, False)
            self._text[step_id] = text
        return text

    def learn_secrets(self) -> None:
        """Render what reads a secret, so the Redactor knows every form of them a command
        holds (before masking a previous engine's command lines on resume)."""
        secrets = self._secrets
        if secrets is None:
            return
        for sid, step in self.steps.items():
            if step.reads and self.decider is None:
                continue  # rendered when it starts, with what it reads
            if step.kind == "manual":
                if secrets.reaches(step.manual or step.title, False):
                    self.instructions(sid)
                continue
            if not any(secrets.reaches(src, True) for a in ACTIONS if (src := getattr(step, a))):
                continue
            for host in self.step_hosts.get(sid, ()) if step.kind == "remote" else (None,):
                self.commands(sid, host)

    def check_all(self) -> None:
        """Render everything once (InputError on the first template that cannot render)."""
        for sid, step in self.steps.items():
            if step.reads:
                continue  # what it reads exists only during the run
            if step.kind == "manual":
                self.instructions(sid)
            elif step.kind == "local":
                self.commands(sid, None)
            else:
                for host in self.step_hosts.get(sid, ()):
                    self.commands(sid, host)


def _commands(
    texts: Mapping[str, str],
    shown: Commands | None = None,
    stdin: str | None = None,
    password: str | None = None,
) -> Commands:
    get = texts.get
    return Commands(
        get("skip_if"),
        get("run"),
        get("until"),
        get("verify"),
        shown=shown,
        stdin=stdin,
        password=password,
    )

"""A step's commands dressed for `env` and `become`, and what they read on stdin.

`env` values are rendered as text and shell-quoted whole, so no value can be shell
syntax; `become` runs the command through `sudo -n` (or `sudo -S -k -p PROMPT` with a
password, written on stdin after the prompt: executors/_feed.py), under `/bin/sh -c`,
with the environment set inside the shell sudo starts so sudo's env_reset keeps it.
The journal and the screen see a short form: `sudo -u USER: NAME='value' command`.
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from runbook.executors import STARTED, SUDO_PROMPT
from runbook.model import Host, Step
from runbook.templates import render_text


@dataclass(frozen=True)
class Dress:
    """How one step's commands are wrapped on one host."""

    exports: str  # `export NAME='value'` lines
    shown_env: str  # `NAME='value' ` as shown
    sudo: str | None  # the sudo command line up to `--`, None: no become
    shown_sudo: str
    password: str | None
    stdin: str | None

    def real(self, command: str) -> str:
        inner = self.exports + command
        if self.sudo is None:
            return inner
        if self.password is not None:
            # the first thing the command does: tell the feed sudo is done asking
            inner = f"printf '%s\\n' {shlex.quote(STARTED.strip())} >&2\n{inner}"
        return f"{self.sudo} -- /bin/sh -c {shlex.quote(inner)}"

    def shown(self, command: str) -> str:
        return f"{self.shown_sudo}{self.shown_env}{command}"


def dress(step: Step, host: Host | None, ctx: Mapping[str, Any]) -> Dress | None:
    """The wrapping of `step` on `host`; None when the step has no env, become or stdin."""
    if not (step.env or step.become or step.stdin is not None):
        return None
    where = step.field_locations
    env = [
        (name, render_text(src, ctx, where.get("env", step.location)) if "{" in src else src)
        for name, src in step.env
    ]
    exports = "".join(f"export {n}={shlex.quote(v)}\n" for n, v in env)
    shown_env = "".join(f"{n}={shlex.quote(v)} " for n, v in env)
    stdin = (
        render_text(step.stdin, ctx, where.get("stdin", step.location))
        if step.stdin is not None and "{" in step.stdin
        else step.stdin
    )
    if not step.become:
        return Dress(exports, shown_env, None, "", None, stdin)
    exe = str((host.vars.get("ansible_become_exe") if host else None) or "sudo")
    user = step.become_user
    as_user = f" -u {shlex.quote(user)}" if user else ""
    password = None
    if step.become_password is not None:
        loc = where.get("become_password", step.location)
        password = render_text(step.become_password, ctx, loc)
        sudo = f"{shlex.quote(exe)} -S -k -p {shlex.quote(SUDO_PROMPT)}{as_user}"
    else:
        sudo = f"{shlex.quote(exe)} -n{as_user}"
    shown_sudo = f"sudo{as_user}: "
    return Dress(exports, shown_env, sudo, shown_sudo, password, stdin)

"""The one table of playbook fields.

The loader's known-field check, the `defaults` rule and `runbook schema` all read these
tables, so the format the loader accepts and the schema editors see never drift apart.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

# How a field's value is read; `runbook.load.values` has one reader per kind and
# `runbook.schema` one JSON Schema fragment per kind.
Kind = Literal[
    "id",  # [a-z0-9][a-z0-9._-]*
    "text",  # free text (title, manual, description, owner, phase)
    "command",  # a shell command template
    "duration",  # 90s, 15m, 1h30m, 1d, or seconds
    "positive_duration",  # a duration above 0
    "int",
    "bool",
    "choice",
    "hosts",  # an inventory pattern, or a list of them
    "needs",  # a step id or `phase:NAME`, or a list of them
    "estimate",  # a duration or {min, likely, max}
    "vars",
    "defaults",
    "steps",
    "include",
    "output",  # a type name, or {type, secret}
    "input",  # {choices, pattern, default, prompt, secret}
    "expression",  # a Jinja expression without braces (`when`)
    "chance",  # 0-1 or N%
    "any",  # any YAML value (`example`)
    "count",  # N or N% of a step's hosts
    "serial",  # a count or a list of them
    "env",  # {NAME: value template}
    "copy",  # {src | content, dest, mode}
    "fetch",  # {src, dest}
]

ID_PATTERN = re.compile(r"[a-z0-9][a-z0-9._-]*")
ID_RULE = "[a-z0-9][a-z0-9._-]*"


@dataclass(frozen=True)
class Field:
    """One field of a step or of the playbook: how it is read and what it means."""

    name: str
    kind: Kind
    help: str
    in_defaults: bool = True  # may appear under `defaults:` (step fields only)
    choices: tuple[str, ...] = ()
    minimum: int | None = None
    required: bool = False


def _table(*fields: Field) -> Mapping[str, Field]:
    return {f.name: f for f in fields}


STEP_FIELDS: Mapping[str, Field] = _table(
    Field("id", "id", f"Unique step id: {ID_RULE}.", in_defaults=False, required=True),
    Field("title", "text", "What the step achieves (template, plain text).", in_defaults=False),
    Field("phase", "text", "Free label used for grouping, progress and the ETA."),
    Field(
        "manual",
        "text",
        "A manual step: instructions for the operator (template, plain text).",
        in_defaults=False,
    ),
    Field(
        "needs",
        "needs",
        "Step ids, or `phase:NAME` for every step of a phase, that must succeed first.",
        in_defaults=False,
    ),
    Field("hosts", "hosts", "Inventory host pattern (Ansible semantics), or a list of them."),
    Field("run", "command", "Shell command run on each host (template).", in_defaults=False),
    Field(
        "skip_if",
        "command",
        "Command that succeeds when the host is already done (template).",
        in_defaults=False,
    ),
    Field(
        "until",
        "command",
        "Command polled every `every` until it succeeds, within `timeout` (template).",
        in_defaults=False,
    ),
    Field(
        "verify",
        "command",
        "Command that must succeed after `run` (template).",
        in_defaults=False,
    ),
    Field("every", "positive_duration", "Polling interval of `until` (default 10s)."),
    Field("local", "bool", "Run on the control machine instead of on hosts."),
    Field("parallel", "int", "At most this many hosts at once (default: all).", minimum=1),
    Field("timeout", "positive_duration", "Per host, per attempt (default 15m)."),
    Field(
        "retries",
        "int",
        "Extra attempts of the whole run → until → verify sequence (default 0).",
        minimum=0,
    ),
    Field("retry_delay", "duration", "Wait between attempts (default 30s)."),
    Field(
        "on_failure",
        "choice",
        "block: dependents wait; abort: no new step starts; continue: dependents go on and "
        "can test steps['ID'].failed (default block).",
        choices=("block", "abort", "continue"),
    ),
    Field("idempotent", "bool", "Safe to run again after a crash mid-step (default false)."),
    Field(
        "estimate",
        "estimate",
        "Time the whole step takes: a duration or {min, likely, max} (default 5m).",
    ),
    Field("owner", "text", "Team or person responsible."),
    Field(
        "output",
        "output",
        "Parse each host's stdout of `run` into `value`: text, int, float, json or lines; "
        "or {type: T, secret: true}.",
        in_defaults=False,
    ),
    Field(
        "example",
        "any",
        "What rehearsals and dry-runs take as the output: one value, or host → value.",
        in_defaults=False,
    ),
    Field(
        "input",
        "input",
        "A manual step's value from the operator: {choices, pattern, default, prompt, secret}.",
        in_defaults=False,
    ),
    Field(
        "when",
        "expression",
        "Jinja expression (no braces) evaluated when the step is ready; false skips the step.",
        in_defaults=False,
    ),
    Field(
        "chance",
        "chance",
        "Probability that `when` holds (0-1 or N%), for plan and forecast until it is decided.",
        in_defaults=False,
    ),
    Field("run_once", "bool", "Run on the first selected host only.", in_defaults=False),
    Field(
        "serial",
        "serial",
        "Hosts in batches: N, N% or a list of them (the last repeats); a batch starts when "
        "the previous one finished.",
        minimum=1,
    ),
    Field(
        "max_fail",
        "count",
        "More failed hosts than this (N or N%): no new host starts (default: no limit; 0 "
        "with serial).",
    ),
    Field(
        "min_ok",
        "count",
        "The step succeeds once this many hosts (N or N%) succeeded; the others are stopped.",
        in_defaults=False,
        minimum=1,
    ),
    Field(
        "copy",
        "copy",
        "{src or content, dest, mode}: a file put on each host before `run` (over SFTP).",
        in_defaults=False,
    ),
    Field(
        "fetch",
        "fetch",
        "{src, dest}: a file brought back to DEST/HOST/NAME after `verify`.",
        in_defaults=False,
    ),
    Field("become", "bool", "Run the step's commands through sudo (default false)."),
    Field("become_user", "text", "The user sudo runs them as (default root)."),
    Field(
        "become_password",
        "text",
        "sudo's password, from a secret variable: '{{ vars.sudo_password }}'.",
    ),
    Field("env", "env", "Environment variables of the step's commands (values templated)."),
    Field(
        "stdin",
        "text",
        "Text given to `run` on its standard input (template, kept exactly).",
        in_defaults=False,
    ),
    Field("doc", "text", "A link (or a line) shown with the step: prompt, failure, reports."),
)

TOP_FIELDS: Mapping[str, Field] = _table(
    Field("playbook", "id", f"Playbook id: {ID_RULE} (default: the file name)."),
    Field("title", "text", "What this playbook restores."),
    Field("description", "text", "Free text."),
    Field("rto", "positive_duration", "Recovery time objective; the ETA is held against it."),
    Field(
        "vars",
        "vars",
        "Playbook variables: a value, or {env: NAME, secret: true, default: VALUE}.",
    ),
    Field("defaults", "defaults", "Step fields applied to every step of this file."),
    Field("include", "include", "Playbook file(s) whose steps join this one, relative to it."),
    Field("steps", "steps", "The restore steps."),
)

DEFAULTS_FIELDS: Mapping[str, Field] = {n: f for n, f in STEP_FIELDS.items() if f.in_defaults}
# Step fields a remote or local step may have as its only work.
WORK_FIELDS = ("run", "until", "verify", "copy", "fetch")

# `{env: NAME}` variables: the keys allowed in the mapping.
ENV_VAR_KEYS: Mapping[str, str] = {
    "env": "Environment variable read when the run starts.",
    "secret": "Never shown or journaled (automatic for names with password/secret/token).",
    "default": "Value when the environment variable is not set.",
}

# Step fields that are shell command templates (shell-quoted substitutions).
COMMAND_FIELDS = tuple(n for n, f in STEP_FIELDS.items() if f.kind == "command")
# Step fields rendered as plain text.
TEXT_TEMPLATE_FIELDS = ("title", "manual")
# Fields that are templates or expressions and may read `steps[...]`.
DECIDING_FIELDS = ("hosts", "when")

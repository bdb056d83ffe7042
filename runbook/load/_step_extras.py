"""Readers for the fields of hosts in batches, quorum, files and privileges, and the checks
that need more than one field: `serial: 0`, `max_fail: 120%`, `copy` without `dest`, a
`become_password` that does not come from a secret, `min_ok` above the step's hosts."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from runbook.errors import Issue
from runbook.load._fields import Field
from runbook.load._values import BadValue, read_text, type_name
from runbook.model import Count, FileCopy, FileFetch, Playbook, Step, Variable
from runbook.secrets import is_secret_name

_COUNT = re.compile(r"\s*([0-9]+(?:\.[0-9]+)?)\s*%\s*")
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_MODE = re.compile(r"0?[0-7]{3,4}")
_READS = re.compile(r"""\b(host\.vars|vars)(?:\.([A-Za-z_]\w*)|\[\s*['"]([^'"]+)['"]\s*\])""")


def read_count(field: Field, value: Any) -> Count:
    """`N` (a whole number) or `N%` (0-100)."""
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise BadValue(
            f"`{field.name}` must be a number of hosts or a percentage, not {type_name(value)}",
            "write e.g. 2 or 25%",
        )
    if isinstance(value, int):
        if field.minimum is not None and value < field.minimum:
            raise BadValue(
                f"`{field.name}` must be at least {field.minimum}, not {value}",
                f"write {field.minimum} or more, or a percentage",
            )
        return Count(value)
    m = _COUNT.fullmatch(value)
    if m is None:
        hint = f"remove the quotes: {value.strip()}" if value.strip().isdigit() else ""
        raise BadValue(
            f"`{field.name}` must be N or N%, not {value!r}", hint or "write e.g. 2 or 25%"
        )
    pct = float(m.group(1))
    low = 1 if field.minimum else 0
    if not low <= pct <= 100 or (low and pct == 0):
        raise BadValue(
            f"`{field.name}` must be a percentage from {'above 0' if low else '0'} to 100, "
            f"not {value.strip()}",
            "a share of the step's hosts: write e.g. 10%",
        )
    return Count(pct, percent=True)


def read_serial(field: Field, value: Any) -> tuple[Count, ...]:
    """A batch size, or a list of them (the last one repeats), as Ansible's `serial`."""
    items = value if isinstance(value, list) else [value]
    if not items:
        raise BadValue("`serial` is an empty list", "write e.g. 1, 25% or [1, 5, 25%]")
    sizes = []
    for i, item in enumerate(items):
        try:
            sizes.append(read_count(field, item))
        except BadValue as e:
            raise BadValue(e.message, e.hint, (i,) if isinstance(value, list) else ()) from None
    return tuple(sizes)


def read_env(field: Field, value: Any) -> tuple[tuple[str, str], ...]:
    """`{NAME: value template}`; each value is shell-quoted whole when rendered."""
    if not isinstance(value, dict):
        raise BadValue(
            f"`env` must be a mapping of variables, not {type_name(value)}",
            "write e.g. env: {KUBECONFIG: /etc/kubernetes/admin.conf}",
        )
    pairs = []
    for name, text in value.items():
        if not isinstance(name, str) or not _ENV_NAME.fullmatch(name):
            raise BadValue(
                f"`env` name {name!r} is not a shell variable name",
                "use letters, digits and '_', not starting with a digit",
                (name,),
            )
        if isinstance(text, bool) or not isinstance(text, (str, int, float)):
            raise BadValue(
                f"`env.{name}` must be text, not {type_name(text)}", "write its value", (name,)
            )
        if "\x00" in str(text):
            raise BadValue(f"`env.{name}` holds a NUL character (\\0)", "remove it", (name,))
        pairs.append((name, str(text)))
    return tuple(pairs)


def _mapping(field: Field, value: Any, keys: Sequence[str], example: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise BadValue(
            f"`{field.name}` must be a mapping, not {type_name(value)}", f"write e.g. {example}"
        )
    for key in value:
        if key not in keys:
            raise BadValue(
                f"`{field.name}` has an unknown key {key!r}",
                f"`{field.name}` takes {', '.join(keys)}",
                (key,),
            )
    return value


def _path(field: Field, value: dict[str, Any], key: str, example: str) -> str:
    if key not in value or value[key] is None:
        raise BadValue(f"`{field.name}` has no `{key}`", f"add it: {example}")
    try:
        return read_text(Field(f"{field.name}.{key}", "text", ""), value[key])
    except BadValue as e:
        raise BadValue(e.message, e.hint, (key,)) from None


def read_copy(field: Field, value: Any) -> FileCopy:
    example = "copy: {src: files/main.cf, dest: /etc/postfix/main.cf, mode: '0644'}"
    raw = _mapping(field, value, ("src", "content", "dest", "mode"), example)
    dest = _path(field, raw, "dest", example)
    if ("src" in raw) == ("content" in raw):
        raise BadValue(
            "`copy` needs exactly one of `src` (a file) and `content` (text)",
            "write src: PATH (relative to this playbook's folder), or content: TEXT",
        )
    src = _path(field, raw, "src", example) if "src" in raw else None
    content = raw.get("content")
    if content is not None and not isinstance(content, str):
        raise BadValue(
            f"`copy.content` must be text, not {type_name(content)}", "quote it", ("content",)
        )
    mode = raw.get("mode")
    if mode is not None:
        if isinstance(mode, int) and not isinstance(mode, bool):
            raise BadValue(
                "`copy.mode` must be quoted octal text: YAML reads 0644 as a number",
                f"write mode: '0{mode:o}'" if mode < 0o10000 else "write mode: '0644'",
                ("mode",),
            )
        if not isinstance(mode, str) or not _MODE.fullmatch(mode):
            raise BadValue(f"`copy.mode` must be octal like '0644', not {mode!r}", "", ("mode",))
    return FileCopy(dest=dest, src=src, content=content, mode=mode)


def read_fetch(field: Field, value: Any) -> FileFetch:
    example = "fetch: {src: /etc/gitlab/gitlab.rb, dest: saved/}"
    raw = _mapping(field, value, ("src", "dest"), example)
    return FileFetch(src=_path(field, raw, "src", example), dest=_path(field, raw, "dest", example))


EXTRA_READERS = {
    "count": read_count,
    "serial": read_serial,
    "env": read_env,
    "copy": read_copy,
    "fetch": read_fetch,
}


def step_issues(steps: Sequence[Step], variables: Mapping[str, Variable]) -> list[Issue]:
    """Rules across a step's fields: `min_ok` with `serial`; a `become_password` that reads
    anything but secret variables (it would be journaled in the plan and shown as typed)."""
    issues = []
    for step in steps:
        if step.min_ok is not None and step.serial:
            issues.append(
                Issue(
                    step.field_locations.get("min_ok", step.location),
                    f"step '{step.id}' has both `min_ok` and `serial`",
                    "a quorum is met by hosts running together: remove `serial` (or write "
                    "`parallel: N` to cap how many run at once)",
                )
            )
        text = step.become_password
        if text is None:
            continue
        where = step.field_locations.get("become_password", step.location)
        problem = _not_secret(text, variables)
        if problem:
            issues.append(
                Issue(
                    where,
                    f"`become_password` of step '{step.id}' {problem}",
                    "write become_password: '{{ vars.sudo_password }}' with a variable that is "
                    "secret (secret: true, or a name with password, secret or token), e.g. "
                    "sudo_password: {env: SUDO_PASSWORD}",
                )
            )
    return issues


def _not_secret(text: str, variables: Mapping[str, Variable]) -> str:
    reads = [(kind, a or b) for kind, a, b in _READS.findall(text)]
    if not reads:
        return "is not read from a variable: a password written in the playbook is not secret"
    for kind, name in reads:
        if kind == "vars":
            var = variables.get(name)
            if var is not None and not var.secret and not is_secret_name(name):
                return f"reads `vars.{name}`, which is not secret"
        elif not is_secret_name(name) and "_pass" not in name:
            return f"reads `host.vars.{name}`, which is not secret"
    return ""


def count_issues(playbook: Playbook, step_hosts: Mapping[str, Sequence[str]]) -> list[Issue]:
    """`min_ok` above the hosts a step selects, where they are known before the run."""
    issues = []
    for step in playbook.steps:
        hosts = step_hosts.get(step.id)
        if step.min_ok is None or not hosts or step.kind != "remote":
            continue
        need = step.min_ok.of(len(hosts), round_up=True)
        if need > len(hosts):
            where = step.field_locations.get("min_ok", step.location)
            issues.append(
                Issue(
                    where,
                    f"`min_ok: {step.min_ok}` of step '{step.id}' is more than its "
                    f"{len(hosts)} host(s)",
                    f"write at most {len(hosts)}, or a percentage",
                )
            )
    return issues


_COUNT_SCHEMA = {
    "anyOf": [
        {"type": "integer", "minimum": 0},
        {"type": "string", "pattern": r"^\s*[0-9]+(\.[0-9]+)?\s*%\s*$"},
    ]
}
_TEXT = {"type": "string", "minLength": 1}
EXTRA_SCHEMAS: Mapping[str, dict[str, Any]] = {
    "count": _COUNT_SCHEMA,
    "serial": {"anyOf": [_COUNT_SCHEMA, {"type": "array", "items": _COUNT_SCHEMA, "minItems": 1}]},
    "env": {
        "type": "object",
        "propertyNames": {"pattern": "^[A-Za-z_][A-Za-z0-9_]*$"},
        "additionalProperties": {"type": ["string", "number"]},
    },
    "copy": {
        "type": "object",
        "properties": {
            "src": _TEXT,
            "content": {"type": "string"},
            "dest": _TEXT,
            "mode": {"type": "string", "pattern": "^0?[0-7]{3,4}$"},
        },
        "required": ["dest"],
        "additionalProperties": False,
    },
    "fetch": {
        "type": "object",
        "properties": {"src": _TEXT, "dest": _TEXT},
        "required": ["src", "dest"],
        "additionalProperties": False,
    },
}

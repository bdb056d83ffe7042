"""One playbook file → its top-level fields, variables, step drafts and includes."""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from runbook.errors import InputError, Issue
from runbook.load._fields import ENV_VAR_KEYS, TOP_FIELDS
from runbook.load._read import read_field
from runbook.load._source import Document, load_yaml, read_text
from runbook.load._steps import Defaults, Draft, read_defaults, read_step, unknown_field_hint
from runbook.load._values import BadValue, type_name
from runbook.model import Location, Variable
from runbook.secrets import is_secret_name

_FAST_LOADER: type[Any] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


@dataclass
class PlaybookFile:
    """What one file contributes before includes are merged."""

    label: str  # the path as messages show it
    location: Location
    top: dict[str, Any] = field(default_factory=dict)  # playbook, title, description, rto
    vars: dict[str, Variable] = field(default_factory=dict)
    drafts: list[Draft] = field(default_factory=list)
    includes: list[tuple[str, Location]] = field(default_factory=list)
    includes_first: bool = False  # `include:` is written above `steps:`


def read_playbook_file(path: Path, label: str, issues: list[Issue]) -> PlaybookFile | None:
    """Parse one file; None when it is not even YAML (the reason is in `issues`)."""
    try:
        doc = _parse(path, label)
    except InputError as e:
        issues.extend(e.issues)
        return None
    result = PlaybookFile(label, doc.loc(()))
    data = doc.data
    if data is None:
        issues.append(
            Issue(
                Location(label, 1, 1),
                "the playbook is empty",
                "a playbook needs at least `steps:` (see `runbook schema`)",
            )
        )
        return result
    if not isinstance(data, dict):
        hint = "write `playbook: ID`, `title: ...` and `steps:` as a mapping"
        if isinstance(data, list):
            hint = "put the list under `steps:`; a playbook is a mapping (playbook:, steps:, ...)"
        issues.append(
            Issue(doc.loc(()), f"a playbook must be a mapping, not {type_name(data)}", hint)
        )
        return result
    keys = list(data)
    for key in keys:
        spec = TOP_FIELDS.get(key) if isinstance(key, str) else None
        if spec is None:
            issues.append(
                Issue(
                    doc.key_loc((key,)),
                    f"unknown field '{key}' at the top of the playbook",
                    unknown_field_hint(key, TOP_FIELDS, "top-level"),
                )
            )
            continue
        value = data[key]
        if value is None or spec.kind in ("vars", "defaults", "steps", "include"):
            continue
        try:
            result.top[key] = read_field(spec, value)
        except BadValue as e:
            issues.append(Issue(doc.loc((key, *e.at)), e.message, e.hint))
    result.vars = read_vars(doc, data.get("vars"), issues)
    defaults = read_defaults(doc, ("defaults",), data.get("defaults"), issues)
    result.includes = _read_includes(doc, data.get("include"), issues)
    if "include" in data and "steps" in data:
        result.includes_first = keys.index("include") < keys.index("steps")
    result.drafts = _read_steps(doc, data.get("steps"), defaults, issues)
    return result


def _parse(path: Path, label: str) -> Document:
    # libyaml is ~8x faster on a 10,000-step playbook, but PyYAML's own parser explains
    # syntax errors better (it names tabs, for one): a file libyaml refuses is read again.
    try:
        return load_yaml(path, label, _FAST_LOADER)
    except InputError:
        try:
            return load_yaml(path, label, yaml.SafeLoader, events=False)
        except yaml.reader.ReaderError as e:  # raised before source.py's own handler starts
            raise InputError([_reader_issue(path, label, e)]) from None


def _reader_issue(path: Path, label: str, err: yaml.reader.ReaderError) -> Issue:
    before = read_text(path, label)[: err.position]
    line = before.count("\n") + 1
    col = err.position - (before.rfind("\n") + 1) + 1
    return Issue(
        Location(label, line, col),
        f"character #x{err.character:04x} is not allowed in YAML",
        "remove it; control characters often come from pasting out of a terminal",
    )


def _read_steps(doc: Document, raw: Any, defaults: Defaults, issues: list[Issue]) -> list[Draft]:
    if raw is None:
        return []
    if not isinstance(raw, list):
        issues.append(
            Issue(
                doc.loc(("steps",)),
                f"`steps` must be a list, not {type_name(raw)}",
                "start each step with '- ', e.g. `- id: utility-power`",
            )
        )
        return []
    drafts = []
    marks = doc.marks(("steps",))  # where each step stands, in one walk
    for i, item in enumerate(raw):
        here = doc.at_mark(marks[i]) if i in marks else None
        draft = read_step(doc, ("steps", i), item, defaults, issues, here)
        if draft is not None:
            drafts.append(draft)
    return drafts


def _read_includes(doc: Document, raw: Any, issues: list[Issue]) -> list[tuple[str, Location]]:
    if raw is None:
        return []
    items = raw if isinstance(raw, list) else [raw]
    where: list[tuple[str | int, ...]] = (
        [("include", i) for i in range(len(raw))] if isinstance(raw, list) else [("include",)]
    )
    result = []
    for item, path in zip(items, where, strict=True):
        if not isinstance(item, str) or not item.strip():
            issues.append(
                Issue(
                    doc.loc(path),
                    f"`include` must name a file (or a list of files), not {type_name(item)}",
                    "write e.g. include: includes/applications.yml",
                )
            )
            continue
        result.append((item.strip(), doc.loc(path)))
    return result


def read_vars(doc: Document, raw: Any, issues: list[Issue]) -> dict[str, Variable]:
    """`vars:`: literal values, or `{env: NAME, secret: true, default: VALUE}`."""
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        issues.append(
            Issue(
                doc.loc(("vars",)),
                f"`vars` must be a mapping of names to values, not {type_name(raw)}",
                "write e.g. vars: {mail_service: postfix}",
            )
        )
        return {}
    result = {}
    for name, value in raw.items():
        where = ("vars", name)
        if not isinstance(name, str) or not name:
            issues.append(
                Issue(
                    doc.key_loc(where),
                    f"a variable name must be text, not {type_name(name)}",
                    "use names like mail_service",
                )
            )
            continue
        secret = is_secret_name(name)
        if isinstance(value, dict) and "env" in value:
            var = _env_var(doc, name, value, secret, issues)
            if var is not None:
                result[name] = var
            continue
        result[name] = Variable(name, value, None, secret, doc.loc(where))
    return result


def _env_var(
    doc: Document, name: str, spec: dict[Any, Any], secret: bool, issues: list[Issue]
) -> Variable | None:
    where = ("vars", name)
    ok = True
    for key in spec:
        if key not in ENV_VAR_KEYS:
            close = difflib.get_close_matches(str(key), list(ENV_VAR_KEYS), n=1)
            issues.append(
                Issue(
                    doc.key_loc((*where, key)),
                    f"unknown key '{key}' in variable '{name}'",
                    f"did you mean '{close[0]}'?"
                    if close
                    else f"an environment variable takes {', '.join(ENV_VAR_KEYS)}",
                )
            )
            ok = False
    env = spec["env"]
    if not isinstance(env, str) or not ENV_NAME.fullmatch(env):
        shown = repr(env) if isinstance(env, str) else type_name(env)
        issues.append(
            Issue(
                doc.loc((*where, "env")),
                f"variable '{name}': `env` must be an environment variable name, not {shown}",
                "write e.g. {env: MAIL_PASSWORD}",
            )
        )
        ok = False
    marked = spec.get("secret", False)
    if not isinstance(marked, bool):
        issues.append(
            Issue(
                doc.loc((*where, "secret")),
                f"variable '{name}': `secret` must be true or false, not {type_name(marked)}",
                "write secret: true",
            )
        )
        ok = False
    if not ok:
        return None
    return Variable(name, spec.get("default"), env, secret or bool(marked), doc.loc(where))

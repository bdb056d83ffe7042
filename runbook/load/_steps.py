"""One step mapping (and a file's `defaults`) → a Draft: parsed fields, kind, every problem."""

from __future__ import annotations

import difflib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from runbook.errors import Issue
from runbook.load._fields import DEFAULTS_FIELDS, STEP_FIELDS, WORK_FIELDS, Field
from runbook.load._read import READERS, read_field
from runbook.load._source import Document, Locations, PathKey, marks_in
from runbook.load._values import BadValue, SubPath, type_name
from runbook.model import Location, StepKind

# Names other tools use for our fields: a better hint than a spelling match.
SYNONYMS: Mapping[str, str] = {
    "depends_on": "needs",
    "depends": "needs",
    "requires": "needs",
    "after": "needs",
    "command": "run",
    "cmd": "run",
    "shell": "run",
    "script": "run",
    "name": "title",
    "host": "hosts",
    "check": "verify",
    "retry": "retries",
    "on_error": "on_failure",
    "instructions": "manual",
    "wait_for": "until",
    "group": "phase",
    "stage": "phase",
}

COMMANDS = ("run", "until", "verify")
# Each step field with its reader (`read_field`'s, looked up once, not per value).
_STEP_READERS: Mapping[str, tuple[Field, Callable[[Field, Any], Any]]] = {
    name: (spec, READERS[spec.kind]) for name, spec in STEP_FIELDS.items()
}
# A field whose value could not be read makes any verdict about the step's kind a guess.
KIND_FIELDS = frozenset({"manual", "hosts", "local", "skip_if", *WORK_FIELDS})


@dataclass
class Defaults:
    """A file's `defaults:`, parsed once; each value keeps where it was written."""

    values: dict[str, Any] = field(default_factory=dict)
    locations: dict[str, Location] = field(default_factory=dict)


@dataclass
class Draft:
    """A step as read from its file, defaults applied, before `needs` are resolved."""

    id: str | None  # None when missing or invalid (already reported)
    location: Location
    values: dict[str, Any]
    locations: Locations
    # Each need, with where it is written: its key in `need_at` (a Location is made only
    # for a need that is reported: 10,000 steps have ~20,000 needs).
    needs: list[tuple[str, Any]]
    kind: StepKind | None  # None when the step is invalid (already reported)
    bad_id: str | None = None  # an id written but invalid: others' `needs` on it are not news
    need_at: Mapping[Any, Location] = field(default_factory=dict)


def unknown_field_hint(name: object, known: Mapping[str, Field], where: str) -> str:
    """`did you mean ...?` for a misspelt or foreign field name."""
    text = str(name)
    synonym = SYNONYMS.get(text.lower())
    if synonym and synonym in known:
        return f"did you mean '{synonym}'?"
    close = difflib.get_close_matches(text, list(known), n=1, cutoff=0.6)
    if close:
        return f"did you mean '{close[0]}'?"
    return f"{where} fields are: {', '.join(known)}"


def read_defaults(doc: Document, path: PathKey, raw: Any, issues: list[Issue]) -> Defaults:
    """Parse `defaults:`; fields a step must say itself are errors."""
    result = Defaults()
    if raw is None:
        return result
    if not isinstance(raw, dict):
        issues.append(
            Issue(
                doc.loc(path),
                f"`defaults` must be a mapping of step fields, not {type_name(raw)}",
                "write e.g. defaults: {timeout: 15m, retries: 1}",
            )
        )
        return result
    for key, value in raw.items():
        where = (*path, key)
        spec = DEFAULTS_FIELDS.get(key) if isinstance(key, str) else None
        if spec is None:
            if isinstance(key, str) and key in STEP_FIELDS:
                issues.append(
                    Issue(
                        doc.key_loc(where),
                        f"`{key}` cannot be set in `defaults`",
                        f"write it on each step; defaults may hold {', '.join(DEFAULTS_FIELDS)}",
                    )
                )
            else:
                issues.append(
                    Issue(
                        doc.key_loc(where),
                        f"unknown field '{key}' in `defaults`",
                        unknown_field_hint(key, DEFAULTS_FIELDS, "defaults"),
                    )
                )
            continue
        if value is None:
            continue
        try:
            result.values[key] = read_field(spec, value)
            result.locations[key] = doc.loc(where)
        except BadValue as e:
            issues.append(Issue(doc.loc((*where, *e.at)), e.message, e.hint))
    return result


def read_step(
    doc: Document,
    path: PathKey,
    raw: Any,
    defaults: Defaults,
    issues: list[Issue],
    here: Location | None = None,
) -> Draft | None:
    """Parse one entry of `steps:`; every problem is appended to `issues`.

    `here`: where the step stands, when the caller knows it already.
    """
    if here is None:
        here = doc.loc(path)
    if not isinstance(raw, dict):
        hint = "each step is a mapping: - id: my-step / title: ... / manual: ..."
        if isinstance(raw, str):
            hint = f"write `- id: {raw}` and its fields on the following lines, indented"
        issues.append(Issue(here, f"a step must be a mapping, not {type_name(raw)}", hint))
        return None
    values: dict[str, Any] = {}
    located: dict[str, Any] = {}  # the Locations' marks
    locations = Locations(doc.path, located)
    needs: list[tuple[str, Any]] = []
    need_at: Mapping[Any, Location] = {}
    bad: set[str] = set()
    # One walk to the step for all its fields: 10,000 steps have ~100,000 of them. Its
    # shadow maps each key to (key mark, value mark, what is inside).
    shadow = doc.shadow_at(path)
    entries = shadow if isinstance(shadow, dict) else {}
    for key, value in raw.items():
        known = _STEP_READERS.get(key)
        if known is None:
            issues.append(
                Issue(
                    doc.key_loc((*path, key)),
                    f"unknown field '{key}' in a step",
                    unknown_field_hint(key, STEP_FIELDS, "step"),
                )
            )
            continue
        spec, reader = known
        if value is None and spec.name not in ("id", "manual"):
            continue  # YAML `key:` with nothing after it: the field is not set
        try:
            parsed = reader(spec, value)
        except BadValue as e:
            issues.append(Issue(doc.loc((*path, key, *e.at)), e.message, e.hint))
            bad.add(key)
            continue
        entry = entries.get(key)
        located[key] = entry[1] if entry is not None else doc.loc((*path, key))
        if key == "needs":
            inside = entry[2] if entry is not None else None
            needs, need_at = _located_needs(doc, marks_in(inside), parsed, located[key])
        values[key] = parsed
    step_id = values.get("id")
    if "id" not in raw:
        issues.append(Issue(here, "a step has no `id`", "add e.g. `id: restart-mail` first"))
    _apply_defaults(values, locations, defaults)
    kind = None if bad & KIND_FIELDS else _kind(doc, path, raw, values, locations, step_id, issues)
    if bad:
        kind = None
    bad_id = raw.get("id") if step_id is None and isinstance(raw.get("id"), str) else None
    return Draft(step_id, here, values, locations, needs, kind, bad_id, need_at)


def _located_needs(
    doc: Document, items: dict[Any, Any], parsed: list[tuple[str, SubPath]], at_field: Any
) -> tuple[list[tuple[str, Any]], Locations]:
    """Each need with the key of where it is written: its list item (`items`: their
    marks), or the field (`at_field`: its mark or Location) for a single one."""
    items["field"] = at_field
    return (
        [(name, at[0] if at and at[0] in items else "field") for name, at in parsed],
        Locations(doc.path, items),
    )


def _apply_defaults(values: dict[str, Any], locations: Locations, defaults: Defaults) -> None:
    for name, value in defaults.values.items():
        if name == "env" and name in values:  # merged key by key, the step's own win
            values[name] = (
                *((k, v) for k, v in value if k not in dict(values[name])),
                *values[name],
            )
            continue
        if name in values:
            continue
        # `hosts` and `local` decide a step's kind: a default one must not turn a step the
        # author wrote as manual or local (or remote) into a contradiction.
        if name == "hosts" and ("manual" in values or values.get("local")):
            continue
        if name == "local" and ("manual" in values or "hosts" in values):
            continue
        values[name] = value
        locations[name] = defaults.locations[name]


def _kind(
    doc: Document,
    path: PathKey,
    raw: dict[Any, Any],
    values: dict[str, Any],
    locations: Mapping[str, Location],
    step_id: str | None,
    issues: list[Issue],
) -> StepKind | None:
    """Manual, remote or local, exactly as SPEC "Details that matter" says."""
    name = f"step '{step_id}'" if step_id else "this step"
    commands = [f for f in (*WORK_FIELDS, "skip_if") if f in values]

    def key_at(f: str) -> Location:
        # the key on the step itself, else the value under `defaults:` it came from
        return doc.key_loc((*path, f)) if f in raw else locations[f]

    if "manual" in values:
        if commands:
            issues.append(
                Issue(
                    key_at(commands[0]),
                    f"{name} is manual and also has `{commands[0]}`",
                    "a step is exactly one of manual, remote or local: "
                    "split it into a manual step and an automated one",
                )
            )
            return None
        if values.get("local"):
            issues.append(
                Issue(
                    key_at("local"),
                    f"{name} is manual and also `local: true`",
                    "remove `local: true`; a manual step is done by the operator",
                )
            )
            return None
        return "manual"
    automated = [f for f in WORK_FIELDS if f in values]
    if values.get("local"):
        if "hosts" in values:
            issues.append(
                Issue(
                    key_at("hosts"),
                    f"{name} has `local: true` and `hosts`",
                    "a local step runs on this machine: remove `hosts`, or remove `local: true` "
                    "to run on the hosts",
                )
            )
            return None
        if not automated:
            issues.append(_needs_command(doc, path, name, commands))
            return None
        return "local"
    if "hosts" in values:
        if not automated:
            issues.append(_needs_command(doc, path, name, commands))
            return None
        return "remote"
    if commands:
        issues.append(
            Issue(
                key_at(commands[0]),
                f"{name} has `{commands[0]}` but no `hosts` and no `local: true`",
                "add `hosts: PATTERN` to run it on inventory hosts, or `local: true` to run it "
                "on this machine",
            )
        )
        return None
    issues.append(
        Issue(
            doc.loc(path),
            f"{name} is neither manual, remote nor local",
            "add `manual:` instructions, or `run:` with `hosts:` or `local: true`",
        )
    )
    return None


def _needs_command(doc: Document, path: PathKey, name: str, commands: list[str]) -> Issue:
    only = " (`skip_if` alone does not do anything)" if commands == ["skip_if"] else ""
    return Issue(
        doc.loc(path),
        f"{name} has nothing to run{only}",
        "add at least one of `run`, `until`, `verify`, `copy` or `fetch`, or make it a "
        "`manual:` step",
    )

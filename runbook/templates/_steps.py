"""`steps` as templates and `when` see it: what earlier steps did, from the fold alone.

Built from journaled data only (runbook/events fold), so a live run and a resumed one see
the same values. Each step is a Namespace (`steps['x'].ok`, `.results`, `.hosts`, and
`.rc`/`.stdout`/`.value` where it has one result); a value that cannot be read (output
past the kept 64 KiB, a secret lost with a previous engine, the one value of a step that
ran on several hosts) is an Undefined that says why as soon as a template uses it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import jinja2

from runbook.events import HostResult, StepState
from runbook.templates._render import Namespace

MASK = "***"


class Unreadable(jinja2.StrictUndefined):
    """A value a template may not use; its message says why."""


def _unreadable(why: str) -> Unreadable:
    return Unreadable(hint=why)


# What a decision (`when`, `hosts`) may not read of a skipped step before `.skipped`.
OUTCOME_KEYS = frozenset({"ok", "failed", "rc", "stdout", "value"})


class SkippedStep(Namespace):
    """A skipped step as `when` and `hosts` see it: reading its outcome before testing
    `.skipped` is an error, so `not steps['x'].ok` cannot silently mean "x was skipped"."""

    __slots__ = ("_tested",)

    def __getattribute__(self, name: str) -> Any:
        if name == "skipped":
            object.__setattr__(self, "_tested", True)
        elif name in OUTCOME_KEYS and not _tested(self):
            label = object.__getattribute__(self, "label")
            raise ValueError(
                f"{label} was skipped: its `{name}` means nothing; test "
                f"{label}.skipped first (e.g. `{label}.skipped or {label}.{name}`)"
            )
        return super().__getattribute__(name)


def _tested(view: SkippedStep) -> bool:
    try:
        return bool(object.__getattribute__(view, "_tested"))
    except AttributeError:
        return False


def step_view(
    s: StepState, secrets: Mapping[tuple[str, str], Any] | None = None, strict: bool = False
) -> Namespace:
    """What a template sees of step `s` (`steps[s.id]`); `strict` for `when` and `hosts`."""
    label = f"steps['{s.id}']"
    skipped = s.status == "skipped"
    order = list(s.selected) + [h for h in s.results if h not in s.selected]
    results = [
        _host_view(s.id, h, s.results.get(h), skipped, secrets or {})
        for h in order
        if h in s.results or skipped or s.status in ("succeeded", "failed")
    ]
    view: dict[str, Any] = {
        "id": s.id,
        "status": s.status,
        "ok": s.status == "succeeded",
        "failed": s.status == "failed",
        "skipped": skipped,
        "results": results,
        "hosts": {str(r["host"]): r for r in results},
        "value": None,
    }
    if s.kind == "manual":
        view["value"] = _manual_value(s, secrets or {})
    elif len(results) == 1:
        one = results[0]
        view.update(rc=one["rc"], stdout=one["stdout"], value=one["value"])
    elif len(results) > 1:
        why = (
            f"{label} ran on {len(results)} hosts: it has no single rc, stdout or value; "
            f"read {label}.results (one per host) or {label}.hosts['NAME'].value"
        )
        view.update(rc=_unreadable(why), stdout=_unreadable(why), value=_unreadable(why))
    if strict and skipped:
        return SkippedStep(label, view)
    return Namespace(label, view)


def _manual_value(s: StepState, secrets: Mapping[tuple[str, str], Any]) -> Any:
    secret = secrets.get((s.id, ""))
    if secret is not None:
        return secret
    if s.value == MASK and (s.input or {}).get("secret"):
        return _unreadable(
            f"steps['{s.id}'].value is a secret answered before the engine restarted: "
            f"it is asked again (runbook retry {s.id})"
        )
    return s.value


def _host_view(
    sid: str,
    host: str,
    r: HostResult | None,
    step_skipped: bool,
    secrets: Mapping[tuple[str, str], Any],
) -> Namespace:
    label = f"steps['{sid}'].hosts['{host}']"
    if r is None:
        status = "skipped" if step_skipped else "not_started"
        return Namespace(
            label,
            {
                "host": host,
                "status": status,
                "rc": None,
                "stdout": None,
                "stderr": None,
                "value": None,
                "ok": False,
                "skipped": step_skipped,
            },
        )
    stdout: Any = r.stdout
    value: Any = r.value
    if r.stdout_cut:
        why = (
            f"steps['{sid}'] on {host} printed more than the 64 KiB kept: its stdout and "
            "value cannot be read; make the command print less"
        )
        stdout = value = _unreadable(why)
    elif (sid, host) in secrets:
        value = secrets[(sid, host)]
    elif value == MASK and stdout == MASK:
        stdout = value = _unreadable(
            f"steps['{sid}'] on {host} is a secret output from before the engine restarted: "
            f"run the step again (runbook retry {sid})"
        )
    return Namespace(
        label,
        {
            "host": host,
            "status": r.status,
            "rc": r.rc,
            "stdout": stdout,
            "stderr": None,
            "value": value,
            "ok": r.status in ("succeeded", "skipped"),
            "skipped": r.status == "skipped",
        },
    )


def steps_view(
    states: Mapping[str, StepState],
    ids: Iterable[str],
    secrets: Mapping[tuple[str, str], Any] | None = None,
    strict: bool = False,
) -> dict[str, Namespace]:
    """`steps` for a template that reads `ids` (validate made sure they are needed);
    `strict`: for a decision (`when`, `hosts`), see SkippedStep."""
    return {sid: step_view(states[sid], secrets, strict) for sid in ids if sid in states}

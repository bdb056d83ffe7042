"""Playbook variables → values: `{env: NAME}` read when the run starts; secrets listed."""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from runbook.errors import InputError, Issue
from runbook.model import Host, Playbook, Variable
from runbook.secrets import SecretText, is_secret_name


@dataclass(frozen=True)
class ResolvedVars:
    """Variable values for templates, and which values must never be shown or journaled."""

    values: Mapping[str, Any]
    secrets: tuple[str, ...]  # secret values as text, for secrets.Redactor
    secret_names: tuple[str, ...] = ()


def resolve_vars(playbook: Playbook, environ: Mapping[str, str] | None = None) -> ResolvedVars:
    """Read every variable; one InputError naming each missing environment variable."""
    env = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    issues = []
    for name, var in playbook.vars.items():
        if var.env is None:
            values[name] = var.value
        elif var.env in env:
            values[name] = env[var.env]
        elif var.value is not None:
            values[name] = var.value  # `default:`
        else:
            issues.append(_missing(var))
    if issues:
        raise InputError(issues)
    names = tuple(name for name, var in playbook.vars.items() if var.secret)
    for name in names:
        values[name] = _mark(values[name])
    secrets = tuple(dict.fromkeys(t for name in names for t in _texts(values[name])))
    return ResolvedVars(values, secrets, names)


class Placeholder(str):
    """Stands for an unset `{env: NAME}` while templates are checked: arithmetic, `| int`
    and comparisons on it succeed, so only the template's own mistakes are reported."""

    __slots__ = ()

    def _same(self, *_: Any) -> Placeholder:
        return self

    __add__ = __radd__ = __sub__ = __rsub__ = __mul__ = __rmul__ = _same
    __truediv__ = __rtruediv__ = __floordiv__ = __rfloordiv__ = __mod__ = __rmod__ = _same
    __pow__ = __rpow__ = __neg__ = __pos__ = _same

    def __int__(self) -> int:
        return 0

    def __float__(self) -> float:
        return 0.0

    def __lt__(self, other: object) -> bool:
        return False

    __le__ = __gt__ = __ge__ = __lt__


PLACEHOLDER = "<{env}>"


def validation_values(playbook: Playbook) -> tuple[dict[str, Any], bool]:
    """Values to check templates with before a run: `{env: NAME}` gets its default, else a
    placeholder — never the environment's value, so validation does not depend on the shell
    it runs in and a secret cannot reach an error message.

    The flag says whether a placeholder was used, i.e. whether a failure other than an
    undefined name could be the placeholder's fault rather than the template's.
    """
    values: dict[str, Any] = {}
    guessed = False
    for name, var in playbook.vars.items():
        if var.env is None or var.value is not None:
            values[name] = _mark(var.value) if var.secret else var.value
        else:
            values[name] = Placeholder(PLACEHOLDER.format(env=var.env))
            guessed = True
    return values, guessed


def _missing(var: Variable) -> Issue:
    return Issue(
        var.location,
        f"environment variable {var.env} is not set (variable '{var.name}')",
        f"export {var.env}=... before starting the run, "
        f"or give a default: {{env: {var.env}, default: ...}}",
    )


def inventory_secrets(hosts: Mapping[str, Host]) -> tuple[str, ...]:
    """Values of host variables named like secrets (`db_password`, `ansible_become_pass`):
    SPEC §5's rule is by name, "whatever their form", so the inventory's count too."""
    found: dict[str, None] = {}

    def walk(value: Any) -> None:
        if isinstance(value, Mapping):
            for name, inner in value.items():
                if is_secret_name(str(name)):
                    found.update(dict.fromkeys(_texts(inner)))
                else:
                    walk(inner)
        elif isinstance(value, (list, tuple)):
            for inner in value:
                walk(inner)

    for host in hosts.values():
        walk(host.vars)
    return tuple(found)


def _mark(value: Any) -> Any:
    """Text inside a secret value as SecretText, so template errors know to mask it."""
    if isinstance(value, str):
        return SecretText(value)
    if isinstance(value, Mapping):
        return {k: _mark(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_mark(v) for v in value]
    return value


def _texts(value: Any) -> Iterator[str]:
    """Every scalar inside a value, as text: a secret list or mapping is secret throughout."""
    if value is None:
        return
    if isinstance(value, Mapping):
        for v in value.values():
            yield from _texts(v)
    elif isinstance(value, (list, tuple)):
        for v in value:
            yield from _texts(v)
    else:
        yield str(value)

"""Every template of a playbook, parsed and tried before anything runs, problems located.

Most templates are plain substitutions (`systemctl restart {{ vars.svc }}`); proving those
by looking the names up is ~100x cheaper than compiling them with Jinja, which matters at
10,000 steps. Anything else, and any lookup that fails, goes through Jinja itself, so the
verdict and the message are always Jinja's.
"""

from __future__ import annotations

import re
import traceback
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import jinja2
from jinja2.exceptions import SecurityError, TemplateSyntaxError, UndefinedError

from runbook.errors import InputError, Issue
from runbook.load._source import read_text
from runbook.load._variables import validation_values
from runbook.model import Host, Inventory, Location, Playbook, Step
from runbook.templates import (
    RENDER_ERRORS,
    compile_template,
    context,
    describe_error,
    has_template,
    syntax_hint,
)

TEMPLATE_FIELDS = ("title", "manual", "run", "skip_if", "until", "verify")
COMMAND_FIELDS = frozenset({"run", "skip_if", "until", "verify"})
# Renders spent on trying templates that use `host` against every host of their step; past
# it, only each step's first host is tried so 10,000 steps x 5,000 hosts stays fast.
RENDER_BUDGET = 20_000
_USES_HOST = re.compile(r"\bhost\b")
_SIMPLE = re.compile(r"\{\{-?\s*([A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*)\s*(?:\|\s*raw\s*)?-?\}\}")
# Jinja reads these as operators or literals, not as attribute names.
_KEYWORDS = frozenset(
    [
        "and",
        "or",
        "not",
        "in",
        "is",
        "if",
        "else",
        "true",
        "false",
        "none",
        "True",
        "False",
        "None",
        "block",
        "endblock",
    ]
)
_simple_cache: dict[str, list[list[str]] | None] = {}


def check_templates(
    playbook: Playbook,
    step_hosts: Mapping[str, Sequence[str]] | None = None,
    inventory: Inventory | None = None,
) -> list[Issue]:
    """Every template syntax error and undefined name, located, before anything runs."""
    values, guessed = validation_values(playbook)
    checker = _Checker(values, guessed, inventory.hosts if inventory is not None else {})
    for step in playbook.steps:
        names: Sequence[str] = ()
        if step.kind == "remote" and step_hosts is not None:
            names = step_hosts.get(step.id, ())
        for field in TEMPLATE_FIELDS:
            source = getattr(step, field)
            if source and has_template(source):
                if _known_at_run_time(step, field, source):
                    # reads `steps` (or a manual step's `hosts`): only the run has them;
                    # the syntax and what it reads are checked by load/_step_reads.py
                    continue
                checker.check(step, field, source, names)
    return checker.issues


_RUN_TIME = re.compile(r"\bsteps\b")
_HOSTS = re.compile(r"\bhosts\b")


def _known_at_run_time(step: Step, field: str, source: str) -> bool:
    if _RUN_TIME.search(source):
        return True
    return step.kind == "manual" and field == "manual" and bool(_HOSTS.search(source))


def syntax_issues(fields: Iterable[tuple[str, str, Location]]) -> list[Issue]:
    """Template syntax errors alone, of (field, source, where): for a playbook whose other
    errors stop the full check (no names can be looked up then), so that every problem
    still comes out in one pass."""
    checker = _Checker({}, True, {})
    for name, source, where in fields:
        if has_template(source):
            checker.compiled(name, source, name in COMMAND_FIELDS, where)
    return checker.issues


def simple_paths(source: str) -> list[list[str]] | None:
    """The dotted names of a template made only of `{{ a.b.c }}` (`| raw`), else None."""
    if source in _simple_cache:
        return _simple_cache[source]
    paths: list[list[str]] | None = None
    if "{%" not in source and "{#" not in source and "{{" not in _SIMPLE.sub("", source):
        paths = [m.group(1).split(".") for m in _SIMPLE.finditer(source)]
        if any(part in _KEYWORDS for path in paths for part in path):
            paths = None
    if len(_simple_cache) > 50_000:
        _simple_cache.clear()
    _simple_cache[source] = paths
    return paths


def _found(ctx: Mapping[str, Any], path: Sequence[str]) -> bool:
    current: Any = ctx
    for part in path:
        if not isinstance(current, Mapping) or part not in current:
            return False
        current = current[part]
    return True


def _host_fields(host: Host) -> dict[str, Any]:
    """What `host` holds in a template, without building a whole context."""
    return {
        "name": host.name,
        "address": host.address,
        "port": host.port,
        "user": host.user,
        "groups": host.groups,
        "vars": host.vars,
    }


# `host.name`, `host.vars`...: there on every host.
_HOST_FIELDS = frozenset(_host_fields(Host("", "")))


class _Simple:
    """What a plain-substitution template needs, worked out once per distinct template."""

    __slots__ = ("base_ok", "host_paths", "on_host")

    def __init__(self, paths: list[list[str]], base: Mapping[str, Any]) -> None:
        on_host = [tuple(p[1:]) for p in paths if p[0] == "host"]
        self.on_host = bool(on_host)
        self.base_ok = all(_found(base, p) for p in paths if p[0] != "host")
        # Only names below a host field differ from host to host (`host.vars.rack`).
        self.host_paths = [p for p in on_host if len(p) > 1 or (p and p[0] not in _HOST_FIELDS)]


class _Checker:
    def __init__(self, values: Mapping[str, Any], guessed: bool, hosts: Mapping[str, Host]) -> None:
        self.values = values
        self.base = context(values, None, "validate", "live")
        self.guessed = guessed
        self.hosts = hosts
        self.budget = RENDER_BUDGET
        self.issues: list[Issue] = []
        self.lines: dict[str, list[str]] = {}
        # 10,000 steps repeat a few templates over a few thousand hosts: each verdict once.
        self.uses_host: dict[str, bool] = {}
        self.simple: dict[str, _Simple | None] = {}
        self.host_fields: dict[str, dict[str, Any]] = {}
        self.found_on_host: dict[tuple[str, tuple[str, ...]], bool] = {}

    def check(self, step: Step, field: str, source: str, names: Sequence[str]) -> None:
        command = field in COMMAND_FIELDS
        remote = command and step.kind == "remote"
        tried: list[str] = []
        uses_host = False
        if remote:
            known = self.uses_host.get(source)
            if known is None:
                known = self.uses_host[source] = bool(_USES_HOST.search(source))
            uses_host = known
            chosen = names if uses_host and self.budget > 0 else names[:1]
            tried = [n for n in chosen if n in self.hosts]
            if not tried:
                return  # no host to render with; an unmatched pattern is reported apart
            self.budget -= len(tried)
        if self._simple_ok(source, remote, tried):
            return
        contexts: list[tuple[dict[str, Any], str | None]] = [(self.base, None)]
        if remote:
            contexts = [
                (context(self.values, self.hosts[n], "validate", "live"), n if uses_host else None)
                for n in tried
            ]
        self._with_jinja(step, field, source, command, contexts)

    def _simple_ok(self, source: str, remote: bool, tried: list[str]) -> bool:
        if source in self.simple:
            simple = self.simple[source]
        else:
            paths = simple_paths(source)
            simple = self.simple[source] = None if paths is None else _Simple(paths, self.base)
        if simple is None:
            return False
        if simple.on_host and not remote:
            return False  # `host` is undefined here: let Jinja say so
        if not simple.base_ok:
            return False
        for name in tried if simple.host_paths else ():
            for path in simple.host_paths:
                ok = self.found_on_host.get((name, path))
                if ok is None:
                    ok = self.found_on_host[(name, path)] = _found(self._fields(name), path)
                if not ok:
                    return False
        return True

    def _fields(self, name: str) -> dict[str, Any]:
        fields = self.host_fields.get(name)
        if fields is None:
            fields = self.host_fields[name] = _host_fields(self.hosts[name])
        return fields

    def _with_jinja(
        self,
        step: Step,
        name: str,
        source: str,
        command: bool,
        contexts: list[tuple[dict[str, Any], str | None]],
    ) -> None:
        where = step.field_locations.get(name, step.location)
        template = self.compiled(name, source, command, where)
        if template is None:
            return
        for ctx, host_name in contexts:
            try:
                template.render(ctx)
            except RENDER_ERRORS as e:
                if self.guessed and not isinstance(e, (UndefinedError, SecurityError)):
                    return  # may be the placeholder of an unset {env: ...}, not the template
                message, hint = describe_error(e, ctx)
                on = f" (host {host_name})" if host_name else ""
                self.issues.append(
                    Issue(
                        self._at(where, _template_line(e)),
                        f"`{name}` template: {message}{on}",
                        hint,
                    )
                )
                return

    def compiled(
        self, name: str, source: str, command: bool, where: Location
    ) -> jinja2.Template | None:
        """The compiled template, or None with its syntax error noted."""
        try:
            return compile_template(source, command)
        except TemplateSyntaxError as e:
            self.issues.append(
                Issue(
                    self._at(where, e.lineno),
                    f"`{name}` template: syntax error: {e.message}",
                    syntax_hint(e),
                )
            )
            return None

    def _at(self, where: Location, lineno: int | None) -> Location:
        """Where line `lineno` of a template stands in its file (block scalars start below)."""
        if not lineno:
            return where
        lines = self._lines(where.file)
        own = lines[where.line - 1] if 0 < where.line <= len(lines) else ""
        if where.col - 1 < len(own) and own[where.col - 1] in "|>":
            target = where.line + lineno
            text = lines[target - 1] if 0 < target <= len(lines) else ""
            return Location(where.file, target, len(text) - len(text.lstrip()) + 1)
        if lineno > 1:
            return Location(where.file, where.line + lineno - 1, 1)
        return where

    def _lines(self, path: str) -> list[str]:
        if path not in self.lines:
            try:
                self.lines[path] = read_text(path).splitlines()
            except InputError:
                self.lines[path] = []
        return self.lines[path]


def _template_line(err: BaseException) -> int | None:
    """The template line an error was raised on: Jinja rewrites tracebacks to point there."""
    line = None
    for frame, lineno in traceback.walk_tb(err.__traceback__):
        if frame.f_code.co_filename == "<template>":
            line = lineno
    return line

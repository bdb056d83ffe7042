"""What steps read of each other (`steps['x']`), and the checks on it, before any run.

A step may read only steps it needs, directly or through other needs, and only by a
constant key: then every value it reads is journaled before it starts, in every order the
engine may choose. Found in the templates' syntax trees, so `{{ steps['a'].value }}` in a
command and `not steps['b'].ok` in `when` are one rule.

Also here: `{{ }}` inside shell quotes (the value is quoted already: `grep '{{ v }}'` with
`v = "a b"` would run `grep ''a b''`), and the rules on which kind of step takes which
of the deciding fields.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any, cast

from runbook import templates  # Jinja2 is loaded by the first template there is
from runbook.errors import Issue
from runbook.model import Location, Step
from runbook.templates import has_template

if TYPE_CHECKING:
    from jinja2 import nodes

COMMAND_FIELDS = ("run", "skip_if", "until", "verify")
TEXT_FIELDS = ("title", "manual", "hosts")
INPUT_FIELDS = ("choices", "default", "prompt")
# Their syntax errors are located line by line by _template_check.py, for every step.
CHECKED_LINE_BY_LINE = frozenset({"title", "manual", *COMMAND_FIELDS})
# Stands for the tree of a template that names no `steps` (no second parse for it).
_READS_NO_STEPS = cast("nodes.Template", object())
# What can change the quote lexer's state: braces (templates), backslash, quotes, `$(`, `)`.
_LEXED = re.compile(r"[{\\'\"$)]")


def step_reads(steps: Sequence[Step]) -> tuple[list[Step], list[Issue]]:
    """The steps with `reads` filled in, and every problem with what they read."""
    by_id = {s.id: s for s in steps}
    closure = _Closure(by_id)
    issues: list[Issue] = []
    out: list[Step] = []
    for step in steps:
        issues.extend(_kind_rules(step))
        reads: set[str] = set()
        for field, source, command, key in _templates(step):
            tree = _tree(source, command, field, step, key, issues)
            if tree is not None and tree is not _READS_NO_STEPS:
                where = step.field_locations.get(key, step.location)
                reads |= _reads(step, field, tree, by_id, closure, where, issues)
            if command and tree is not None:
                issues.extend(_quoted_templates(field, source, step, key))
        out.append(replace(step, reads=tuple(sorted(reads))) if reads else step)
    return out, issues


def _reads(
    step: Step,
    field: str,
    tree: nodes.Template,
    by_id: Mapping[str, Step],
    closure: _Closure,
    where: Location,
    issues: list[Issue],
) -> set[str]:
    """The steps one template reads; what is wrong with how it reads them goes to `issues`."""
    if dynamic_reads(tree):
        issues.append(
            Issue(
                where,
                f"`{field}` reads `steps` without a constant key",
                "name the step: steps['find-seqno'] (so validate can check it is "
                "needed and finished before this step starts)",
            )
        )
    reads: set[str] = set()
    for key in _steps_keys(tree):
        problem = _check_key(step, field, key, by_id, closure, where)
        if problem is not None:
            issues.append(problem)
        else:
            reads.add(key)
    return reads


def _templates(step: Step) -> Iterator[tuple[str, str, bool, str]]:
    """(field, template source, shell-quoted, the key of where it is in the step's
    `field_locations`) of every template of the step.

    A Location is made only for a template that is reported: 10,000 steps have ~25,000
    templates, and a valid playbook reports none.
    """
    for field in (*TEXT_FIELDS, *COMMAND_FIELDS):
        source = getattr(step, field)
        if source and has_template(source):
            yield field, source, field in COMMAND_FIELDS, field
    if step.when:
        yield "when", "{{ (" + step.when + ") }}", False, "when"
    if step.input is not None:
        for key in INPUT_FIELDS:
            source = getattr(step.input, key)
            if isinstance(source, str) and has_template(source):
                yield f"input.{key}", source, False, "input"


def _tree(
    source: str, command: bool, field: str, step: Step, key: str, issues: list[Issue]
) -> nodes.Template | None:
    from jinja2.exceptions import TemplateSyntaxError

    try:
        if field == "when":
            templates.check_expression(source[len("{{ (") : -len(") }}")])
        else:
            templates.compile_template(source, command)
        if "steps" not in source:
            # Nothing it reads can be `steps`: no second parse (a quarter of validating
            # 10,000 steps went to parsing every template again, for this).
            return _READS_NO_STEPS
        return templates.parse_template(source, command)
    except TemplateSyntaxError as e:
        where = step.field_locations.get(key, step.location)
        if field == "when":
            message = (e.message or "").replace("'end of template'", "end of the expression")
            hint = (
                "write a Jinja expression, e.g. not steps['check'].ok and steps['size'].value < 3"
            )
            issues.append(Issue(where, f"`when` expression: syntax error: {message}", hint))
        elif field not in CHECKED_LINE_BY_LINE:
            issues.append(
                Issue(
                    where,
                    f"`{field}` template: syntax error: {e.message}",
                    templates.syntax_hint(e),
                )
            )
        return None


def _steps_keys(tree: nodes.Node) -> Iterator[str]:
    """The constant key of each read of `steps` (`steps['x']`, `steps.x`)."""
    from jinja2 import nodes

    for node in tree.find_all((nodes.Getitem, nodes.Getattr)):
        key = _constant_key(node, nodes)
        if key is not None:
            yield key


def _constant_key(node: nodes.Node, jinja_nodes: Any) -> str | None:
    """`x` of `steps['x']` or `steps.x`; None for anything else (jinja2.nodes passed in)."""
    inner = getattr(node, "node", None)
    if not (isinstance(inner, jinja_nodes.Name) and inner.name == "steps"):
        return None
    if isinstance(node, jinja_nodes.Getattr):
        return str(node.attr)
    arg = getattr(node, "arg", None)
    if isinstance(arg, jinja_nodes.Const) and isinstance(arg.value, str):
        return arg.value
    return None


def _check_key(
    step: Step,
    field: str,
    key: str,
    by_id: Mapping[str, Step],
    closure: _Closure,
    where: Location,
) -> Issue | None:
    if key not in by_id:
        close = difflib.get_close_matches(key, list(by_id), n=1)
        hint = f"did you mean steps['{close[0]}']?" if close else "name a step of this playbook"
        return Issue(where, f"`{field}` reads steps['{key}']: there is no step '{key}'", hint)
    if key == step.id:
        return Issue(
            where,
            f"`{field}` of step '{step.id}' reads its own result",
            "a step can read only steps that finished before it: the steps it needs",
        )
    if key not in closure.of(step.id):
        return Issue(
            where,
            f"step '{step.id}' reads steps['{key}'] but does not need it",
            f"add needs: [{key}] (a step may read only steps it needs, directly or through "
            "other needs, so their results exist when it starts)",
        )
    return None


class _Closure:
    """Every step a step needs, directly or not (computed for the steps that read only)."""

    def __init__(self, by_id: Mapping[str, Step]) -> None:
        self.by_id = by_id
        self.cache: dict[str, frozenset[str]] = {}

    def of(self, sid: str) -> frozenset[str]:
        found = self.cache.get(sid)
        if found is not None:
            return found
        seen: set[str] = set()
        todo = list(self.by_id[sid].needs) if sid in self.by_id else []
        while todo:
            n = todo.pop()
            if n in seen or n not in self.by_id:
                continue
            seen.add(n)
            done = self.cache.get(n)
            if done is not None:
                seen |= done
                continue
            todo.extend(self.by_id[n].needs)
        found = self.cache[sid] = frozenset(seen)
        return found


def dynamic_reads(tree: nodes.Node) -> bool:
    """`steps` read other than by a constant key: `steps[name]`, `steps | list`..."""
    from jinja2 import nodes

    constant = sum(
        1
        for node in tree.find_all((nodes.Getitem, nodes.Getattr))
        if _constant_key(node, nodes) is not None
    )
    names = sum(1 for n in tree.find_all(nodes.Name) if n.name == "steps" and n.ctx == "load")
    return names > constant


def _kind_rules(step: Step) -> Iterator[Issue]:
    """Which kind of step takes which deciding field."""
    at = step.field_locations
    name = f"step '{step.id}'"
    if step.input is not None and step.kind != "manual":
        yield Issue(
            at.get("input", step.location),
            f"{name} has `input` but is not manual",
            "`input` asks the operator for a value: only a manual step has one; "
            "use `output:` to take a value from a command",
        )
    if step.output is not None and step.kind == "manual":
        yield Issue(
            at.get("output", step.location),
            f"{name} is manual and has `output`",
            "a manual step has no command output: use `input:` to ask the operator for a value",
        )
    if step.example is not None and step.output is None and step.input is None:
        yield Issue(
            at.get("example", step.location),
            f"{name} has `example` but no `output`",
            "`example` is what rehearsals take as the parsed output: add `output:` or remove it",
        )
    if step.chance is not None and step.when is None:
        yield Issue(
            at.get("chance", step.location),
            f"{name} has `chance` but no `when`",
            "`chance` is the probability that `when` holds: add `when:` or remove `chance`",
        )
    if step.run_once and step.kind != "remote":
        yield Issue(
            at.get("run_once", step.location),
            f"{name} has `run_once` but does not run on hosts",
            "`run_once` picks the first of a step's hosts: remove it",
        )
    if step.input is not None and isinstance(step.input.choices, tuple) and step.input.default:
        default = step.input.default
        if not has_template(default) and default not in step.input.choices:
            yield Issue(
                at.get("input", step.location),
                f"{name}: input default {default!r} is not one of its choices",
                f"choose one of: {', '.join(step.input.choices)}",
            )


def _quoted_templates(field: str, source: str, step: Step, key: str) -> Iterator[Issue]:
    """`{{ }}` between shell quotes: the substituted value is shell-quoted already."""
    for quote, expr in _inside_quotes(source):
        if expr.rstrip().endswith("| raw") or expr.rstrip().endswith("|raw"):
            continue
        kind = "single" if quote == "'" else "double"
        yield Issue(
            step.field_locations.get(key, step.location),
            f"`{field}`: {{{{ {expr.strip()} }}}} is inside {kind} quotes",
            "runbook quotes every substituted value for the shell already: remove the quotes "
            "around it, or write `| raw` to substitute it as is",
        )


def _inside_quotes(source: str) -> Iterator[tuple[str, str]]:
    """(quote, expression) of each `{{ }}` that stands inside shell quotes.

    A small shell lexer: single quotes take everything literally; double quotes honour
    backslashes and open a fresh context at `$(`, closed by its `)`. It jumps from one
    character that may change its state to the next: most of a command is neither, and a
    loop over every character was a fifth of validating 10,000 steps.
    """
    if "'" not in source and '"' not in source:
        return  # nothing is quoted
    stack: list[str] = [""]  # "" outside quotes, "'" or '"', "(" inside $( ) in "..."
    i, n = 0, len(source)
    next_special = _LEXED.search
    while True:
        m = next_special(source, i)
        if m is None:
            return
        i = m.start()
        c = source[i]
        top = stack[-1]
        if c == "{":
            after = source[i + 1 : i + 2]
            if after == "{":
                end = source.find("}}", i + 2)
                end = n if end < 0 else end
                if top in ("'", '"'):
                    yield top, source[i + 2 : end]
                i = end + 2
            elif after in ("%", "#"):
                end = source.find(after + "}", i + 2)
                i = n if end < 0 else end + 2
            else:
                i += 1
            continue
        if top == "'":
            if c == "'":
                stack.pop()
        elif top == '"':
            if c == "\\":
                i += 1
            elif c == '"':
                stack.pop()
            elif source.startswith("$(", i):
                stack.append("(")
                i += 1
        else:
            if c == "\\":
                i += 1
            elif c in ("'", '"'):
                stack.append(c)
            elif c == ")" and top == "(":
                stack.pop()
            elif source.startswith("$(", i):
                stack.append("(")
                i += 1
        i += 1

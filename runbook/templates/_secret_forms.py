"""What templates make of secrets: `{{ vars.db_password | upper }}` is no longer the secret.

The Redactor masks secret values as they are, but a filter (`upper`, `reverse`, a slice,
`replace`, `urlencode`, `tojson`, a join...) derives text that matches none of them. So a
template that can reach a secret (template_reads.py, decided once per template) is rendered
a second time with every secret replaced by a stand-in of the same length; wherever the two
renderings differ, the real one holds something derived from a secret. Those stretches are
masked in the text that is journaled and shown, and taught to the Redactor so that output
echoing them is masked too. Templates that cannot reach a secret cost nothing more.
"""

from __future__ import annotations

import contextlib
import dataclasses
import re
import shlex
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from difflib import SequenceMatcher
from typing import Any, TypeAlias

from runbook.model import Host, RunMode
from runbook.secrets import MASK, MIN_MASKED, Redactor, SecretText
from runbook.templates._jinja import RENDER_ERRORS, compile_template, render_masked, template_reads
from runbook.templates._reads import Key, Read
from runbook.templates._render import context, has_template, text_of

# Fill characters for stand-ins, in order of preference: one the secret lacks, so a
# stand-in shares no character with the secret and upper-/lower-casing keeps them apart.
_LETTERS = "qzxjkvwyfgbpmdhclnrsuteoai" + "жщюфэ"
_DIGITS = "7395184062"
# For characters the shell must quote (shlex's unsafe set, non-ASCII included): the
# stand-in then is quoted exactly when the secret is, and the quotes compare equal.
_UNSAFE = "~^*!?#&;|<>"
_SHELL_SAFE = frozenset("@%+=:,./-_")
# Renderings are compared word by word (runs of \w, each other character alone): an
# encoding (hex, base64, %XX) that shares a few characters with the stand-in's differs
# as a whole word. Equal text shorter than this between two differing words belongs to
# them (`a:b` of two secrets is masked as one).
_WORDS = re.compile(r"\w+|\W")
_MIN_GAP = 3
# Past this many word pairs the middle of a long rendering is masked in one piece instead
# of being diffed (difflib is quadratic).
_DIFF_LIMIT = 1_000_000

# A secret-bearing part of a value: True (a secret, or a list or text holding one), or
# the bearing keys of a mapping.
Tree: TypeAlias = bool | dict[Key, "Tree"]


def stand_in(secret: str) -> str:
    """A value of the same length and shape (digits stay digits, letters keep their case,
    quoting stays needed or not) that shares no character with `secret`."""
    low = secret.lower()
    letter = next((c for c in _LETTERS if c not in low), "q")
    digit = next((c for c in _DIGITS if c not in secret), "7")
    unsafe = next((c for c in _UNSAFE if c not in secret), "~")
    out = []
    for ch in secret:
        if "0" <= ch <= "9":
            out.append(digit)
        elif ch.isascii() and ch.isalpha():
            out.append(letter.upper() if ch.isupper() else letter)
        elif ch in _SHELL_SAFE:
            out.append(letter)
        else:
            out.append(unsafe)
    return "".join(out)


@dataclass(frozen=True)
class Derived:
    """A rendering as it may be shown, and the secret-derived text it held."""

    shown: str
    forms: tuple[str, ...] = ()


def derive(real: str, masked: str) -> Derived:
    """Compare a rendering with secrets (`real`) and with stand-ins (`masked`): every
    stretch where they differ is derived from a secret and becomes *** in `shown`."""
    spans = _spans(real, masked)
    if not spans:
        return Derived(real)
    merged: list[tuple[int, int]] = []
    for a, b in spans:
        if merged and a - merged[-1][1] < _MIN_GAP:
            merged[-1] = (merged[-1][0], b)
        else:
            merged.append((a, b))
    parts: list[str] = []
    at = 0
    for a, b in merged:
        parts += [real[at:a], MASK]
        at = b
    parts.append(real[at:])
    forms: set[str] = set()
    for a, b in {*spans, *merged}:
        forms.update(_unquoted(real[a:b]))
    return Derived("".join(parts), tuple(sorted(f for f in forms if len(f) >= MIN_MASKED)))


def _spans(real: str, masked: str) -> list[tuple[int, int]]:
    """Where `real` differs from `masked`, as (start, end) in `real`, word by word."""
    if real == masked:
        return []
    ours = _WORDS.findall(real)
    theirs = _WORDS.findall(masked)
    starts = [0]
    for word in ours:
        starts.append(starts[-1] + len(word))
    # The common ends are the template's own text: diff only what lies between.
    head = 0
    while head < min(len(ours), len(theirs)) and ours[head] == theirs[head]:
        head += 1
    tail = 0
    while tail < min(len(ours), len(theirs)) - head and ours[-1 - tail] == theirs[-1 - tail]:
        tail += 1
    mid_ours, mid_theirs = ours[head : len(ours) - tail], theirs[head : len(theirs) - tail]
    if not mid_ours:
        return []
    if len(mid_ours) * len(mid_theirs) > _DIFF_LIMIT:
        return [(starts[head], starts[len(ours) - tail])]
    matcher = SequenceMatcher(None, mid_ours, mid_theirs, autojunk=False)
    return [
        (starts[head + i1], starts[head + i2])
        for tag, i1, i2, _, _ in matcher.get_opcodes()
        if tag != "equal" and i2 > i1
    ]


def _unquoted(piece: str) -> set[str]:
    """`piece` and how a command prints it: a stretch of a rendered command may hold shell
    quoting (`'P@SS W'`, `IT'"'"'S`) that `echo` does not print."""
    flat = piece.replace("'\"'\"'", "'")
    found = {piece, flat, flat.strip("'")}
    # An unbalanced quote (the stretch began or ended inside a quoted word) splits nothing.
    with contextlib.suppress(ValueError):
        found.update(shlex.split(piece))
    return found


class SecretForms:
    """For one run: which templates reach a secret, and how their renderings may be shown.

    `values` are the playbook's variables, `hosts` the inventory; every text in
    `redactor.secrets` is a secret wherever it occurs (and SecretText always is).
    """

    def __init__(
        self,
        redactor: Redactor,
        values: Mapping[str, Any],
        hosts: Mapping[str, Host],
        run_id: str,
        mode: RunMode,
    ) -> None:
        self.redactor = redactor
        self.values = values
        self.hosts = hosts
        self.run_id = run_id
        self.mode = mode
        self._exact = frozenset(redactor.secrets)
        inside = sorted((s for s in self._exact if len(s) >= MIN_MASKED), key=len, reverse=True)
        self._inside = re.compile("|".join(map(re.escape, inside))) if inside else None
        self._marked_values, vars_tree = self._mark(values)
        self._trees: dict[str, Tree | None] = {"vars": vars_tree}
        self._marked_hosts: dict[str, tuple[Host, Tree | None]] = {}
        self._verdicts: dict[tuple[bool, str], bool] = {}

    def shown(self, source: str, real: str, host: str | None, command: bool) -> str:
        """`real`, the rendering of `source`, as it may be journaled and shown. What it
        derived from secrets is taught to the Redactor, for the output that echoes it."""
        if not self.reaches(source, command):
            return real
        derived = self._derive(source, real, host, command)
        self.redactor.learn(derived.forms)
        return derived.shown

    # -- which templates ------------------------------------------------------------------

    def reaches(self, source: str, command: bool) -> bool:
        """Whether the template can read a secret (decided once per template)."""
        key = (command, source)
        verdict = self._verdicts.get(key)
        if verdict is None:
            verdict = has_template(source) and any(
                self._reaches(read) for read in template_reads(source, command)
            )
            self._verdicts[key] = verdict
        return verdict

    def _reaches(self, read: Read) -> bool:
        root, keys = read
        node = self._tree(root)
        if node is None:
            return False
        for key in keys:
            if not isinstance(node, dict):
                return True  # a secret itself, or a list holding one
            if key in node:
                node = node[key]
                continue
            # Not a secret's key; but `vars.items()` or `host.vars.values()` reach them all.
            return isinstance(key, str) and hasattr(dict, key)
        return True  # the keys end on a secret, or on a mapping that holds one

    def _tree(self, root: str) -> Tree | None:
        if root not in self._trees:
            # `host`: the secret-bearing keys of every host's vars together, once a run.
            merged: Tree | None = None
            for name in self.hosts:
                merged = _union(merged, self._host(name)[1])
            self._trees[root] = {"vars": merged} if merged is not None and root == "host" else None
        return self._trees[root]

    # -- rendering with stand-ins ---------------------------------------------------------

    def _derive(self, source: str, real: str, host: str | None, command: bool) -> Derived:
        template = compile_template(source, command)
        marked_host = self._host(host)[0] if host is not None and host in self.hosts else None
        try:
            masked = template.render(
                context(self._marked_values, marked_host, self.run_id, self.mode)
            )
        except RENDER_ERRORS:
            # The template needs the secret's own shape (a lookup keyed by it, a split on
            # a character the stand-in lacks): it cannot be compared, so mask more.
            return self._conservative(source, host, command)
        return derive(real, masked)

    def _conservative(self, source: str, host: str | None, command: bool) -> Derived:
        """Every `{{ }}` shown as ***; what they stood for is masked in output too, short of
        values that plainly are no secret (a host's name, a playbook value)."""
        real_host = self.hosts.get(host) if host is not None else None
        ctx = context(self.values, real_host, self.run_id, self.mode)
        seen: list[str] = []
        try:
            shown = render_masked(source, ctx, command, seen)
        except RENDER_ERRORS:
            shown = MASK  # not even that renders: show nothing of it
        plain = set(_scalars(ctx)) - self._exact
        forms = {f for value in seen if value not in plain for f in _unquoted(value)}
        return Derived(shown, tuple(sorted(f for f in forms if len(f) >= MIN_MASKED)))

    def _host(self, name: str) -> tuple[Host, Tree | None]:
        """A host with stand-ins in its vars, and where they are."""
        found = self._marked_hosts.get(name)
        if found is None:
            real = self.hosts[name]
            marked, tree = self._mark(real.vars)
            host = dataclasses.replace(real, vars=marked) if tree is not None else real
            found = self._marked_hosts[name] = (host, tree)
        return found

    # -- stand-ins ------------------------------------------------------------------------

    def _mark(self, value: Any) -> tuple[Any, Tree | None]:
        """`value` with every secret replaced by its stand-in, and where they were."""
        if isinstance(value, str):
            marked = self._mark_text(value)
            return (marked, True) if marked is not value else (value, None)
        if isinstance(value, Mapping):
            out: dict[Any, Any] = {}
            tree: dict[Key, Tree] = {}
            for k, v in value.items():
                out[k], sub = self._mark(v)
                if sub is not None:
                    tree[k] = sub
            return (out, tree) if tree else (value, None)
        if isinstance(value, (list, tuple)):
            items = [self._mark(v) for v in value]
            if all(sub is None for _, sub in items):
                return value, None
            return type(value)(v for v, _ in items), True
        if value is None or isinstance(value, bool) or str(value) not in self._exact:
            return value, None
        text = stand_in(str(value))
        try:
            return type(value)(text), True  # a number stays a number: `| int`, arithmetic
        except (TypeError, ValueError):
            return text, True

    def _mark_text(self, text: str) -> str:
        if isinstance(text, SecretText) or text in self._exact:
            return stand_in(text)
        if self._inside is None or self._inside.search(text) is None:
            return text
        # A secret inside a longer value (a URL with a password in it).
        return self._inside.sub(lambda m: stand_in(m.group()), text)


def _union(a: Tree | None, b: Tree | None) -> Tree | None:
    if a is None:
        return b
    if b is None:
        return a
    if not isinstance(a, dict) or not isinstance(b, dict):
        return True
    out: dict[Key, Tree] = dict(a)
    for k, v in b.items():
        both = _union(out.get(k), v)
        if both is not None:
            out[k] = both
    return out


def _scalars(value: Any) -> Iterable[str]:
    """The text of every scalar in a template context."""
    if isinstance(value, Mapping):
        for inner in dict.values(value) if isinstance(value, dict) else value.values():
            yield from _scalars(inner)
    elif isinstance(value, (list, tuple)):
        for inner in value:
            yield from _scalars(inner)
    elif value is not None:
        yield text_of(value)

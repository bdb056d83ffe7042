"""What a template reads of `vars` and `host`, found in its syntax tree once, when compiled.

A read is a root and the constant keys below it: `vars.db.password` is
`("vars", ("db", "password"))`. Anything the keys cannot name — `vars[name]`, `vars`
passed whole to a filter or a loop, `{% set v = vars %}` — reads the root (or the part
above the dynamic index) whole, so the answer errs on the side of "reads everything".
`secret_forms` uses it to render twice only the templates that can reach a secret.
"""

from __future__ import annotations

from jinja2 import nodes

# The context's names that can hold secrets (`run` holds only the run's id and mode).
ROOTS = frozenset({"vars", "host"})

Key = str | int
Read = tuple[str, tuple[Key, ...]]


def root_reads(tree: nodes.Node) -> tuple[Read, ...]:
    """Every read of a root in `tree`, in order, without duplicates."""
    found: dict[Read, None] = {}

    def visit(node: nodes.Node) -> None:
        keys: list[Key] = []
        current = node
        while isinstance(current, (nodes.Getattr, nodes.Getitem)):
            if isinstance(current, nodes.Getattr):
                keys.append(current.attr)
            elif isinstance(current.arg, nodes.Const) and isinstance(current.arg.value, (str, int)):
                keys.append(current.arg.value)
            else:
                # `a[expr].b`: what is above a computed index is unknown; `a` is read whole.
                visit(current.arg)
                keys = []
            current = current.node
        if isinstance(current, nodes.Name):
            if current.name in ROOTS and current.ctx == "load":
                found[(current.name, tuple(reversed(keys)))] = None
            return
        for child in current.iter_child_nodes():
            visit(child)

    visit(tree)
    return tuple(found)

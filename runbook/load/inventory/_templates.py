"""Connection variables written as Ansible templates, rendered per host as Ansible does.

`ansible_host: "{{ inventory_hostname }}.dc1.example"` or `ansible_host: "{{ mgmt_ip }}"`
are common in inventories written for Ansible, which renders them when it connects. The
address, user, port and key runbook dials are rendered the same way: sandboxed, with the
host's variables, `inventory_hostname`, `inventory_hostname_short`, `group_names` and
`lookup('env', NAME)`. A template runbook cannot render (another lookup, an undefined
variable) is left as written: the host then fails on its own, saying so, when a step
reaches it (executors/ssh/_target.py), and nothing else is held up. `ansible_ssh_common_args`
is rendered too before its jump host is read. The
variables themselves stay as written, as `ansible-inventory --list` shows them.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from typing import Any

from runbook.load.inventory._ansible_yaml import Unsafe

_TEMPLATE = re.compile(r"{{|{%")
PASSES = 5  # a variable that names a variable that is itself a template...


def is_template(value: Any) -> bool:
    """Text with `{{` or `{%`, and not marked `!unsafe` (Ansible leaves that as written)."""
    return (
        isinstance(value, str) and not isinstance(value, Unsafe) and bool(_TEMPLATE.search(value))
    )


def _lookup(plugin: Any, *terms: Any, **options: Any) -> str:
    """Ansible's `lookup('env', NAME...)`: each variable's value ('' when it is not set,
    or the `default=` option), comma-joined as lookups join. `ansible_user: "{{
    lookup('env', 'USER') }}"` is common. Any other lookup cannot run here."""
    if str(plugin).removeprefix("ansible.builtin.") != "env":
        raise ValueError(f"lookup('{plugin}') runs only in Ansible")
    default = str(options.get("default", ""))
    return ",".join(os.environ.get(str(term), default) for term in terms)


def rendered(value: Any, name: str, hostvars: Mapping[str, Any], groups: tuple[str, ...]) -> Any:
    """`value` rendered for host `name`, or as written if it is no template or cannot be."""
    if not is_template(value):
        return value
    from runbook.errors import InputError  # jinja2 only for inventories that template
    from runbook.templates import render_text

    ctx = {
        **hostvars,
        "inventory_hostname": name,
        "inventory_hostname_short": name.split(".", 1)[0],
        "group_names": list(groups),  # as Ansible's: every group but `all`, `ungrouped` too
        "lookup": _lookup,
    }
    out = value
    for _ in range(PASSES):
        try:
            out = render_text(out, ctx)
        except InputError:
            return value
        if not is_template(out):
            return out.strip()
    return value

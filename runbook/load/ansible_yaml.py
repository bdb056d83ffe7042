"""YAML as Ansible inventories use it: libyaml for speed, and Ansible's own tags.

`!vault` values cannot be decrypted here (no vault password on a restore night), so they
are kept as their ciphertext text, which is safe to show; `!unsafe` is plain text.
Ansible's `vault_identity` values look the same. The pure-Python loader takes ~1.8 s on a
5,000-host inventory, libyaml ~0.5 s, and libyaml caps nesting at 1,000 levels itself.
"""

from __future__ import annotations

from typing import Any

import yaml

from runbook.source import Document, load_yaml

_Base: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class AnsibleLoader(_Base):  # type: ignore[misc]
    """SafeLoader (C when available) that also reads `!vault` and `!unsafe` scalars."""


def _text(loader: Any, node: yaml.Node) -> str:
    if isinstance(node, yaml.ScalarNode):
        return str(loader.construct_scalar(node)).strip()
    raise yaml.constructor.ConstructorError(
        None, None, f"{node.tag} needs a text value", node.start_mark
    )


AnsibleLoader.add_constructor("!vault", _text)
AnsibleLoader.add_constructor("!unsafe", _text)

VAULT_HEADER = "$ANSIBLE_VAULT;"


def load_ansible_yaml(path: str, label: str | None = None) -> Document:
    """`source.load_yaml` with the Ansible loader."""
    return load_yaml(path, label, AnsibleLoader)

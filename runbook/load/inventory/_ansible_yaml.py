"""YAML as Ansible inventories use it: libyaml for speed, and Ansible's own tags.

`!vault` values cannot be decrypted here (no vault password on a restore night), so they
are kept as their ciphertext text, exactly as written, which is safe to show; Ansible's
`vault_identity` values look the same. `!unsafe` marks a value as not to be templated:
its text is kept as `Unsafe`, which runbook never renders (connection variables written
as templates are rendered, as Ansible does: inventory_templates.py). The pure-Python loader
takes ~1.8 s on a 5,000-host inventory, libyaml ~0.5 s, and libyaml caps nesting at
1,000 levels itself.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import yaml

from runbook.load import Document, parse_yaml, read_text

_Base: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class Unsafe(str):
    """Text Ansible is told not to template (`!unsafe`): used as written, `{{` and all."""

    __slots__ = ()


class AnsibleLoader(_Base):  # type: ignore[misc]
    """SafeLoader (C when available) that also reads `!vault` and `!unsafe` scalars."""


def _plain(loader: Any, node: yaml.Node) -> Any:
    """The node as if it had no tag: ansible-core 2.19 resolves an `!unsafe` value the
    way YAML resolves a plain scalar, quoted or not (`!unsafe 8080` is the number 8080), and
    keeps its spaces. Collections under the tag are built as collections by the builder."""
    if not isinstance(node, yaml.ScalarNode):
        raise yaml.constructor.ConstructorError(
            None, None, f"{node.tag} needs a value", node.start_mark
        )
    tag = loader.resolve(yaml.ScalarNode, node.value, (True, False))
    untagged = yaml.ScalarNode(tag, node.value, node.start_mark, node.end_mark, node.style)
    return loader.construct_object(untagged, deep=True)


def _ciphertext(loader: Any, node: yaml.Node) -> str:
    value = _plain(loader, node)
    if not isinstance(value, str):
        raise yaml.constructor.ConstructorError(
            None, None, f"{node.tag} needs the vault's ciphertext text", node.start_mark
        )
    return value


AnsibleLoader.add_constructor("!vault", _ciphertext)
AnsibleLoader.add_constructor("!vault-encrypted", _ciphertext)  # the tag's old name


def _unsafe(loader: Any, node: yaml.Node) -> Any:
    value = _plain(loader, node)
    return Unsafe(value) if isinstance(value, str) else value


AnsibleLoader.add_constructor("!unsafe", _unsafe)

VAULT_HEADER = "$ANSIBLE_VAULT;"


# The markers Ansible's JSON (`ansible-inventory --list` of 2.19, its legacy profile) puts
# around `!unsafe` and `!vault` values; its JSON decoder turns any mapping holding one
# back into the value.
_MARKERS = ("__ansible_unsafe", "__ansible_vault")


def unmark(pairs: dict[str, Any]) -> Any:
    """A `json.loads` hook: `{"__ansible_unsafe": TEXT}` → TEXT, and the vault's ciphertext
    likewise (kept as text, as `!vault` is); any other mapping as it is."""
    text = pairs.get("__ansible_unsafe")
    if isinstance(text, str):
        return Unsafe(text)
    for marker in _MARKERS:
        if marker in pairs and isinstance(pairs[marker], str):
            return pairs[marker]
    return pairs


def parse_ansible(text: str, name: str) -> Document:
    """One YAML or JSON document as Ansible's loader reads it: as JSON first when it is
    JSON (so `1e3` is a number and Ansible's markers are undone), else as YAML. The YAML
    parse, which reads JSON too, still gives every position and every syntax error."""
    doc = parse_yaml(text, name, AnsibleLoader)
    if not text.lstrip().startswith(("{", "[")):
        return doc
    try:
        data = json.loads(text, object_hook=unmark)
    except (ValueError, RecursionError):
        return doc
    return dataclasses.replace(doc, data=data)


def load_ansible_yaml(path: str, label: str | None = None) -> Document:
    """A vars or inventory file read as Ansible's loader does (`parse_ansible`)."""
    name = label or path
    return parse_ansible(read_text(path, name), name)

"""How Ansible reaches a host (`ansible_connection`), and whether runbook can do the same.

runbook runs a host's commands over SSH (paramiko), or on this machine for Ansible's
`local` connection. An inventory written for Ansible may also hold Windows hosts
(`winrm`, `psrp`), containers (`docker`, `podman`) or network devices (`network_cli`):
those are reported when a step would run on them, not dialled over SSH to fail there.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

SSH = "ssh"
LOCAL = "local"
# Ansible's names for an SSH connection: OpenSSH's, paramiko's, and `smart` (its default).
_SSH_NAMES = {"", "ssh", "smart", "paramiko", "paramiko_ssh"}
_PREFIXES = ("ansible.builtin.", "ansible.legacy.")


def connection(host_vars: Mapping[str, Any]) -> str:
    """The host's connection, lower-case, without its collection: "ssh" for every SSH one."""
    name = str(host_vars.get("ansible_connection") or "").strip().lower()
    if "{{" in name:
        return SSH  # templated: not rendered (only address, port, user and key are): SSH
    for prefix in _PREFIXES:
        name = name.removeprefix(prefix)
    return SSH if name in _SSH_NAMES else name


def runbook_can_reach(host_vars: Mapping[str, Any]) -> bool:
    """Whether runbook can run commands on the host the way its inventory says to."""
    return connection(host_vars) in (SSH, LOCAL)

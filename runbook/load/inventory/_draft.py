"""The mutable inventory the format parsers fill in, before Ansible's rules resolve it.

Mirrors ansible-core's `InventoryData`: `all` and `ungrouped` exist from the start, a
host or group seen twice is the same one (its variables merge, the later value of a key
wins), and a host's `name:port` sets `ansible_port` only when the host is first created.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from runbook.errors import Issue
from runbook.model import Location

ALL = "all"
UNGROUPED = "ungrouped"
DEFAULT_PRIORITY = 1  # ansible-core's Group.priority


@dataclass
class HostDraft:
    """A host as declared: its own variables and the groups that list it directly."""

    name: str
    location: Location | None
    vars: dict[str, Any] = field(default_factory=dict)
    var_locs: dict[str, Location | None] = field(default_factory=dict)
    file_vars: dict[str, Any] = field(default_factory=dict)  # host_vars/NAME, merged
    file_var_locs: dict[str, Location | None] = field(default_factory=dict)
    file_layers: dict[int, dict[str, Any]] = field(default_factory=dict)  # by vars folder


@dataclass
class GroupDraft:
    """A group as declared: direct hosts, children (with where each was named), variables."""

    name: str
    location: Location | None
    hosts: dict[str, None] = field(default_factory=dict)  # ordered set
    children: dict[str, Location | None] = field(default_factory=dict)
    vars: dict[str, Any] = field(default_factory=dict)
    var_locs: dict[str, Location | None] = field(default_factory=dict)
    file_vars: dict[str, Any] = field(default_factory=dict)  # group_vars/NAME, merged
    file_var_locs: dict[str, Location | None] = field(default_factory=dict)
    file_layers: dict[int, dict[str, Any]] = field(default_factory=dict)  # by vars folder
    priority: int = DEFAULT_PRIORITY


class Draft:
    """Hosts and groups in first-seen order, plus every problem met while reading."""

    def __init__(self) -> None:
        self.hosts: dict[str, HostDraft] = {}
        self.groups: dict[str, GroupDraft] = {}
        self.issues: list[Issue] = []
        self.sources: list[str] = []
        # The group_vars/host_vars folder (a `file_layers` key) of each source, in order.
        self.vars_order: list[int] = []
        self.group(ALL, None)
        self.group(UNGROUPED, None)
        self.add_child(ALL, UNGROUPED, None)

    def error(self, location: Location | None, message: str, hint: str = "") -> None:
        self.issues.append(Issue(location, message, hint))

    def group(self, name: str, location: Location | None) -> GroupDraft:
        """The group called `name`, created on first mention."""
        g = self.groups.get(name)
        if g is None:
            g = self.groups[name] = GroupDraft(name, location)
        elif g.location is None:
            g.location = location
        return g

    def add_host(
        self, name: str, location: Location | None, group: str | None, port: int | None = None
    ) -> HostDraft:
        """Declare a host (again), optionally in `group`."""
        h = self.hosts.get(name)
        if h is None:
            h = self.hosts[name] = HostDraft(name, location)
            # Ansible: Host(name, port) sets ansible_port only on creation (and only when
            # it is not 0); a later `name:other-port` for the same host is ignored.
            if port:
                h.vars["ansible_port"] = port
                h.var_locs["ansible_port"] = location
        if group is not None:
            self.group(group, None).hosts[name] = None
        return h

    def set_host_var(self, host: str, key: str, value: Any, location: Location | None) -> None:
        h = self.hosts[host]
        h.vars[key] = value
        h.var_locs[key] = location

    def set_group_var(self, group: str, key: str, value: Any, location: Location | None) -> None:
        g = self.group(group, None)
        if key == "ansible_group_priority":
            # Ansible turns it into Group.priority and does not keep it as a variable.
            try:
                if isinstance(value, bool):
                    raise ValueError
                g.priority = int(value)
            except (TypeError, ValueError):
                self.error(
                    location,
                    f"ansible_group_priority of group '{group}' is {value!r}, not a whole number",
                    "write a number such as 10; higher wins among groups at the same depth",
                )
            return
        g.vars[key] = value
        g.var_locs[key] = location

    def add_child(self, parent: str, child: str, location: Location | None) -> None:
        self.group(child, None)
        self.group(parent, None).children.setdefault(child, location)

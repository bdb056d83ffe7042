"""Shared data for the inventory tests: sample paths and the malformed-inventory corpus."""

from __future__ import annotations

from pathlib import Path

DATA = Path(__file__).parent / "data"
SAMPLES = DATA / "inventory"
BAD = DATA / "bad"

# file under tests/data/bad/, line of the (first) error, words the message must contain
BAD_INVENTORIES: list[tuple[str, int, str]] = [
    ("inventory-top-list.yml", 1, "an inventory is a mapping of groups, not a list"),
    ("inventory-hosts-list.yml", 5, "'hosts' of group 'web' must be a mapping, not a list"),
    ("inventory-bad-range.ini", 2, "range '[1-3]' must be [start:end] or [start:end:step]"),
    ("inventory-bad-line.ini", 2, "expected key=value after host 'db1.example', got 'port'"),
    ("inventory-undefined-child.ini", 6, "names group 'databases', which is never declared"),
    ("inventory-port.yml", 5, "ansible_port of host 'nas1.example' is 'ssh', not a port number"),
    ("inventory-port-range.ini", 2, "ansible_port of host 'web1.example' is 70000"),
    ("inventory-cycle.yml", 7, "group cycle: site → rack → site"),
    ("inventory-self-child.ini", 5, "group cycle: site → site"),
    ("inventory-empty.yml", 1, "the inventory file is empty"),
    ("inventory-latin1.ini", 2, "byte 0xe8 is not valid UTF-8"),
    ("inventory-duplicate.yml", 5, "duplicate key 'mx1.example' (first at line 3)"),
    ("inventory-bad-section.ini", 1, "invalid section header '[web servers]'"),
    ("inventory-section-type.ini", 1, "section [web:child] has unknown type 'child'"),
    ("inventory-unknown-key.yml", 4, "unknown key 'host' in group 'dns'"),
    ("inventory-json-hosts.json", 4, "'hosts' of group 'web' must be a list of host names"),
    ("inventory-json-syntax.json", 3, "JSON syntax: Expecting value"),
    ("inventory-range-padding.yml", 5, "range '[01:100]' pads the start to 2 digits"),
    ("inventory-quote.ini", 2, "cannot read host line: No closing quotation"),
    ("inventory-vars-undefined.ini", 4, "section [db:vars] is for a group that is never declared"),
    ("inventory-plugin.yml", 2, "inventory plugin configuration (plugin: amazon.aws.aws_ec2)"),
    ("inventory-host-scalar.yml", 3, "host 'web1.example' in group 'all' has the text '10.0.1.1'"),
    ("inventory-priority.yml", 5, "ansible_group_priority of group 'paris' is 'high'"),
    ("inventory-group-scalar.yml", 3, "group 'web' must be a mapping of hosts/children/vars"),
]

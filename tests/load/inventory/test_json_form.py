"""The JSON of `ansible-inventory --list` and inventory scripts, told from YAML written as JSON."""

from __future__ import annotations

import json

from runbook.load.inventory._json import load_json, looks_like_list_output


def test_repeated_keys_are_reported_and_the_last_one_wins() -> None:
    data, repeated = load_json('{"web": {"hosts": ["a"]}, "db": [], "web": {"hosts": ["b"]}}')
    assert data == {"web": {"hosts": ["b"]}, "db": []}
    assert repeated == ["web"]


def test_list_output_is_told_from_the_yaml_form() -> None:
    listed = {"_meta": {"hostvars": {}}, "all": {"children": ["ungrouped"]}}
    assert looks_like_list_output(listed)
    assert looks_like_list_output({"web": ["web1", "web2"]})  # a script's short form
    assert looks_like_list_output({"web": {"hosts": ["web1"], "vars": {"x": 1}}})
    yaml_form = {"all": {"hosts": {"web1": {"ansible_host": "10.0.0.1"}}}}
    assert not looks_like_list_output(yaml_form)
    assert not looks_like_list_output(["web1"])
    assert not looks_like_list_output(json.loads("{}"))

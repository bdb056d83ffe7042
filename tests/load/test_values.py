"""Each field kind's reader: the value the model holds, or what is wrong and how to fix it."""

from __future__ import annotations

from typing import Any

import pytest

from runbook.load._fields import STEP_FIELDS, TOP_FIELDS
from runbook.load._read import read_field
from runbook.load._values import BadValue, slug_id, type_name
from runbook.model import Estimate


def bad(field: str, value: Any) -> BadValue:
    with pytest.raises(BadValue) as caught:
        read_field(STEP_FIELDS[field], value)
    return caught.value


def test_good_values() -> None:
    assert read_field(STEP_FIELDS["id"], "restart-mail.2") == "restart-mail.2"
    assert read_field(STEP_FIELDS["timeout"], "1h30m") == 5400
    assert read_field(STEP_FIELDS["retries"], 2) == 2
    assert read_field(STEP_FIELDS["idempotent"], True) is True
    assert read_field(STEP_FIELDS["on_failure"], "abort") == "abort"
    assert read_field(STEP_FIELDS["hosts"], ["mail", "!mail-02"]) == "mail:!mail-02"
    assert read_field(STEP_FIELDS["needs"], ["dns-up", "phase:network"]) == [
        ("dns-up", (0,)),
        ("phase:network", (1,)),
    ]
    assert read_field(STEP_FIELDS["estimate"], "20m") == Estimate.single(1200)
    assert read_field(STEP_FIELDS["estimate"], {"min": "5m", "likely": "10m", "max": "40m"}) == (
        Estimate(300, 600, 2400)
    )
    assert read_field(TOP_FIELDS["rto"], "8h") == 28800


def test_an_invalid_id_gets_a_valid_one_to_copy() -> None:
    e = bad("id", "Étape Réseau!")
    assert e.message == "`id` 'Étape Réseau!' is not a valid id"
    assert e.hint.endswith("e.g. 'etape-reseau'")


def test_numbers_where_text_belongs_and_quotes_where_numbers_belong() -> None:
    assert (bad("title", 42).message, bad("title", 42).hint) == (
        "`title` must be text, not a number",
        "quote it to make it text: '42'",
    )
    assert bad("retries", "2").hint == "remove the quotes: 2"
    assert bad("idempotent", "yes").hint == "write true or false without quotes"
    assert (
        bad("on_failure", "stop").message
        == "`on_failure` must be block, abort or continue, not 'stop'"
    )
    assert bad("run", "a\x00b").message == "`run` holds a NUL character (\\0)"
    assert bad("title", "  ").message == "`title` is empty"


def test_needs_written_as_a_yaml_mapping_is_explained() -> None:
    e = bad("needs", ["dns-up", {"phase": "network"}])
    assert e.message == "`needs` item is a mapping {phase: network}"
    assert "write 'phase:network' with no space after the colon" in e.hint
    assert e.at == (1,)


def test_estimates_name_the_key_that_is_wrong() -> None:
    assert bad("estimate", {"min": "5m", "likely": "soon", "max": "1h"}).at == ("likely",)
    assert bad("estimate", {"min": "5m", "max": "1h"}).message == "`estimate` needs `likely`"
    assert bad("estimate", {"min": "5m", "likely": "1m", "typical": "2m"}).at == ("typical",)
    reordered = bad("estimate", {"min": "1h", "likely": "10m", "max": "5m"})
    assert reordered.message == "`estimate` must have min <= likely <= max, got 1h / 10m / 5m"
    assert bad("timeout", "0s").message == "`timeout` must be more than 0"


def test_ids_from_file_names_and_yaml_type_names() -> None:
    assert slug_id("Reprise après sinistre.yml") == "reprise-apres-sinistre.yml"
    assert slug_id("___") == "playbook"
    assert [type_name(v) for v in (None, True, 3, "x", {}, [])] == [
        "nothing (null)",
        "true/false",
        "a number",
        "text",
        "a mapping",
        "a list",
    ]

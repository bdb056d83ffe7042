"""Loading playbooks: every field, defaults, vars, includes, needs, and located problems."""

from __future__ import annotations

from pathlib import Path

import pytest

from runbook.errors import InputError
from runbook.load._playbook import find_cycles, load_playbook
from runbook.model import Estimate, Playbook

GOOD = Path(__file__).resolve().parents[1] / "data" / "good"


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def errors(path: Path) -> list[str]:
    with pytest.raises(InputError) as info:
        load_playbook(path)
    return [str(issue) for issue in info.value.issues]


def test_the_example_loads_with_every_field() -> None:
    book = load_playbook(GOOD / "restore.yml")
    assert book.id == "site-restore"
    assert book.title == "Restore the Paris site after the power loss"
    assert book.rto_s == 6 * 3600
    assert [s.id for s in book.steps] == [
        "utility-power",
        "core-switches",
        "dns-up",
        "restart-mail",
        "sign-off",
    ]
    assert book.phases == ("power", "network", "directory", "applications")
    assert book.files == (str(GOOD / "restore.yml"), str(GOOD / "parts" / "applications.yml"))

    power = book.step("utility-power")
    assert power.kind == "manual" and power.owner == "facilities"
    assert power.estimate == Estimate.single(1200)
    assert power.timeout_s == 600 and power.retries == 1 and power.retry_delay_s == 15

    switches = book.step("core-switches")
    assert switches.kind == "remote"
    assert switches.hosts == "core:!core-sw-pa02"  # a list is a union, written as a:b
    assert switches.needs == ("utility-power",)
    assert switches.every_s == 5 and switches.parallel == 2
    assert switches.estimate == Estimate(300, 600, 2400)
    assert switches.title == "Core switches answer"

    dns = book.step("dns-up")
    assert dns.kind == "local" and dns.on_failure == "abort" and dns.idempotent
    assert dns.needs == ("core-switches",)  # phase:network expanded

    mail = book.step("restart-mail")
    assert mail.timeout_s == 1800  # the included file's own defaults
    assert mail.retries == 0  # ...and not the includer's
    assert mail.estimate.given is False and mail.estimate.likely_s == 300

    sign_off = book.step("sign-off")
    assert sign_off.needs == ("restart-mail",)  # its own phase, minus itself
    assert sign_off.title == "Site IT lead signs off"


def test_vars_merge_under_the_includer_and_secrets_are_marked() -> None:
    book = load_playbook(GOOD / "restore.yml")
    assert book.vars["mail_service"].value == "postfix"
    assert book.vars["queue_limit"].value == 500
    token = book.vars["smtp_relay_token"]
    assert token.env == "SMTP_RELAY_TOKEN" and token.secret
    phone = book.vars["noc_phone"]
    assert phone.env == "NOC_PHONE" and phone.value == "+33 1 00 00 00 00" and not phone.secret


def test_names_with_password_secret_or_token_are_secret(tmp_path: Path) -> None:
    book = load_playbook(
        write(
            tmp_path,
            "b.yml",
            "vars: {db_PASSWORD: x, api_token: y, client_secret: z, user: ops,"
            " key: {env: KEY, secret: true}}\n"
            "steps: [{id: a, manual: go}]\n",
        )
    )
    secret = {name for name, var in book.vars.items() if var.secret}
    assert secret == {"db_PASSWORD", "api_token", "client_secret", "key"}


def test_title_defaults_to_the_id_phase_to_default_and_id_to_the_file(tmp_path: Path) -> None:
    book = load_playbook(write(tmp_path, "My Restore.yml", "steps:\n  - id: a\n    manual: go\n"))
    assert book.id == "my-restore" and book.title == "my-restore"
    assert book.steps[0].title == "a" and book.steps[0].phase == "default"


def test_includes_nest_and_keep_their_place(tmp_path: Path) -> None:
    write(tmp_path, "parts/early.yml", "steps: [{id: early, manual: go}]\ninclude: deep/x.yml\n")
    write(tmp_path, "parts/deep/x.yml", "vars: {v: deep}\nsteps: [{id: deepest, manual: go}]\n")
    write(tmp_path, "late.yml", "vars: {v: late}\nsteps: [{id: late, manual: go}]\n")
    root = write(
        tmp_path,
        "root.yml",
        "include: parts/early.yml\nsteps: [{id: middle, manual: go}]\n",
    )
    book = load_playbook(root)
    # `include:` written above `steps:` puts the included steps first
    assert [s.id for s in book.steps] == ["early", "deepest", "middle"]
    assert book.vars["v"].value == "deep"
    root.write_text("steps: [{id: middle, manual: go}]\ninclude: [parts/early.yml, late.yml]\n")
    book = load_playbook(root)
    assert [s.id for s in book.steps] == ["middle", "early", "deepest", "late"]
    assert book.vars["v"].value == "late"  # a later include wins over an earlier one


def test_a_file_included_twice_is_loaded_once(tmp_path: Path) -> None:
    write(tmp_path, "common.yml", "steps: [{id: common, manual: go}]\n")
    write(tmp_path, "a.yml", "include: common.yml\nsteps: [{id: a, manual: go}]\n")
    write(tmp_path, "b.yml", "include: common.yml\nsteps: [{id: b, manual: go}]\n")
    root = write(tmp_path, "root.yml", "include: [a.yml, b.yml]\n")
    assert [s.id for s in load_playbook(root).steps] == ["common", "a", "b"]


def test_include_cycle_is_printed_as_a_path(tmp_path: Path) -> None:
    a = write(tmp_path, "a.yml", "include: sub/b.yml\nsteps: [{id: a, manual: go}]\n")
    write(tmp_path, "sub/b.yml", "steps: [{id: b, manual: go}]\ninclude: ../a.yml\n")
    assert errors(a) == [
        f"{tmp_path}/sub/b.yml:2:10: error: include cycle: {a} → {tmp_path}/sub/b.yml → {a} "
        "(a file cannot include itself, directly or through others; remove one of these includes)"
    ]


def test_duplicate_ids_across_files_name_both_places(tmp_path: Path) -> None:
    write(tmp_path, "apps.yml", "steps:\n  - id: power\n    manual: again\n")
    root = write(tmp_path, "root.yml", "steps:\n  - id: power\n    manual: go\ninclude: apps.yml\n")
    (message,) = errors(root)
    assert message.startswith(f"{tmp_path}/apps.yml:2:9: error: duplicate step id 'power'")
    assert f"(first at {root}:2:9)" in message


def test_problems_in_included_files_are_located_there(tmp_path: Path) -> None:
    write(
        tmp_path, "apps.yml", "steps:\n  - id: web\n    local: true\n    run: x\n    tiemout: 5m\n"
    )
    root = write(tmp_path, "root.yml", "include: apps.yml\nsteps:\n  - id: a\n    manual: go\n")
    assert errors(root) == [
        f"{tmp_path}/apps.yml:5:5: error: unknown field 'tiemout' in a step "
        "(did you mean 'timeout'?)"
    ]


def test_defaults_cannot_hold_what_each_step_must_say(tmp_path: Path) -> None:
    root = write(
        tmp_path,
        "root.yml",
        "defaults: {needs: [a], manual: x, owner: ops, parallel: 0, tmeout: 1m}\n"
        "steps: [{id: a, manual: go}]\n",
    )
    found = errors(root)
    assert len(found) == 4
    assert "`needs` cannot be set in `defaults`" in found[0]
    assert "`manual` cannot be set in `defaults`" in found[1]
    assert "`parallel` must be at least 1" in found[2]
    assert "unknown field 'tmeout' in `defaults` (did you mean 'timeout'?)" in found[3]


def test_default_hosts_and_local_never_contradict_a_step(tmp_path: Path) -> None:
    root = write(
        tmp_path,
        "root.yml",
        "defaults: {hosts: all}\n"
        "steps:\n"
        "  - {id: remote, run: uptime}\n"
        "  - {id: here, local: true, run: date}\n"
        "  - {id: ask, manual: go}\n",
    )
    book = load_playbook(root)
    assert [(s.kind, s.hosts) for s in book.steps] == [
        ("remote", "all"),
        ("local", None),
        ("manual", None),
    ]
    root.write_text(
        "defaults: {local: true}\nsteps: [{id: a, run: date}, {id: b, hosts: db, run: x}]\n"
    )
    assert [s.kind for s in load_playbook(root).steps] == ["local", "remote"]


def test_needs_accept_a_string_and_phases(tmp_path: Path) -> None:
    root = write(
        tmp_path,
        "root.yml",
        "steps:\n"
        "  - {id: a, phase: net, manual: go}\n"
        "  - {id: b, phase: net, manual: go}\n"
        "  - {id: c, needs: 'phase:net', manual: go}\n"
        "  - {id: d, needs: c, manual: go}\n"
        "  - {id: e, needs: [d, c, d], manual: go}\n",
    )
    book = load_playbook(root)
    assert [s.needs for s in book.steps] == [(), (), ("a", "b"), ("c",), ("c", "d")]


def test_a_step_named_like_a_phase_gets_a_hint(tmp_path: Path) -> None:
    root = write(
        tmp_path,
        "r.yml",
        "steps:\n  - {id: a, phase: network, manual: go}\n"
        "  - {id: b, needs: network, manual: go}\n",
    )
    assert "did you mean 'phase:network'?" in errors(root)[0]


def test_dependency_cycles_are_printed_as_paths(tmp_path: Path) -> None:
    root = write(
        tmp_path,
        "r.yml",
        "steps:\n"
        "  - {id: self, needs: self, manual: go}\n"
        "  - {id: a, needs: b, manual: go}\n"
        "  - {id: b, needs: c, manual: go}\n"
        "  - {id: c, needs: a, manual: go}\n",
    )
    found = errors(root)
    assert "dependency cycle: self → self" in found[0]
    assert f"{root}:3:20: error: dependency cycle: a → b → c → a" in found[1]


def test_cycle_search_survives_a_10000_step_chain() -> None:
    order = [f"s{i}" for i in range(10_000)]
    edges = {s: [order[i + 1]] if i + 1 < len(order) else [order[0]] for i, s in enumerate(order)}
    (cycle,) = find_cycles(order, edges)
    assert cycle[0] == cycle[-1] == "s0" and len(cycle) == 10_001
    edges["s9999"] = []
    assert find_cycles(order, edges) == []


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "steps: [{id: a, manual: go, estimate: {min: 1m, likely: 5m, max: 2m}}]",
            "`estimate` must have min <= likely <= max",
        ),
        (
            "steps: [{id: a, manual: go, estimate: {min: 1m, likely: 2m, max: 3m, p90: 4m}}]",
            "`estimate` has an unknown key 'p90'",
        ),
        ("steps: [{id: a, manual: go, estimate: [1m, 2m]}]", "not a list"),
        ("steps: [{id: a, manual: go, parallel: 2.5}]", "`parallel` must be a whole number"),
        ("steps: [{id: a, manual: go, retries: '2'}]", "remove the quotes: 2"),
        ("steps: [{id: a, manual: go, idempotent: 'yes'}]", "without quotes"),
        ("steps: [{id: a, manual: go, timeout: 0}]", "`timeout` must be more than 0"),
        ("steps: [{id: a, manual: go, every: -5}]", "is not a duration"),
        ("steps: [{id: a, manual: go, title: 2024}]", "quote it to make it text: '2024'"),
        ("steps: [{id: 7, manual: go}]", "`id` must be text, not a number"),
        ("steps: [{id: a, manual: ''}]", "`manual` is empty"),
        ("steps: [{id: a, manual: }]", "`manual` has no value"),
        ("steps: [{manual: go}]", "a step has no `id`"),
        ("steps: [{id: a, manual: go, needs: []}]", "`needs` is an empty list"),
        ("steps: [{id: a, hosts: [web, 3], run: x}]", "`hosts` item must be a host pattern"),
        ("steps: [{id: a, manual: go, needs: [phase: x]}]", "write 'phase:x' with no space"),
        ("steps: [{id: a, local: true}]", "has nothing to run"),
        ("steps: [{id: a, local: true, manual: go}]", "is manual and also `local: true`"),
        ("steps: [[id, a]]", "a step must be a mapping, not a list"),
        ("steps: [{id: a, manual: go, cmd: ls}]", "did you mean 'run'?"),
        ("steps: [{id: a, manual: go, depends_on: [b]}]", "did you mean 'needs'?"),
        ("steps: [{id: a, manual: go, 1: x}]", "unknown field '1' in a step"),
        ("steps: 5", "`steps` must be a list, not a number"),
        ("include: 5\nsteps: [{id: a, manual: go}]", "`include` must name a file"),
        ("include: [parts]\nsteps: [{id: a, manual: go}]", "'parts' is a folder"),
        (
            "vars: {x: {env: HOME, secrett: true}}\nsteps: [{id: a, manual: go}]",
            "did you mean 'secret'?",
        ),
        (
            "vars: {x: {env: HOME, secret: 1}}\nsteps: [{id: a, manual: go}]",
            "`secret` must be true or false",
        ),
        ("defaults: [timeout, 5m]\nsteps: [{id: a, manual: go}]", "`defaults` must be a mapping"),
        ("playbook: Restore Now\nsteps: [{id: a, manual: go}]", "is not a valid id"),
        ("title: [a]\nsteps: [{id: a, manual: go}]", "`title` must be text, not a list"),
        ("rto: 0\nsteps: [{id: a, manual: go}]", "`rto` must be more than 0"),
        ("just text", "a playbook must be a mapping, not text"),
    ],
)
def test_wrong_values_are_located_errors(tmp_path: Path, text: str, message: str) -> None:
    (tmp_path / "parts").mkdir()
    found = errors(write(tmp_path, "p.yml", text + "\n"))
    assert any(message in line for line in found), found
    assert all(line.startswith(f"{tmp_path}/p.yml:") for line in found), found


def test_null_fields_are_unset(tmp_path: Path) -> None:
    book = load_playbook(
        write(tmp_path, "p.yml", "defaults:\nsteps:\n  - id: a\n    manual: go\n    needs:\n")
    )
    assert isinstance(book, Playbook) and book.steps[0].needs == ()


def test_field_locations_point_at_the_values(tmp_path: Path) -> None:
    root = write(
        tmp_path,
        "p.yml",
        "defaults:\n  hosts: web\nsteps:\n  - id: a\n    run: |\n      echo {{ x }}\n",
    )
    step = load_playbook(root).steps[0]
    assert str(step.field_locations["run"]) == f"{root}:5:10"
    assert str(step.field_locations["hosts"]) == f"{root}:2:10"  # from defaults
    assert str(step.location) == f"{root}:4:5"

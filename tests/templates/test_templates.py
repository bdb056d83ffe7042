"""Templates: shell-quoting that inventory data cannot escape, the sandbox, located checks."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from runbook.errors import InputError
from runbook.load._playbook import load_playbook
from runbook.load._template_check import check_templates as template_issues
from runbook.model import Host, Inventory, Location
from runbook.templates._render import context, render_command, render_text

WEB = Host(
    "web01",
    "10.0.0.7",
    port=2222,
    groups=("paris", "web"),
    vars={"site": "paris; rm -rf /", "motd": "$(reboot)", "items": "kept", "tags": ["a b", "c"]},
)
VARS = {"svc": "post fix", "files": ["a b", "c'd"], "flag": True, "none": None, "n": 3}


def ctx(host: Host | None = WEB) -> dict[str, object]:
    return context(VARS, host, "20261129-2113-a3f9", "live")


def sh(command: str) -> str:
    """What /bin/sh actually receives as words: the proof that quoting holds."""
    out = subprocess.run(
        ["/bin/sh", "-c", f'for w in {command}; do printf "[%s]" "$w"; done'],
        capture_output=True,
        text=True,
        check=True,
    )
    return out.stdout


def test_values_are_shell_quoted() -> None:
    assert (
        render_command("systemctl restart {{ vars.svc }}", ctx()) == "systemctl restart 'post fix'"
    )
    assert sh(render_command("{{ host.vars.site }} {{ host.vars.motd }}", ctx())) == (
        "[paris; rm -rf /][$(reboot)]"
    )


def test_raw_opts_out_of_quoting() -> None:
    assert render_command("echo {{ vars.svc | raw }}", ctx()) == "echo post fix"
    assert render_command("{{ vars.svc | upper | raw }}", ctx()) == "POST FIX"


def test_an_expression_not_ending_in_raw_is_quoted() -> None:
    assert render_command("{{ (vars.svc | raw) ~ '!' }}", ctx()) == "'post fix!'"


def test_lists_become_one_quoted_word_each() -> None:
    command = render_command("{{ vars.files }}", ctx())
    assert sh(command) == "[a b][c'd]"


def test_tojson_reaches_the_shell_as_one_json_word() -> None:
    # tojson (and safe) return markup; quoting it must not turn the quotes into &#39;.
    command = render_command("{{ vars.files | tojson }} {{ host.vars.site | safe }}", ctx())
    assert sh(command) == """[["a b", "c\\u0027d"]][paris; rm -rf /]"""


def test_scalars_render_as_a_shell_user_expects() -> None:
    assert render_command("{{ vars.flag }} {{ vars.none }} {{ vars.n + 1 }}", ctx()) == "true '' 4"


def test_host_and_run_are_available() -> None:
    text = "{{ host.name }} {{ host.address }} {{ host.port }} {{ run.id }} {{ run.mode }}"
    assert render_command(text, ctx()) == "web01 10.0.0.7 2222 20261129-2113-a3f9 live"
    assert render_command("{{ host.groups | join(',') }}", ctx()) == "paris,web"


def test_variable_names_win_over_dict_methods() -> None:
    names = {"items": "i", "update": "u", "keys": "k"}
    out = render_command(
        "{{ vars.items }} {{ vars.update }} {{ vars.keys }}", context(names, None, "r", "live")
    )
    assert out == "i u k"
    assert render_command("{{ host.vars.items }}", ctx()) == "kept"


def test_text_is_not_quoted() -> None:
    assert render_text("Restart {{ vars.svc }} on {{ vars.files }}", ctx()) == (
        "Restart post fix on a b, c'd"
    )


def test_text_without_template_syntax_is_returned_as_is() -> None:
    assert render_text("Call the NOC at 10:00 {not a template}", ctx(None)) == (
        "Call the NOC at 10:00 {not a template}"
    )


@pytest.mark.parametrize(
    ("template", "message", "hint"),
    [
        ("{{ vars.sv }}", "'vars.sv' is undefined", "did you mean 'vars.svc'?"),
        ("{{ svc }}", "'svc' is undefined", "did you mean 'vars.svc'?"),
        ("{{ host.vars.sit }}", "'host.vars.sit' is undefined", "did you mean 'host.vars.site'?"),
        ("{{ vars.zzz }}", "'vars.zzz' is undefined", "define it under `vars:`"),
        ("{{ vars.svc.__class__ }}", "not allowed in the sandbox", "vars, host and run"),
        ("{{ vars.files.append(1) }}", "not allowed in the sandbox", ""),
        ("{{ vars.svc | quoute }}", "No filter named 'quoute'", ""),
        ("{{ vars.svc ", "syntax error", "every {{ has its }}"),
        ("{{ vars.n / 0 }}", "ZeroDivisionError", ""),
    ],
)
def test_render_errors_are_input_errors_with_hints(template: str, message: str, hint: str) -> None:
    where = Location("p.yml", 3, 10)
    with pytest.raises(InputError) as info:
        render_command(template, ctx(), where)
    (issue,) = info.value.issues
    assert issue.location == where
    assert message in issue.message and hint in issue.hint


def test_host_is_undefined_outside_remote_steps() -> None:
    with pytest.raises(InputError, match="exists only in remote steps"):
        render_command("{{ host.name }}", ctx(None))


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "p.yml"
    path.write_text(text)
    return path


def test_template_issues_are_located_inside_block_scalars(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "vars: {svc: postfix}\n"
        "steps:\n"
        "  - id: a\n"
        "    local: true\n"
        "    run: |\n"
        "      systemctl stop {{ vars.svc }}\n"
        "      systemctl start {{ vars.svcc }}\n"
        "  - id: b\n"
        "    manual: |\n"
        "      Line one\n"
        "      {% if vars.svc %}broken\n",
    )
    found = [str(i) for i in template_issues(load_playbook(path))]
    assert len(found) == 2
    assert found[0] == (
        f"{path}:7:7: error: `run` template: 'vars.svcc' is undefined (did you mean 'vars.svc'?)"
    )
    assert found[1].startswith(f"{path}:11:7: error: `manual` template: syntax error: ")
    assert "'endif'" in found[1]


def test_every_host_of_a_step_is_tried(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "steps:\n  - id: a\n    hosts: web\n    run: 'ping {{ host.vars.site }}'\n",
    )
    hosts = {
        "web01": Host("web01", "web01", vars={"site": "paris"}),
        "web02": Host("web02", "web02", vars={}),
    }
    inventory = Inventory(hosts=hosts)
    (issue,) = template_issues(load_playbook(path), {"a": ("web01", "web02")}, inventory)
    assert issue.message == "`run` template: 'host.vars.site' is undefined (host web02)"
    assert issue.hint == "set it in the inventory, on the host or one of its groups"


def test_unset_env_vars_get_a_placeholder_at_validation(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "vars: {port: {env: RB_TEST_UNSET_PORT}}\n"
        "steps:\n  - id: a\n    local: true\n"
        "    run: 'nc -z db {{ vars.port + 1 }} {{ vars.prt }}'\n",
    )
    found = template_issues(load_playbook(path))
    # the undefined name is reported; `+ 1` on the placeholder text is not blamed on the author
    assert [i.message for i in found] == ["`run` template: 'vars.prt' is undefined"]


def test_ansible_filters_teams_copy_their_commands_with() -> None:
    assert render_command("echo {{ vars.svc | b64encode }}", ctx()) == "echo cG9zdCBmaXg="
    assert render_command("{{ 'cG9zdCBmaXg=' | b64decode }}", ctx()) == "'post fix'"
    assert render_command("{{ vars.svc | regex_replace('o(s)', 'a\\\\1') }}", ctx()) == "'past fix'"
    assert render_command("{{ vars.svc | regex_search('f.x') }}", ctx()) == "fix"
    assert sh(render_command("{{ vars.files | to_json }}", ctx())) == """[["a b", "c'd"]]"""
    assert render_command("{{ '/etc/postfix/main.cf' | basename }}", ctx()) == "main.cf"
    assert render_command("{{ 'yes' | bool | ternary('on', 'off') }}", ctx()) == "on"
    # `quote` as Ansible users write it: quoted once, not twice.
    assert (
        sh(render_command("echo {{ host.vars.site | quote }}", ctx())) == "[echo][paris; rm -rf /]"
    )

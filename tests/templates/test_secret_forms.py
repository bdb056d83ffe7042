"""secret_forms.py: what templates make of secrets is found by rendering with stand-ins."""

from __future__ import annotations

import base64
import hashlib
import shlex
from typing import Any

import pytest
from hypothesis import given, strategies as st

from runbook.model import Host
from runbook.secrets import Redactor, SecretText
from runbook.templates._jinja import template_reads
from runbook.templates._render import context, render_command, render_text
from runbook.templates._secret_forms import SecretForms, derive, stand_in

PASSWORD = "hunter2's pass"
VAULT = "Vault-Key-91c2-é"


def _encoded(encode: Any, secret: str) -> tuple[str, str]:
    """A command holding `encode(secret)`, rendered for real and with the stand-in."""
    return (
        f"curl -u admin:{encode(secret)} https://api/x",
        f"curl -u admin:{encode(stand_in(secret))} https://api/x",
    )


@pytest.mark.parametrize(
    "encode",
    [
        lambda s: base64.b64encode(s.encode()).decode(),  # Ansible's b64encode
        lambda s: s.encode().hex(),
        lambda s: hashlib.sha256(s.encode()).hexdigest(),  # a hash the template computes
        str.upper,
        lambda s: s[::-1],
        lambda s: shlex.quote(s.upper()),
    ],
    ids=["b64", "hex", "sha256", "upper", "reverse", "quoted"],
)
def test_derive_masks_the_derived_stretch_whole(encode: Any) -> None:
    real, masked = _encoded(encode, PASSWORD)
    derived = derive(real, masked)
    # Shell quotes and base64's padding are the same in both renderings: they stay.
    head, tail = "curl -u admin:", " https://api/x"
    assert derived.shown.startswith(head) and derived.shown.endswith(tail)
    assert derived.shown[len(head) : -len(tail)].strip("'=") == "***"
    value = encode(PASSWORD)
    # The value as the shell prints it is a form the Redactor learns, for output.
    printed = shlex.split(value)[0] if value.startswith("'") else value
    assert printed.rstrip("=") in derived.forms
    redactor = Redactor()
    redactor.learn(derived.forms)
    assert redactor.text(f"got {printed}.").replace("=", "") == "got ***."


def test_derive_leaves_what_is_equal_and_merges_short_gaps() -> None:
    assert derive("echo a b", "echo a b").shown == "echo a b"
    assert derive("echo a b", "echo a b").forms == ()
    # Two secrets around a short separator: one mask; a long equal run stays readable.
    assert derive("x AB:CD y", "x QQ:ZZ y").shown == "x *** y"
    assert derive("AB --long-flag CD", "QQ --long-flag ZZ").shown == "*** --long-flag ***"
    # Short derived text is masked in the command even though it is too short to mask
    # everywhere in output.
    d = derive("echo hu", "echo qq")
    assert d.shown == "echo ***" and d.forms == ()


def test_derive_compares_whole_words() -> None:
    """Encodings share characters by chance (hex nibbles); a word differing anywhere is
    masked whole, so no piece of it stays readable."""
    real, masked = _encoded(lambda s: s.encode().hex(), VAULT)
    assert derive(real, masked).shown == "curl -u admin:*** https://api/x"


@given(st.text(min_size=1, max_size=40))
def test_stand_in_has_the_shape_but_none_of_the_characters(secret: str) -> None:
    other = stand_in(secret)
    assert len(other) == len(secret)
    assert (shlex.quote(secret) == secret) == (shlex.quote(other) == other)
    assert [c.isdigit() for c in other] == [("0" <= c <= "9") for c in secret]
    if len(set(secret.lower())) < 10:
        assert not set(other.lower()) & set(secret.lower())


def test_template_reads_names_every_root_access() -> None:
    def reads(source: str) -> set[tuple[str, tuple[Any, ...]]]:
        return set(template_reads(source, True))

    assert reads("{{ vars.pw | upper }} {{ run.id }}") == {("vars", ("pw",))}
    assert reads("{{ host.vars['db_password'][0:3] }}") == {("host", ("vars", "db_password"))}
    assert reads("{{ vars[name].x }}") == {("vars", ())}  # computed: all of vars
    assert reads("{% for v in vars.values() %}{{ v }}{% endfor %}") == {("vars", ("values",))}
    assert reads("{% set v = vars %}{{ v.pw }}") == {("vars", ())}
    assert reads("{{ vars | dictsort }}") == {("vars", ())}
    assert reads("echo plain") == set()


def _forms(values: dict[str, Any], secrets: list[str], hosts: Any = None) -> SecretForms:
    return SecretForms(Redactor(secrets), values, hosts or {}, "run-1", "live")


def _shown(forms: SecretForms, source: str, host: Host | None = None) -> str:
    ctx = context(forms.values, host, "run-1", "live")
    real = render_command(source, ctx)
    return forms.shown(source, real, host.name if host else None, True)


VALUES = {
    "db_password": SecretText(PASSWORD),
    "pin": SecretText("4711"),
    "site": "paris",
    "creds": {"user": "bob", "token": SecretText("tok-9f8e7d")},
    "url": "https://bob:tok-9f8e7d@api",  # holds a secret without being one
}
SECRETS = [PASSWORD, "4711", "tok-9f8e7d"]


@pytest.mark.parametrize(
    ("source", "shown"),
    [
        ("echo {{ vars.db_password | upper }}", "echo '***'"),
        ("echo {{ vars.db_password[0:4] }} {{ vars.site }}", "echo *** paris"),
        ("echo {{ vars.db_password | replace('a', 'b') | urlencode }}", "echo ***"),
        ("echo {{ vars.pin | int + 1 }}", "echo ***"),  # a number stays a number
        ("echo {{ vars.creds.token | reverse }} {{ vars.creds.user }}", "echo *** bob"),
        ("echo {{ vars.url | upper }}", "echo HTTPS://BOB:***@API"),
        ("echo {% for k, v in vars.creds.items() %}{{ v | upper }},{% endfor %}", "echo BOB,***,"),
        ("echo {% filter upper %}{{ vars.db_password }}{% endfilter %}", "echo '***'"),
    ],
)
def test_shown_masks_what_derives_from_a_secret(source: str, shown: str) -> None:
    forms = _forms(VALUES, SECRETS)
    assert forms.reaches(source, True)
    assert _shown(forms, source) == shown


def test_templates_that_read_no_secret_are_not_rendered_again() -> None:
    forms = _forms(VALUES, SECRETS)
    for source in (
        "echo {{ vars.site | upper }}",
        "echo {{ vars.creds.user }}",
        "echo {{ run.id }}",
    ):
        assert not forms.reaches(source, True)
        assert _shown(forms, source) == render_command(
            source, context(VALUES, None, "run-1", "live")
        )
    assert forms.redactor.text("PARIS BOB") == "PARIS BOB"  # nothing learned
    # Read wholesale: a secret may be in there.
    assert forms.reaches("echo {{ vars | dictsort }}", True)
    assert forms.reaches("echo {{ vars.items() | list }}", True)


def test_host_variables_named_as_secrets_are_followed() -> None:
    web = Host("web1", "10.0.0.1", vars={"ansible_become_pass": "B3come-Me", "rack": "r12"})
    db = Host("db1", "10.0.0.2", vars={"rack": "r7"})
    forms = _forms({}, ["B3come-Me"], {"web1": web, "db1": db})
    source = "sudo -S <<< {{ host.vars.ansible_become_pass | lower }} on {{ host.name }}"
    assert _shown(forms, source, web) == "sudo -S <<< *** on web1"
    assert forms.redactor.text("b3come-me") == "***"
    assert not forms.reaches("echo {{ host.vars.rack }} {{ host.address }}", True)


def test_a_template_that_fails_on_the_stand_in_is_masked_whole() -> None:
    """`index(' ')` finds no space in the stand-in: nothing to compare with, so every
    `{{ }}` is masked, and what it stood for too, except plainly public values."""
    forms = _forms(VALUES, SECRETS)
    source = (
        "echo {{ vars.db_password[vars.db_password.index(' ') + 1 :] | upper }} at {{ vars.site }}"
    )
    assert _shown(forms, source) == "echo *** at ***"
    assert forms.redactor.text("PASS at paris") == "*** at paris"


def test_manual_text_is_masked_the_same_way() -> None:
    forms = _forms(VALUES, SECRETS)
    source = "Type {{ vars.db_password | upper }} at the {{ vars.site }} console"
    real = render_text(source, context(VALUES, None, "run-1", "live"))
    assert forms.shown(source, real, None, False) == "Type *** at the paris console"


def test_learning_a_form_recompiles_once_and_masks_its_quoted_forms() -> None:
    redactor = Redactor(["s3cret-value"])
    redactor.learn(["IT'S-DERIVED", "ab"])  # too short to mask in free text: ignored
    assert redactor.text("x IT'S-DERIVED y") == "x *** y"
    assert redactor.text("x 'IT'\"'\"'S-DERIVED' y") == "x '***' y"
    assert redactor.text("ab s3cret-value") == "ab ***"
    assert redactor.data({"k": ["IT'S-DERIVED"]}) == {"k": ["***"]}

"""Variables at run start: `{env: NAME}` read, every missing one reported, secrets listed."""

from __future__ import annotations

from pathlib import Path

import pytest

from runbook.errors import InputError
from runbook.load._playbook import load_playbook
from runbook.load._variables import resolve_vars
from runbook.model import Playbook
from runbook.secrets import Redactor


def book(tmp_path: Path, vars_text: str) -> Playbook:
    path = tmp_path / "p.yml"
    path.write_text(f"vars:\n{vars_text}steps: [{{id: a, manual: go}}]\n")
    return load_playbook(path)


def test_literals_and_environment_values(tmp_path: Path) -> None:
    playbook = book(
        tmp_path,
        "  mail_service: postfix\n"
        "  sites: [paris, lyon]\n"
        "  relay: {env: RELAY_HOST}\n"
        "  noc: {env: NOC_PHONE, default: '+33 1'}\n",
    )
    resolved = resolve_vars(playbook, {"RELAY_HOST": "smtp.example"})
    assert resolved.values == {
        "mail_service": "postfix",
        "sites": ["paris", "lyon"],
        "relay": "smtp.example",
        "noc": "+33 1",
    }
    assert resolved.secrets == ()


def test_every_missing_environment_variable_is_reported_at_once(tmp_path: Path) -> None:
    playbook = book(
        tmp_path, "  a: {env: RB_MISSING_A}\n  b: 1\n  c: {env: RB_MISSING_C, secret: true}\n"
    )
    with pytest.raises(InputError) as info:
        resolve_vars(playbook, {})
    assert [str(i) for i in info.value.issues] == [
        f"{tmp_path}/p.yml:2:6: error: environment variable RB_MISSING_A is not set (variable 'a') "
        "(export RB_MISSING_A=... before starting the run, "
        "or give a default: {env: RB_MISSING_A, default: ...})",
        f"{tmp_path}/p.yml:4:6: error: environment variable RB_MISSING_C is not set (variable 'c') "
        "(export RB_MISSING_C=... before starting the run, "
        "or give a default: {env: RB_MISSING_C, default: ...})",
    ]


def test_secret_values_are_listed_for_redaction(tmp_path: Path) -> None:
    playbook = book(
        tmp_path,
        "  db_password: hunter22\n"
        "  api_token: {env: API_TOKEN}\n"
        "  key: {env: KEY, secret: true}\n"
        "  client_secrets: [s3cr3t-one, s3cr3t-two]\n"
        "  user: ops\n",
    )
    resolved = resolve_vars(playbook, {"API_TOKEN": "tok-123", "KEY": "k-456"})
    assert set(resolved.secrets) == {"hunter22", "tok-123", "k-456", "s3cr3t-one", "s3cr3t-two"}
    assert set(resolved.secret_names) == {"db_password", "api_token", "key", "client_secrets"}
    assert Redactor(resolved.secrets).text("login ops/hunter22") == "login ops/***"


def test_the_environment_wins_over_a_default(tmp_path: Path) -> None:
    playbook = book(tmp_path, "  noc: {env: NOC_PHONE, default: '+33 1'}\n")
    assert resolve_vars(playbook, {"NOC_PHONE": "112"}).values == {"noc": "112"}

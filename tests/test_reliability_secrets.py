"""Secrets (docs/journal.md) never reach the journal, the exports, `status`, the plain or live view,
`--dry-run`, or an error message, even when a command echoes them back.

Secret values are chosen to be awkward: shell quotes (the journaled command holds them
shell-quoted, not as typed), `$(...)`, non-ASCII, and one that a command prints exactly
across the journal's live-output budget, where the output is cut.
"""

from __future__ import annotations

import json
import random
import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path

import sshd
from engine_helpers import answer_all, cli, env, events, of_type, spawn_tty, wait_for, write
from ssh_helpers import base_env, runbook

from runbook.executors._base import STREAM_BUDGET, OutputBuffer
from runbook.load._variables import inventory_secrets
from runbook.model import Host
from runbook.secrets import Redactor

DB_PASSWORD = 'hunter2\'s "pass" $(word)'  # by name; from the environment
VAULT = "Vault-Key-91c2-é"  # `secret: true` under an innocent name
API_TOKEN = "tok_4f9a2b7c1d"  # by name; written in the playbook itself
HOST_SECRET = "h0st-Secr3t'x"  # an inventory host variable named *password*
ALL = (DB_PASSWORD, VAULT, API_TOKEN)

PLAYBOOK = """
playbook: secrets
title: Secrets stay secret
vars:
  db_password: {env: RB_DB_PASSWORD}
  vault: {env: RB_VAULT, secret: true}
  api_token: tok_4f9a2b7c1d
  safe: visible-value
steps:
  - id: echo-back
    title: Echoes every secret back
    phase: one
    local: true
    skip_if: "test {{ vars.vault }} = nope"
    run: >-
      echo db={{ vars.db_password }} vault={{ vars.vault }} token={{ vars.api_token }};
      echo {{ vars.db_password }} >&2; printf '%s' {{ vars.vault }}; sleep 0.4;
      printf '%s\\n' {{ vars.api_token }}; echo safe={{ vars.safe }}
    verify: "test -n {{ vars.db_password }}"
  - id: split-budget
    title: A secret right across the live-output budget
    phase: one
    local: true
    run: >-
      head -c PAD /dev/zero | tr '\\0' 'x'; echo {{ vars.db_password }}; sleep 0.8;
      echo {{ vars.vault }}; echo done
  - id: fails
    title: Fails, showing the secret
    phase: two
    needs: [echo-back]
    local: true
    run: "echo about to fail with {{ vars.api_token }} >&2; exit 7"
  - id: tell-operator
    title: Manual step quoting a secret
    phase: two
    needs: [echo-back]
    manual: "Log in with {{ vars.db_password }} and vault {{ vars.vault }}"
"""


def _no_secret(text: str | bytes, where: str, secrets: Iterable[str] = ALL) -> None:
    for s in secrets:
        for form in (s, json.dumps(s)[1:-1], json.dumps(s, ensure_ascii=False)[1:-1]):
            needle: str | bytes = form.encode() if isinstance(text, bytes) else form
            assert needle not in text, f"secret {s!r} in {where}"
    # Leak of a piece: the distinctive middle of each secret (cut output, quoting).
    for s in secrets:
        core = s[2:-2]
        needle = core.encode() if isinstance(text, bytes) else core
        assert needle not in text, f"part of secret {s!r} in {where}"


def _raw_journal(state: Path) -> bytes:
    return b"".join(p.read_bytes() for p in state.parent.glob(state.name + "*"))


def _secret_env() -> dict[str, str]:
    return {"RB_DB_PASSWORD": DB_PASSWORD, "RB_VAULT": VAULT}


def _playbook(tmp_path: Path) -> Path:
    pad = STREAM_BUDGET - 10  # the secret's line starts 10 chars before the budget's end
    return write(tmp_path / "pb.yml", PLAYBOOK.replace("PAD", str(pad)))


def test_no_secret_in_journal_exports_status_or_plain_view(tmp_path: Path) -> None:
    pb = _playbook(tmp_path)
    state = tmp_path / "state.db"
    log = tmp_path / "view.txt"  # a file, not a pipe nobody reads while the run goes
    with log.open("w") as view:
        proc = subprocess.Popen(
            [sys.executable, "-m", "runbook", "--state", str(state), "run", str(pb)],
            stdout=view,
            stderr=subprocess.STDOUT,
            text=True,
            env=env(_secret_env()),
            cwd=tmp_path,
        )
    try:
        wait_for(
            state,
            lambda e: (
                bool(of_type(e, "manual_waiting"))
                and bool(of_type(e, "step_succeeded", "split-budget"))
            ),
        )
        # While the run waits: every status format.
        for fmt in ("text", "json", "md"):
            r = cli(state, "status", "latest", "--format", fmt)
            assert r.returncode == 0, r.stderr
            _no_secret(r.stdout + r.stderr, f"status --format {fmt} (running)")
        r = cli(state, "confirm", "latest", "tell-operator", "--note", "done")
        assert r.returncode == 0, r.stderr
        proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 1, log.read_text()[-2000:]  # `fails` failed
    _no_secret(log.read_text(), "the plain view")
    evs = events(state)
    assert "safe=visible-value" in "".join(e.data.get("text", "") for e in evs)
    texts = [e.data["text"] for e in of_type(evs, "host_output", "echo-back")]
    assert sum(t.count("***") for t in texts) >= 5  # each echo was masked, not dropped
    split = "".join(e.data["text"] for e in of_type(evs, "host_output", "split-budget"))
    assert "done" in split
    _no_secret(_raw_journal(state), "the SQLite files")
    for fmt in ("jsonl", "csv", "md", "html"):
        r = cli(state, "export", "latest", "--format", fmt)
        assert r.returncode == 0, r.stderr
        _no_secret(r.stdout + r.stderr, f"export --format {fmt}")
    for fmt in ("text", "json", "md"):
        r = cli(state, "status", "latest", "--format", fmt)
        assert r.returncode == 0, r.stderr
        _no_secret(r.stdout + r.stderr, f"status --format {fmt} (finished)")
    r = cli(state, "runs")
    _no_secret(r.stdout + r.stderr, "runs")


def test_no_secret_in_the_console(tmp_path: Path) -> None:
    pb = _playbook(tmp_path)
    child = spawn_tty(
        tmp_path, "run", str(pb), dimensions=(60, 200), extra_env=_secret_env(), timeout=60
    )
    screen = answer_all(child, [("waiting for you", "d"), ("note for the journal", "\r")])
    assert "Log in with ***" in screen or "Log in with" in screen
    _no_secret(screen, "the console")


def test_no_secret_in_dry_run_or_template_errors(tmp_path: Path) -> None:
    pb = _playbook(tmp_path)
    state = tmp_path / "state.db"
    r = cli(state, "run", str(pb), "--dry-run", extra_env=_secret_env())
    assert r.returncode == 0, r.stderr
    assert "Log in with" in r.stdout and "echo db=" in r.stdout
    _no_secret(r.stdout + r.stderr, "--dry-run")
    # A template that only fails with the real value: the message must not quote it.
    bad = write(
        tmp_path / "bad.yml",
        """
        playbook: bad
        title: Fails at run start
        vars:
          by_key: {x: 1}
          db_password: {env: RB_DB_PASSWORD, default: x}
        steps:
          - id: lookup
            title: Looks a secret up
            local: true
            run: "echo {{ vars.by_key[vars.db_password] }}"
        """,
    )
    for args in (["run", str(bad)], ["run", str(bad), "--dry-run"], ["validate", str(bad)]):
        r = cli(state, *args, extra_env=_secret_env())
        assert "Traceback" not in r.stderr
        _no_secret(r.stdout + r.stderr, " ".join(args[::2]), [DB_PASSWORD])
    r = cli(state, "run", str(bad), extra_env=_secret_env())
    assert r.returncode == 2 and "bad.yml:" in r.stderr


def _host_inventory(tmp_path: Path, server: sshd.Sshd) -> Path:
    inv = tmp_path / "hosts.yml"
    inv.write_text(
        server.inventory_of(
            {"vault-host": server.addresses[22]}, db_password=json.dumps(HOST_SECRET)
        )
    )
    return inv


def test_inventory_secret_values_are_found_by_name() -> None:
    hosts = {
        "a": Host("a", "10.0.0.1", vars={"db_password": "pw-one", "ansible_become_pass": 1234}),
        "b": Host("b", "10.0.0.2", vars={"api": {"token": "nested"}, "plain": "shown"}),
    }
    assert set(inventory_secrets(hosts)) == {"pw-one", "1234", "nested"}


def test_inventory_secret_variables_are_masked_too(
    sshd_server: sshd.Sshd, ssh_env: dict[str, str], tmp_path: Path
) -> None:
    inv = _host_inventory(tmp_path, sshd_server)
    pb = write(
        tmp_path / "pb.yml",
        """
        playbook: host-secret
        title: A host's password
        steps:
          - id: login
            title: Uses the host's password
            hosts: all
            run: >-
              echo pw={{ host.vars.db_password }}; echo {{ host.vars.db_password }} >&2;
              echo up={{ host.vars.db_password | upper }}
        """,
    )
    leaks = [HOST_SECRET, HOST_SECRET.upper()]  # and what a filter made of it
    e = base_env(tmp_path, **ssh_env)
    r = runbook(["run", str(pb), "-i", str(inv), "--dry-run"], e, tmp_path)
    assert r.returncode == 0, r.stderr
    _no_secret(r.stdout + r.stderr, "--dry-run", leaks)
    r = runbook(["run", str(pb), "-i", str(inv)], e, tmp_path)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    _no_secret(r.stdout + r.stderr, "the plain view", leaks)
    state = tmp_path / "state.db"
    output = "".join(x.data.get("text", "") for x in events(state))
    assert "pw=***" in output and "up=***" in output
    _no_secret(_raw_journal(state), "the SQLite files", leaks)
    r = runbook(["hosts", "-i", str(inv), "--format", "json"], e, tmp_path)
    _no_secret(r.stdout, "hosts --format json", leaks)


def test_output_cut_anywhere_never_leaks_part_of_a_secret() -> None:
    """Output bounding (live budget, tail, long lines) never cuts through a secret: each
    journaled chunk is redacted alone, so a cut secret would escape the mask."""
    secret = "S3cret-Value-0123456789"
    redact = Redactor([secret]).text
    rng = random.Random(7)
    for trial in range(150):
        buf = OutputBuffer()
        lines = []
        for n in range(rng.randint(50, 3000)):
            pad = "y" * rng.choice([0, 5, 30, 80, 0, 5, 30, 20000])
            lines.append(f"{pad} {secret} line {n}\n" if rng.random() < 0.7 else pad + "\n")
        text = "".join(lines)
        chunks: list[str] = []
        at = 0
        while at < len(text):
            size = rng.choice([1, 7, 100, 4096, 65536])
            buf.write("stdout", text[at : at + size])
            at += size
            if rng.random() < 0.2:
                chunks += [c.text for c in buf.drain()]
        chunks += [c.text for c in buf.finish()]
        for chunk in chunks:
            masked = redact(chunk)
            assert secret[3:-3] not in masked, (trial, masked[:200])
            for cut in range(4, len(secret) - 3):  # any long piece of it at a chunk edge
                assert not masked.startswith(secret[-cut:]), trial
                assert not masked.endswith(secret[:cut]), trial

"""A secret a template filter transforms (`| upper`, `| reverse`, a slice, `| replace`,
`| urlencode`, a join, hex...) is still a secret: the real CLI runs steps that echo such
forms, and neither the secret nor the form reaches the SQLite file, an export, `status`
or the terminal, while each command did get the real value.

Each step also writes what its shell received to a file: that text is the derived form,
exactly as it would leak, and it is what the journal and every view are searched for.
"""

from __future__ import annotations

import base64
import html
import json
import os
import re
import signal
import time
from collections.abc import Iterable
from pathlib import Path

from engine_helpers import alive, answer_all, cli, events, of_type, spawn, spawn_tty, write

DB_PASSWORD = 'hunter2\'s "pass" $(word)'  # secret by its name, from the environment
VAULT = "Vault-Key-91c2-é"  # `secret: true`
SECRETS = (DB_PASSWORD, VAULT)

# step id → the expression it echoes, and what the shell must have got (None: not checked
# here, only that it is not empty).
FORMS: dict[str, tuple[str, str | None]] = {
    "upper": ("vars.db_password | upper", DB_PASSWORD.upper()),
    "reverse": ("vars.vault | reverse", VAULT[::-1]),
    "slice": ("vars.db_password[0:6]", DB_PASSWORD[0:6]),
    "replace": ("vars.vault | replace('a', '@')", VAULT.replace("a", "@")),
    "urlencode": ("vars.db_password | urlencode", None),
    "concat": ("(vars.vault ~ '-suffix') | upper", (VAULT + "-suffix").upper()),
    "join": ("vars.vault | list | join('.')", ".".join(VAULT)),
    "hex": ("vars.vault.encode().hex()", VAULT.encode().hex()),
    "b64": ("vars.db_password | b64encode", base64.b64encode(DB_PASSWORD.encode()).decode()),
    "regex": ("vars.vault | regex_replace('[0-9]', '#')", re.sub("[0-9]", "#", VAULT)),
    "block": ("", VAULT.lower()),  # {% filter lower %}: written below
    # The stand-in has no space to find: the template cannot be compared and every `{{ }}`
    # of it is masked instead (the conservative fallback).
    "after-space": (
        "vars.db_password[vars.db_password.index(' ') + 1 :] | upper",
        DB_PASSWORD[DB_PASSWORD.index(" ") + 1 :].upper(),
    ),
}


def _playbook(tmp_path: Path) -> Path:
    out = tmp_path / "out"
    out.mkdir()
    steps = []
    for sid, (expr, _) in FORMS.items():
        value = (
            "{% filter lower %}{{ vars.vault }}{% endfilter %}"
            if sid == "block"
            else "{{ " + expr + " }}"
        )
        run = (
            f"printf '%s' {value} > {{{{ vars.out }}}}/{sid}.txt; "
            f"echo {sid}={value}; echo {value} >&2; echo safe={{{{ vars.safe }}}}"
        )
        steps.append(
            f"  - id: {sid}\n    title: Echoes {sid}\n    local: true\n"
            f"    run: {json.dumps(run)}\n"
            f'    verify: "test -s {{{{ vars.out }}}}/{sid}.txt"\n'
        )
    text = (
        "playbook: filters\ntitle: Filtered secrets stay secret\nvars:\n"
        "  db_password: {env: RB_DB_PASSWORD}\n  vault: {env: RB_VAULT, secret: true}\n"
        f"  safe: visible-value\n  out: {json.dumps(str(out))}\nsteps:\n" + "".join(steps)
    )
    path = tmp_path / "pb.yml"
    path.write_text(text)
    return path


def _secret_env() -> dict[str, str]:
    return {"RB_DB_PASSWORD": DB_PASSWORD, "RB_VAULT": VAULT}


def _derived(tmp_path: Path) -> dict[str, str]:
    """What each step's shell received, checked against the expected value."""
    got = {sid: (tmp_path / "out" / f"{sid}.txt").read_text() for sid in FORMS}
    for sid, (_, expected) in FORMS.items():
        assert got[sid], sid
        if expected is not None:
            assert got[sid] == expected, sid
    assert got["urlencode"].startswith("hunter2%27s%20")
    return got


def _absent(text: str | bytes, where: str, values: Iterable[str]) -> None:
    for value in values:
        forms = {
            value,
            json.dumps(value)[1:-1],
            json.dumps(value, ensure_ascii=False)[1:-1],
            html.escape(value),
            value.replace("'", "'\"'\"'"),
        }
        for form in forms:
            needle: str | bytes = form.encode() if isinstance(text, bytes) else form
            assert needle not in text, f"{value!r} ({form!r}) in {where}"


def _raw_journal(state: Path) -> bytes:
    return b"".join(p.read_bytes() for p in state.parent.glob(state.name + "*"))


def test_filtered_secrets_reach_the_command_but_nothing_kept_or_shown(tmp_path: Path) -> None:
    pb = _playbook(tmp_path)
    state = tmp_path / "state.db"
    r = cli(state, "run", str(pb), extra_env=_secret_env())
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    derived = _derived(tmp_path)
    leaks = (*SECRETS, *derived.values())
    _absent(r.stdout + r.stderr, "the plain view", leaks)

    evs = events(state)
    assert all(of_type(evs, "step_succeeded", sid) for sid in FORMS)
    for sid in FORMS:
        started = of_type(evs, "host_started", sid)
        assert "***" in started[0].data["command"], sid
        assert f"/{sid}.txt" in started[0].data["command"]  # the rest stays readable
        out = "".join(e.data["text"] for e in of_type(evs, "host_output", sid))
        assert f"{sid}=***" in out, (sid, out)  # masked, not dropped
        assert "safe=visible-value" in out
    _absent(_raw_journal(state), "the SQLite files", leaks)

    for fmt in ("jsonl", "csv", "md", "html"):
        r = cli(state, "export", "latest", "--format", fmt)
        assert r.returncode == 0, r.stderr
        _absent(r.stdout + r.stderr, f"export --format {fmt}", leaks)
    for fmt in ("text", "json", "md"):
        r = cli(state, "status", "latest", "--format", fmt)
        assert r.returncode == 0, r.stderr
        _absent(r.stdout + r.stderr, f"status --format {fmt}", leaks)
    r = cli(state, "verify", "latest")
    assert r.returncode == 0, r.stdout + r.stderr  # the hash chain holds the masked data

    r = cli(state, "run", str(pb), "--dry-run", extra_env=_secret_env())
    assert r.returncode == 0, r.stderr
    assert "echo upper='***';" in r.stdout
    _absent(r.stdout + r.stderr, "--dry-run", leaks)


def test_filtered_secrets_stay_out_of_the_console(tmp_path: Path) -> None:
    pb = _playbook(tmp_path)
    child = spawn_tty(
        tmp_path,
        *("run", str(pb), "--step"),
        dimensions=(60, 200),
        extra_env=_secret_env(),
        timeout=60,
    )
    # --step shows each step's commands before it runs: they must be the masked ones.
    # Every step is ready at once: the console shows all their questions; each `r` + Enter
    # answers the selected one, and the count in the pane's title goes down.
    answers = []
    for remaining in range(len(FORMS), 0, -1):
        answers += [(rf"(?<!\d){remaining} waiting for you", "r"), ("note for the journal", "\r")]
    screen = answer_all(child, answers)
    assert child.exitstatus == 0, screen[-3000:]
    _absent(screen, "the console", (*SECRETS, *_derived(tmp_path).values()))


def test_a_run_without_secrets_is_unchanged(tmp_path: Path) -> None:
    pb = write(
        tmp_path / "plain.yml",
        """
        playbook: plain
        title: No secrets
        vars: {word: Hello-World}
        steps:
          - id: shout
            title: Shouts
            local: true
            run: "echo {{ vars.word | upper }} {{ vars.word | reverse }}"
        """,
    )
    state = tmp_path / "state.db"
    r = cli(state, "run", str(pb))
    assert r.returncode == 0, r.stderr
    evs = events(state)
    assert of_type(evs, "host_started")[0].data["command"] == "echo HELLO-WORLD dlroW-olleH"
    assert "HELLO-WORLD dlroW-olleH" in of_type(evs, "host_output")[0].data["text"]


def test_derived_forms_of_an_earlier_secret_do_not_hide_other_steps(tmp_path: Path) -> None:
    """Only what derives from a secret is masked: a step's plain values stay readable."""
    pb = write(
        tmp_path / "mixed.yml",
        """
        playbook: mixed
        title: One secret, plain neighbours
        vars:
          api_token: {env: RB_TOKEN}
          site: paris-dc2
        steps:
          - id: login
            title: Uses the token
            local: true
            run: "echo {{ vars.api_token | upper }} at {{ vars.site | upper }}"
          - id: report
            title: Names the site
            local: true
            needs: [login]
            run: "echo {{ vars.site | upper }}"
        """,
    )
    state = tmp_path / "state.db"
    r = cli(state, "run", str(pb), extra_env={"RB_TOKEN": "tok-51c7e9"})
    assert r.returncode == 0, r.stderr
    evs = events(state)
    assert of_type(evs, "host_started", "login")[0].data["command"] == "echo *** at PARIS-DC2"
    assert "*** at PARIS-DC2" in of_type(evs, "host_output", "login")[0].data["text"]
    assert "PARIS-DC2" in of_type(evs, "host_output", "report")[0].data["text"]
    _absent(_raw_journal(state), "the SQLite files", ["tok-51c7e9", "TOK-51C7E9"])


def test_an_orphaned_command_line_is_masked_on_resume(tmp_path: Path) -> None:
    """A killed engine leaves its command running; `resume` ends it and journals its
    command line, read back from the process, where the filter's output is in clear."""
    pidfile = tmp_path / "pid"
    pb = write(
        tmp_path / "pb.yml",
        f"""
        playbook: orphan-secret
        title: A command with a derived secret outlives its engine
        vars:
          vault: {{env: RB_VAULT, secret: true}}
        steps:
          - id: long
            title: Long
            local: true
            run: "echo $$ > {pidfile}; sleep 120; echo {{{{ vars.vault | upper }}}}"
        """,
    )
    state = tmp_path / "state.db"
    proc = spawn(state, "run", str(pb), extra_env=_secret_env())
    deadline = time.monotonic() + 30
    while not (pidfile.exists() and pidfile.read_text().strip()):
        assert time.monotonic() < deadline, "the command never started"
        time.sleep(0.05)
    pid = int(pidfile.read_text())
    proc.kill()
    proc.communicate(timeout=30)
    try:
        r = cli(state, "resume", "latest", extra_env=_secret_env())
        assert not alive(pid)
        killed = of_type(events(state), "run_resumed")[0].data["orphans_killed"]
        assert "sleep 120; echo '***'" in killed[0]["command"], killed
        leaks = (VAULT, VAULT.upper())
        _absent(r.stdout + r.stderr, "resume", leaks)
        _absent(_raw_journal(state), "the SQLite files", leaks)
    finally:
        if alive(pid):
            os.killpg(pid, signal.SIGKILL)

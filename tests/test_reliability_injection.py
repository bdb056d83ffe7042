"""Injection: inventory, variable and environment values full of shell syntax reach the
shell as plain data, on the control machine (/bin/sh) and on a real sshd (docs/playbook.md:
every substituted value is shell-quoted unless `| raw`).

Each hostile value is written byte for byte into its own file by `printf '%s'`; the test
compares the files with the values and checks that none of the side effects the values
try (creating a `pwned-*` file) happened.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import sshd
from engine_helpers import cli, events, of_type, write
from ssh_helpers import base_env, runbook

# The shared server's addresses 21-22 are this module's (see tests/conftest.py).
A_FIRST = 21


def payloads(trap: Path) -> dict[str, str]:
    """Values a hostile or careless inventory could hold; each tries to create a file."""
    t = str(trap)
    return {
        "semicolon": f"; touch {t}/pwned-semicolon; rm -rf {t}/keep",
        "backticks": f"`touch {t}/pwned-backticks`",
        "dollar": f"$(touch {t}/pwned-dollar)",
        "newline": f"x\ntouch {t}/pwned-newline\n",
        "single": f"'; touch {t}/pwned-single; echo '",
        "double": f'"; touch {t}/pwned-double; echo "',
        "pipe": f"| touch {t}/pwned-pipe",
        "and": f"&& touch {t}/pwned-and",
        "redirect": f"> {t}/pwned-redirect",
        "backslash": f"\\'$(touch {t}/pwned-backslash)\\",
        "ifs": f"${{IFS}}touch${{IFS}}{t}/pwned-ifs",
        "glob": "* ? [a-z] ~ $HOME !!",
        "dash": "-n -e --help",
        "unicode": "é ünïcödé — 日本語 \u202e",
        "empty": "",
        "percent": "%s %n %d \\n",
    }


def _yaml_str(value: str) -> str:
    return json.dumps(value)  # JSON strings are YAML double-quoted strings


def _printf_steps(names: list[str], source: str, out: str) -> str:
    """One `printf '%s' VALUE > out/NAME` per payload (a `;`-separated command)."""
    return "; ".join(f"printf '%s' {{{{ {source}.{n} }}}} > {out}/{n}" for n in names)


def _check(out: Path, trap: Path, expected: dict[str, str]) -> None:
    got = {n: (out / n).read_bytes().decode() for n in expected if (out / n).exists()}
    assert got == expected
    assert sorted(p.name for p in trap.iterdir()) == ["keep"], "a payload ran as shell"


def _folders(base: Path) -> tuple[Path, Path]:
    out, trap = base / "out", base / "trap"
    for d in (out, trap):
        d.mkdir(parents=True)
        d.chmod(0o777)  # the remote test user writes here too
    (trap / "keep").write_text("must survive")
    return out, trap


def test_local_step_values_reach_the_shell_as_data(tmp_path: Path) -> None:
    out, trap = _folders(tmp_path)
    (out / "env").mkdir()
    values = payloads(trap)
    names = sorted(values)
    env_names = {n: f"RB_INJ_{n.upper()}" for n in names}
    lines = ["playbook: inject-local", "title: Hostile values", "vars:"]
    lines += [f"  {n}: {_yaml_str(v)}" for n, v in values.items()]
    lines += [f"  env_{n}: {{env: {env_names[n]}}}" for n in names]
    lines += ["  all_of_them: [" + ", ".join(_yaml_str(values[n]) for n in names) + "]"]
    env_cmd = "; ".join(f"printf '%s' {{{{ vars.env_{n} }}}} > {out}/env/{n}" for n in names)
    lines += [
        "steps:",
        "  - id: from-vars",
        "    title: Playbook vars",
        "    local: true",
        "    skip_if: " + _yaml_str("test x = {{ vars.semicolon }}"),
        "    run: " + _yaml_str(_printf_steps(names, "vars", str(out))),
        "    until: " + _yaml_str("test -n {{ vars.newline }}"),
        "    every: 0.05s",
        "    verify: " + _yaml_str("test -n {{ vars.dollar }} && test -z {{ vars.empty }}"),
        "  - id: from-env",
        "    title: Environment vars",
        "    local: true",
        "    run: " + _yaml_str(env_cmd),
        "  - id: list-words",
        "    title: A list becomes quoted words",
        "    local: true",
        "    run: " + _yaml_str("printf '%s\\n' {{ vars.all_of_them }} > " + f"{out}/list"),
    ]
    pb = tmp_path / "pb.yml"
    pb.write_text("\n".join(lines) + "\n")
    state = tmp_path / "state.db"
    r = cli(state, "run", str(pb), extra_env={env_names[n]: values[n] for n in names})
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    _check(out, trap, values)
    _check(out / "env", trap, values)
    words = (out / "list").read_bytes().decode()
    assert words == "".join(values[n] + "\n" for n in names)
    # The journal shows the command as it ran, quoted: what an auditor needs to see.
    started = of_type(events(state), "host_started", "from-vars")
    assert any("pwned-semicolon" in e.data["command"] for e in started)


def _inventory(server: sshd.Sshd, values: dict[str, str]) -> str:
    lines = [
        *server.inventory_head(),
        "    site_note: " + _yaml_str(values["semicolon"]),
        "  hosts:",
    ]
    for i in range(2):
        lines.append(f"    evil{i}:")
        lines.append(f"      ansible_host: {server.addresses[A_FIRST + i]}")
        for n, v in values.items():
            lines.append(f"      {n}: {_yaml_str(v)}")
    return "\n".join(lines) + "\n"


def test_inventory_values_reach_the_remote_shell_as_data(
    sshd_server: sshd.Sshd, ssh_env: dict[str, str], tmp_path: Path
) -> None:
    base = sshd.public_tempdir("runbook-inject-")  # the remote user must reach it
    try:
        out, trap = _folders(base)
        values = payloads(trap)
        names = sorted(values)
        (tmp_path / "hosts.yml").write_text(_inventory(sshd_server, values))
        run_cmd = "; ".join(
            f"printf '%s' {{{{ host.vars.{n} }}}} > {out}/{{{{ host.name }}}}-{n}" for n in names
        )
        verify = "test -n {{ host.vars.backticks }} && test -n {{ host.vars.site_note }}"
        pb = write(
            tmp_path / "pb.yml",
            f"""
            playbook: inject-remote
            title: Hostile inventory over SSH
            steps:
              - id: hostile
                title: Inventory values as data
                hosts: all
                skip_if: {_yaml_str("test x = {{ host.vars.dollar }}")}
                run: {_yaml_str(run_cmd)}
                verify: {_yaml_str(verify)}
            """,
        )
        env = base_env(tmp_path, **ssh_env)
        r = runbook(["run", str(pb), "-i", str(tmp_path / "hosts.yml")], env, tmp_path)
        assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
        for i in range(2):
            got = {n: (out / f"evil{i}-{n}").read_bytes().decode() for n in names}
            assert got == values
        assert sorted(p.name for p in trap.iterdir()) == ["keep"], "a payload ran as shell"
        evs = events(tmp_path / "state.db")
        assert {e.host for e in of_type(evs, "host_succeeded")} == {"evil0", "evil1"}
    finally:
        shutil.rmtree(base, ignore_errors=True)

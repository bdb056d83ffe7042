"""Option values coerced without pydantic (runbook/cli/_coerce.py) come out as typer's own
pydantic adapters make them: the same value, or the same error for the user; and a run
that needs neither pydantic nor Jinja2 loads neither."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import typer
from typer._click import Context
from typer._click.exceptions import BadParameter

import runbook.cli as cli
from runbook.cli import _coerce

VALUES = ["", "x", "5", "-3", "007", " 5", "5.0", "1_000", "9" * 30, "yes", "json", "JSON", "."]


def _params() -> list[tuple[str, Any]]:
    found = []

    def walk(cmd: Any, path: str) -> None:
        found.extend((f"{path} {p.name}", p) for p in cmd.params if hasattr(p, "type_descriptor"))
        for name, sub in sorted(getattr(cmd, "commands", {}).items()):
            walk(sub, f"{path} {name}")

    walk(typer.main.get_command(cli.app), "runbook")
    return found


def _outcome(runtime: Any, value: Any, param: Any, ctx: Context) -> tuple[str, Any]:
    try:
        return "value", runtime.coerce(value, param=param, ctx=ctx)
    except BadParameter as err:
        return "error", err.format_message()


@pytest.mark.parametrize(
    ("name", "param"), _params(), ids=lambda x: x if isinstance(x, str) else ""
)
def test_every_option_value_comes_out_as_typers_adapter_makes_it(
    name: str, param: Any, tmp_path: Path
) -> None:
    from typer import _coercion

    ctx = Context(typer.main.get_command(cli.app))
    plain = _coerce_build(param.type_descriptor)
    adapter = _coercion.build_runtime_param(param.type_descriptor)
    multi = param.multiple or param.nargs == -1
    samples: list[Any] = [[v, v] for v in VALUES] if multi else [*VALUES, True, False, 50]
    samples += [[str(tmp_path)]] if multi else [str(tmp_path), str(tmp_path / "missing")]
    for value in samples:
        assert _outcome(plain, value, param, ctx) == _outcome(adapter, value, param, ctx), value


def _coerce_build(descriptor: Any) -> Any:
    from typer import core

    _coerce.install()
    return core.build_runtime_param(descriptor)  # type: ignore[attr-defined]


def test_a_plain_run_loads_neither_pydantic_nor_jinja2(tmp_path: Path) -> None:
    """Both cost the start of every run (~100 ms and ~40 ms); a playbook with a template
    loads Jinja2, and only then."""
    plain = "playbook: p\ntitle: P\nsteps:\n  - id: a\n    local: true\n    run: 'true'\n"
    (tmp_path / "p.yml").write_text(plain)
    (tmp_path / "t.yml").write_text(plain.replace("'true'", "'echo {{ run.id }}'"))
    probe = (
        "import sys, runbook.cli as c\n"
        "code = c.main(['--state', 'j.db', 'run', sys.argv[1], '--forks', '4', '--only', 'a'])\n"
        "print(code, 'pydantic' in sys.modules, 'jinja2' in sys.modules)\n"
    )
    for playbook, jinja in (("p.yml", "False"), ("t.yml", "True")):
        out = subprocess.run(
            [sys.executable, "-c", probe, playbook],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=120,
            env=dict(os.environ, NO_COLOR="1"),
        )
        assert out.stdout.splitlines()[-1] == f"0 False {jinja}", out.stderr


def test_a_bad_number_is_still_refused_with_typers_words(tmp_path: Path) -> None:
    out = subprocess.run(
        [sys.executable, "-m", "runbook", "run", "p.yml", "--forks", "five"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        env=dict(os.environ, NO_COLOR="1"),
    )
    assert out.returncode == 2
    assert "Invalid value for '--forks': Input should be a valid integer" in out.stderr
    assert "Traceback" not in out.stderr

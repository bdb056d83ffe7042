"""Big output: a command writing 200 MB to stdout (locally, and over real SSH). The
engine's memory stays bounded (peak RSS measured against the same run printing nothing),
the journal keeps the live budget and the tail, and the run goes on to the next step.

RSS numbers are printed (`-s`); the bound asserted is generous on purpose: it separates
"bounded" from "holds the output" (200 MB), not one allocator from another.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import sshd
from engine_helpers import env, events, of_type, write

from runbook.executors._base import STREAM_BUDGET, TAIL_BYTES

MB = 1_000_000
LINE = "x" * 99  # `yes` adds the newline: 100 bytes a line

PLAYBOOK = """
playbook: flood
title: Huge output
steps:
  - id: flood
    title: Prints a lot
    phase: one
    WHERE
    run: "yes {line} | head -c {size}; echo; echo THE-END; echo on-stderr >&2"
  - id: after
    title: The run goes on
    phase: one
    needs: [flood]
    local: true
    run: "echo after the flood"
"""

_RSS = (
    "import atexit, resource, runpy, sys\n"
    "out = sys.argv.pop(1)\n"
    "atexit.register(lambda: open(out, 'w').write(\n"
    "    str(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)))\n"
    "sys.argv[0] = 'runbook'\n"
    "runpy.run_module('runbook', run_name='__main__')\n"
)


def _run_measured(
    folder: Path, size: int, where: str, extra: list[str], extra_env: dict[str, str]
) -> tuple[int, float]:
    """`runbook run` printing `size` bytes; (exit code, engine peak RSS in MB)."""
    folder.mkdir()
    pb = write(folder / "pb.yml", PLAYBOOK.replace("WHERE", where).format(line=LINE, size=size))
    rss = folder / "rss"
    log = folder / "run.log"
    with log.open("w") as out:
        code = subprocess.run(
            [
                sys.executable,
                "-c",
                _RSS,
                str(rss),
                "--state",
                str(folder / "state.db"),
                "run",
                str(pb),
                *extra,
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env(extra_env),
            cwd=folder,
            timeout=600,
        ).returncode
    assert code == 0, log.read_text()[-3000:]
    return code, int(rss.read_text()) / 1024


def _check_journal(folder: Path, size: int) -> None:
    evs = events(folder / "state.db")
    outs = of_type(evs, "host_output", "flood")
    stdout = [e for e in outs if e.data["stream"] == "stdout"]
    total = sum(len(e.data["text"]) for e in stdout)
    assert total <= STREAM_BUDGET + TAIL_BYTES
    last = stdout[-1]
    assert last.data["truncated"] is True and last.data["text"].endswith("THE-END\n")
    kept = STREAM_BUDGET + TAIL_BYTES
    assert last.data["omitted_chars"] >= size - kept  # counted, never stored
    assert any(e.data["text"] == "on-stderr\n" for e in outs if e.data["stream"] == "stderr")
    assert of_type(evs, "step_succeeded", "after")


def _compare(
    tmp_path: Path, size: int, where: str, label: str, extra: tuple[str, ...] = (), **extra_env: str
) -> None:
    _, base = _run_measured(tmp_path / "small", 1000, where, list(extra), extra_env)
    _, big = _run_measured(tmp_path / "big", size, where, list(extra), extra_env)
    print(
        f"\n{label}: engine peak RSS {base:.0f} MB printing 1 kB, {big:.0f} MB printing "
        f"{size // MB} MB"
    )
    _check_journal(tmp_path / "big", size)
    assert big < base + 60, (base, big)


def test_200_mb_of_local_output_keeps_memory_bounded(tmp_path: Path) -> None:
    _compare(tmp_path, 200 * MB, "local: true", "local step")


def test_200_mb_of_remote_output_keeps_memory_bounded(
    sshd_server: sshd.Sshd, ssh_env: dict[str, str], tmp_path: Path
) -> None:
    inv = tmp_path / "hosts.yml"
    inv.write_text(
        "all:\n  vars:\n"
        f"    ansible_port: {sshd_server.port}\n    ansible_user: {sshd_server.user}\n"
        f"    ansible_ssh_private_key_file: {sshd_server.client_key}\n  hosts:\n"
        f"    chatty: {{ansible_host: {sshd_server.addresses[23]}}}\n"
    )
    _compare(tmp_path, 200 * MB, "hosts: all", "remote step over SSH", ("-i", str(inv)), **ssh_env)

"""The local transport: a real /bin/sh in its own process group."""

from __future__ import annotations

import os
import threading
from pathlib import Path

from runbook.executors._base import STREAM_BUDGET, TAIL_BYTES, OutputBuffer
from runbook.executors._local import LocalTransport


def _run(command: str, timeout: float = 10, cancel: threading.Event | None = None):  # type: ignore[no-untyped-def]
    out: list[tuple[str, str]] = []
    result = LocalTransport(kill_grace_s=1).run(
        None,
        command,
        timeout_s=timeout,
        on_output=lambda s, t: out.append((s, t)),
        cancel=cancel or threading.Event(),
    )
    return result, out


def test_exit_code_and_both_streams() -> None:
    result, out = _run("echo out; echo err >&2; exit 7")
    assert result.exit_code == 7 and not result.ok and not result.timed_out
    assert "".join(t for s, t in out if s == "stdout") == "out\n"
    assert "".join(t for s, t in out if s == "stderr") == "err\n"


def test_closing_output_early_does_not_end_the_command(tmp_path: Path) -> None:
    flag = tmp_path / "flag"
    result, _ = _run(f"exec >/dev/null 2>&1; sleep 0.5; touch {flag}")
    assert result.exit_code == 0
    assert flag.exists()


def test_timeout_kills_children_that_ignore_sigterm(tmp_path: Path) -> None:
    pidfile = tmp_path / "pid"
    result, _ = _run(f"sh -c 'trap \"\" TERM; sleep 30' & echo $! > {pidfile}; wait", timeout=0.5)
    assert result.timed_out and result.exit_code is None
    pid = int(pidfile.read_text())
    stat = Path(f"/proc/{pid}/stat")
    assert not stat.exists() or stat.read_text().rsplit(")", 1)[1].split()[0] == "Z"


def test_cancel_stops_the_command() -> None:
    cancel = threading.Event()
    threading.Timer(0.3, cancel.set).start()
    result, _ = _run("sleep 30", cancel=cancel)
    assert result.exit_code is None and not result.timed_out


def test_background_child_holding_the_pipe_does_not_hang_the_step() -> None:
    result, out = _run("sleep 30 & echo started")
    assert result.exit_code == 0
    assert "started" in "".join(t for _, t in out)


def test_invalid_utf8_is_replaced_not_fatal() -> None:
    result, out = _run("printf 'caf\\303\\251 \\377\\n'")
    assert result.ok
    assert "café" in "".join(t for _, t in out)


def test_output_buffer_keeps_memory_bounded_and_the_tail() -> None:
    buf = OutputBuffer()
    chunk = "x" * 99 + "\n"
    for _ in range(200_000):  # 20 MB
        buf.write("stdout", chunk)
    buf.write("stdout", "THE-END\n")
    drained = sum(len(c.text) for c in buf.drain())
    tail = buf.finish()
    assert drained + sum(len(c.text) for c in tail) <= STREAM_BUDGET + TAIL_BYTES
    assert tail[-1].truncated and tail[-1].text.endswith("THE-END\n")
    assert os.getpid()


def test_a_nul_character_fails_the_command_instead_of_the_engine() -> None:
    # A variable's value can carry "\0" (YAML allows the escape); no shell can take it.
    result, out = _run("echo a\x00b")
    assert result.exit_code is None and result.error is not None and out == []
    assert "NUL character" in result.error.detail

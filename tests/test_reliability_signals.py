"""Signals at moments the engine does not hold yet (docs/commands.md, exit codes: 130 after
Ctrl-C or SIGTERM). A playbook named by a FIFO keeps `runbook run` reading it, before
anything is journaled, for as long as the test likes: a TERM there must end the command as
Ctrl-C does, with exit 130, not by the signal's default action (143)."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

from engine_helpers import spawn


def test_sigterm_while_the_playbook_is_read_exits_130(tmp_path: Path) -> None:
    fifo = tmp_path / "pb.yml"
    os.mkfifo(fifo)
    proc = spawn(tmp_path / "state.db", "run", str(fifo))
    time.sleep(3)  # imported, parsing its options, blocked opening the FIFO
    assert proc.poll() is None, proc.communicate()
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, (proc.returncode, out, err)
    assert "Traceback" not in out + err
    assert not (tmp_path / "state.db").exists()  # nothing was journaled

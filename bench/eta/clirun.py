"""Real backend: `runbook rehearse --durations … --speed max`, then `runbook export`.

Earlier rehearsals go into the same state file first, so the forecaster has the history a
team would have after its DR exercises. The forecaster never sees the durations files.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import yaml
from generate import Case


def _runbook(state: Path, *args: str) -> str:
    cmd = [sys.executable, "-m", "runbook", "--state", str(state), *args]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} exited {proc.returncode}: {proc.stderr[-2000:]}")
    return proc.stdout


def rehearse_cli(case: Case) -> list[dict[str, Any]]:
    """The scored run's exported events (history rehearsed before it, same state file)."""
    with tempfile.TemporaryDirectory(prefix="runbook-eta-") as tmp:
        folder = Path(tmp)
        book = folder / "playbook.yml"
        book.write_text(yaml.safe_dump(case.playbook, sort_keys=False))
        state = folder / "state.db"
        for i, (other, durations) in enumerate(getattr(case, "others", [])):
            # the team's other playbooks, rehearsed first: the reference class (team.py)
            path = folder / f"other-{i}.yml"
            path.write_text(yaml.safe_dump(other, sort_keys=False))
            dfile = folder / f"other-durations-{i}.yml"
            dfile.write_text(yaml.safe_dump({k: f"{v}s" for k, v in durations.items()}))
            _runbook(
                state, "-q", "rehearse", str(path), "--durations", str(dfile), "--speed", "max"
            )
        for i, durations in enumerate([*case.history, case.truth]):
            dfile = folder / f"durations-{i}.yml"
            dfile.write_text(yaml.safe_dump({k: f"{v}s" for k, v in durations.items()}))
            args = ("rehearse", str(book), "--durations", str(dfile), "--speed", "max")
            _runbook(state, "-q", *args)
        out = _runbook(state, "export", "latest", "--format", "jsonl")
        return [json.loads(line) for line in out.splitlines() if line.strip()]

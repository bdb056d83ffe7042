"""`runbook status --format md`: the update a crisis cell can paste as it is."""

from __future__ import annotations

import re
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from audit_helpers import journal_restore, journal_until

from runbook.report._status_md import next_update_at


def status_md(db: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "runbook",
            "--state",
            str(db),
            "status",
            "latest",
            "-f",
            "md",
            *extra,
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_an_update_mid_incident_says_what_is_back_stuck_and_when(tmp_path: Path) -> None:
    db = tmp_path / "state.db"
    journal_until(db, lambda e: e.type == "step_blocked", end_at=time.time() - 5)
    out = status_md(db, "--next", "45m")
    assert out.returncode == 0, out.stderr
    text = out.stdout
    assert text.startswith("**Restore after hosting-provider power loss — status at ")
    assert (
        "**Back:**\n- Phases complete: power (1/1), network (1/1), storage (1/1), directory" in text
    )
    assert "**In progress:**\n- SIP trunks up (messaging) `telephony`: running for" in text
    assert "**Needs a decision:**" in text
    assert "Restart postfix (messaging) `mail`: **failed** on mx2 (exit 1); holds up apps" in text
    assert "**Blocked:**\n- by `mail`: 1 step(s): Check the patient record app" in text
    assert "**ETA:** all steps done by **" in text and "RTO 4h00m: deadline" in text
    assert "risk of missing it **" in text
    # a live run is reported at the real time; --next 45m is 45 minutes after it
    m = re.search(r"status at (?:\w+ \d+ \w+ )?(\d\d):(\d\d) UTC", text)
    assert m is not None
    at = (int(m.group(1)) * 60 + int(m.group(2)) + 45) % (24 * 60)
    # past midnight the next update names its day too ("Mon 30 Nov 00:02 UTC")
    next_update = re.search(r"\*\*Next update:\*\* (?:\w+ \d+ \w+ )?(\d\d:\d\d) UTC\.", text)
    assert next_update is not None, text
    assert next_update.group(1) == f"{at // 60:02d}:{at % 60:02d}"


def test_a_waiting_manual_step_and_an_operator_estimate_are_shown(tmp_path: Path) -> None:
    db = tmp_path / "state.db"
    journal_until(db, lambda e: e.type == "operator_expect", end_at=time.time() - 1)
    text = status_md(db).stdout
    # waiting since 2 minutes before the operator's estimate, which was a moment ago
    assert re.search(r"`apps`: \*\*waiting for an operator\*\* for 2m(\d\ds)?;", text)
    assert re.search(r"about (19m\d\ds|20m) more \(carol: vendor on the phone\)", text)
    assert "**Not started yet:**" not in text


def test_a_finished_run_gets_a_final_update(tmp_path: Path) -> None:
    db = tmp_path / "state.db"
    journal_restore(db)
    text = status_md(db).stdout
    assert "**Finished: succeeded at 12:38 UTC.** RTO met with 2h28m to spare." in text
    assert "_Final update for this run._" in text
    assert "Next update" not in text


def test_a_bad_next_is_bad_input(tmp_path: Path) -> None:
    db = tmp_path / "state.db"
    journal_restore(db)
    out = status_md(db, "--next", "soon")
    assert out.returncode == 2
    assert "neither a duration" in out.stderr and "Traceback" not in out.stderr


@pytest.mark.parametrize(
    ("text", "expected"),
    [(None, "10:30"), ("15m", "10:15"), ("1h", "11:00"), ("11:45", "11:45"), ("09:00", "09:00")],
)
def test_next_update_times(text: str | None, expected: str) -> None:
    now = datetime(2026, 11, 29, 10, 0, tzinfo=UTC).timestamp()
    at = datetime.fromtimestamp(next_update_at(now, text), UTC)
    assert at.strftime("%H:%M") == expected
    assert at.timestamp() > now  # 09:00 is tomorrow's

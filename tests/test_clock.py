"""The engine's clock when the system clock is stepped (NTP after a power loss)."""

from __future__ import annotations

import subprocess
import textwrap
import time
from pathlib import Path

import pytest
from engine_helpers import cli, events, of_type, write

from runbook.clock import RealClock, iso, parse_iso


def test_real_clock_keeps_going_when_the_system_clock_steps_back(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    clock = RealClock()
    before = clock.now()
    real = time.time
    monkeypatch.setattr("runbook.clock.time.time", lambda: real() - 3600)
    time.sleep(0.05)
    after = clock.now()
    assert 0.04 < after - before < 1.0  # the step back is not seen; time went on


# Steps the process's wall clock back one hour half a second after the marker file is
# made: after the engine has put the step's retry on its timer, before it is due.
SITECUSTOMIZE = """
import os, time
_real = time.time
_mark = os.environ["RUNBOOK_TEST_CLOCK_MARK"]

def _time():
    t = _real()
    try:
        made = os.stat(_mark).st_mtime
    except OSError:
        return t
    return t - 3600 if t > made + 0.5 else t

time.time = _time
"""


def test_a_retry_delay_is_not_stretched_by_a_clock_step_back(tmp_path: Path) -> None:
    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(textwrap.dedent(SITECUSTOMIZE))
    mark = tmp_path / "failed-once"
    pb = write(
        tmp_path / "restore.yml",
        f"""
        steps:
          - id: flaky
            local: true
            run: "test -e {mark} || {{ touch {mark}; exit 1; }}"
            retries: 1
            retry_delay: 2s
        """,
    )
    state = tmp_path / "state.db"
    extra = {"PYTHONPATH": str(site), "RUNBOOK_TEST_CLOCK_MARK": str(mark)}
    started = time.monotonic()
    try:
        r = cli(state, "run", str(pb), extra_env=extra, timeout=60)
    except subprocess.TimeoutExpired:
        pytest.fail("the retry waited for the wall clock to catch up an hour")
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    assert time.monotonic() - started < 30
    evs = events(state)
    (retrying,) = of_type(evs, "step_retrying", "flaky")
    (succeeded,) = of_type(evs, "step_succeeded", "flaky")
    # The journal's times stay those of the run's own clock: the retry really took 2 s.
    gap = parse_iso(succeeded.ts) - parse_iso(retrying.ts)
    assert 2.0 <= gap < 10.0


@pytest.mark.parametrize(
    ("ts", "text"),
    [
        (0.0, "1970-01-01T00:00:00.000Z"),
        (1796680000.0, "2026-12-07T21:46:40.000Z"),
        (1796680000.0004999, "2026-12-07T21:46:40.000Z"),
        (1796680000.9994999, "2026-12-07T21:46:40.999Z"),
        (1796680000.9999996, "2026-12-07T21:46:41.000Z"),  # rounds into the next second
        (1796680059.9999996, "2026-12-07T21:47:40.000Z"),
        (951868799.5, "2000-02-29T23:59:59.500Z"),
        (-0.25, "1969-12-31T23:59:59.750Z"),
    ],
)
def test_journal_timestamps_are_utc_milliseconds_as_datetime_writes_them(
    ts: float, text: str
) -> None:
    # Twice: the second call takes the cached text of its second.
    assert iso(ts) == text
    assert iso(ts) == text

"""A realistic restore run, journaled event by event, for the export/verify/report tests.

The sequence follows docs/ARCHITECTURE.md's event data: a manual power check, network and
storage over hosts (one retried), a failed mail restart that blocks the applications, an
operator retry, a claimed manual step, an operator skip, and `eta` after every transition.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from runbook.clock import iso
from runbook.events._event import GENESIS_HASH, Event, canonical, chain_hash

T0 = 1_795_000_000.0  # 2026-11-18T...Z: a fixed start keeps reports byte-stable
RUN_ID = "20261118-0626-a3f9"
SECRET = "hunter2-db-password"  # must never appear: the journal only ever holds ***

Append = Callable[..., Event]


def _plan_step(
    sid: str,
    title: str,
    phase: str,
    kind: str,
    needs: list[str],
    hosts: list[str],
    likely_s: float,
) -> dict[str, Any]:
    return {
        "id": sid,
        "title": title,
        "phase": phase,
        "kind": kind,
        "needs": needs,
        "hosts": hosts,
        "parallel": None,
        "timeout_s": 900.0,
        "retries": 1,
        "idempotent": False,
        "on_failure": "block",
        "owner": None,
        "estimate": {"min_s": likely_s / 2, "likely_s": likely_s, "max_s": likely_s * 3},
        "wave": 0,
    }


STEPS = [
    _plan_step("utility-power", "Confirm utility power", "power", "manual", [], [], 1200),
    _plan_step(
        "core-switches",
        "Core switches answer",
        "network",
        "remote",
        ["utility-power"],
        ["sw1", "sw2"],
        600,
    ),
    _plan_step(
        "storage-array",
        "Storage array online",
        "storage",
        "remote",
        ["utility-power"],
        ["san1"],
        900,
    ),
    _plan_step(
        "dns",
        "DNS resolvers",
        "directory",
        "remote",
        ["core-switches", "storage-array"],
        ["dns1", "dns2"],
        300,
    ),
    _plan_step(
        "mail",
        "Restart postfix",
        "messaging",
        "remote",
        ["dns"],
        ["mx1", "mx2"],
        600,
    ),
    _plan_step("telephony", "SIP trunks up", "messaging", "local", ["dns"], [], 300),
    _plan_step("apps", "Check the patient record app", "applications", "manual", ["mail"], [], 900),
    _plan_step("wiki", "Internal wiki", "applications", "remote", ["telephony"], ["wiki1"], 300),
]
PLAN = {
    "playbook": "datacenter-restore",
    "title": "Restore after hosting-provider power loss",
    "rto_s": 4 * 3600.0,
    "steps": STEPS,
    "waves": [],
    "phases": ["power", "network", "storage", "directory", "messaging", "applications"],
    "critical_path": ["utility-power", "storage-array", "dns", "mail", "apps"],
    "critical_path_s": 3900.0,
    "p50_s": 4000.0,
    "p90_s": 6000.0,
    "default_estimates": [],
}


class MemoryChain:
    """Builds hash-chained events in memory the way the journal does (docs/journal.md)."""

    def __init__(self) -> None:
        self.events: list[Event] = []

    def append(
        self,
        run_id: str,
        type: str,
        *,
        ts: float,
        step: str | None = None,
        host: str | None = None,
        data: dict[str, Any] | None = None,
    ) -> Event:
        prev = self.events[-1].hash if self.events else GENESIS_HASH
        seq = len(self.events) + 1
        body = data or {}
        stamp = iso(ts)
        h = chain_hash(prev, canonical(run_id, seq, stamp, type, step, host, body))
        ev = Event(run_id, seq, stamp, type, step, host, body, prev, h)
        self.events.append(ev)
        return ev


def record_restore(append: Append, run_id: str = RUN_ID, t0: float = T0) -> None:
    """Journal the whole scenario through `append(run_id, type, ts=, step=, host=, data=)`."""
    now = [t0]
    left = [4000.0]

    def at(dt: float) -> float:
        now[0] += dt
        return now[0]

    def ev(
        type: str, dt: float = 0.0, step: str | None = None, host: str | None = None, **data: Any
    ) -> None:
        append(run_id, type, ts=at(dt), step=step, host=host, data=data)

    def eta(spent: float, slip: float = 0.0) -> None:
        left[0] = max(0.0, left[0] - spent + slip)
        p50, p90 = now[0] + left[0], now[0] + left[0] * 1.5
        ev(
            "eta",
            p50=iso(p50),
            p90=iso(p90),
            remaining_p50_s=left[0],
            remaining_p90_s=left[0] * 1.5,
            critical_path=["mail", "apps"],
            rto_risk=round(min(1.0, left[0] / 20000), 3),
            method="simple",
        )

    def remote(step: str, hosts: list[str], dur: float, attempt: int = 1) -> None:
        for h in hosts:
            ev(
                "host_started",
                0.5,
                step,
                h,
                attempt=attempt,
                action="run",
                command=f"systemctl restart {step}",
            )
        for i, h in enumerate(hosts):
            ev(
                "host_output",
                dur - 1 if i == 0 else 1,
                step,
                h,
                stream="stdout",
                text=f"{h}: ok\n",
                truncated=False,
            )
            ev("host_succeeded", 1, step, h, attempt=attempt, duration_s=dur + i * 2, skipped=False)

    ev(
        "run_started",
        playbook="datacenter-restore",
        title=PLAN["title"],
        mode="live",
        operator="alice",
        rto_s=PLAN["rto_s"],
        playbook_path="playbooks/datacenter-restore.yml",
        inventory=["inventory/datacenter.yml"],
        options={"concurrency": None, "forks": 50},
        plan=PLAN,
    )
    eta(0)
    # power: a manual step, waited on 3 minutes, worked 17
    ev("step_started", 1, "utility-power", attempt=1, kind="manual", hosts=[])
    ev(
        "manual_waiting",
        0,
        "utility-power",
        instructions="Call the provider NOC",
        hosts=[],
        owner=None,
    )
    ev("manual_claimed", 180, "utility-power", operator="alice")
    ev(
        "manual_answered",
        1020,
        "utility-power",
        answer="done",
        operator="alice",
        note="NOC confirms rooms A and B energised",
        wait_s=180.0,
        work_s=1020.0,
    )
    ev("step_succeeded", 0, "utility-power", duration_s=1200.0, attempts=1)
    eta(1200)
    # network and storage in parallel; storage needs a second attempt
    ev("step_started", 1, "core-switches", attempt=1, kind="remote", hosts=["sw1", "sw2"])
    ev("step_started", 0, "storage-array", attempt=1, kind="remote", hosts=["san1"])
    remote("core-switches", ["sw1", "sw2"], 500)
    ev("step_succeeded", 0, "core-switches", duration_s=1001.0, attempts=1)
    eta(600)
    ev(
        "host_started",
        1,
        "storage-array",
        "san1",
        attempt=1,
        action="run",
        command="array-online --password ***",
    )
    ev(
        "host_output",
        100,
        "storage-array",
        "san1",
        stream="stderr",
        text="controller B not ready\n",
        truncated=False,
    )
    ev(
        "host_failed",
        0,
        "storage-array",
        "san1",
        attempt=1,
        duration_s=100.0,
        reason="exit",
        exit_code=3,
        message="exit status 3",
    )
    ev("step_retrying", 0, "storage-array", attempt=1, delay_s=30.0, failed_hosts=["san1"])
    ev(
        "host_started",
        30,
        "storage-array",
        "san1",
        attempt=2,
        action="run",
        command="array-online --password ***",
    )
    ev("host_succeeded", 600, "storage-array", "san1", attempt=2, duration_s=600.0, skipped=False)
    ev("step_succeeded", 0, "storage-array", duration_s=1730.0, attempts=2)
    eta(900, slip=300)
    ev("step_started", 1, "dns", attempt=1, kind="remote", hosts=["dns1", "dns2"])
    remote("dns", ["dns1", "dns2"], 250)
    ev("step_succeeded", 0, "dns", duration_s=501.0, attempts=1)
    eta(300)
    # mail fails on mx2 with hostile output; it blocks the applications
    ev("step_started", 1, "mail", attempt=1, kind="remote", hosts=["mx1", "mx2"])
    ev("step_started", 0, "telephony", attempt=1, kind="local", hosts=[])
    remote("mail", ["mx1"], 400)
    ev("host_started", 0, "mail", "mx2", attempt=1, action="run", command="systemctl restart")
    ev(
        "host_output",
        60,
        "mail",
        "mx2",
        stream="stderr",
        text="<script>alert('x')</script> & queue | corrupt ```\nJob for postfix failed\n",
        truncated=True,
    )
    ev(
        "host_failed",
        0,
        "mail",
        "mx2",
        attempt=1,
        duration_s=60.0,
        reason="exit",
        exit_code=1,
        message="exit status 1",
    )
    ev(
        "step_failed",
        0,
        "mail",
        duration_s=461.0,
        attempts=1,
        failed_hosts=["mx2"],
        reason="failed on mx2",
    )
    ev("step_blocked", 0, "apps", by=["mail"])
    eta(0, slip=900)
    ev("step_succeeded", 100, "telephony", duration_s=561.0, attempts=1)
    eta(300)
    ev(
        "step_skipped",
        60,
        "wiki",
        reason="operator",
        operator="bob",
        note="wiki not needed tonight",
    )
    eta(300)
    # the operator fixes the queue, retries mail; apps is claimed and confirmed
    ev("operator_retry", 600, "mail", operator="bob", note="queue rebuilt by hand")
    ev("step_started", 5, "mail", attempt=2, kind="remote", hosts=["mx1", "mx2"])
    remote("mail", ["mx1", "mx2"], 300, attempt=2)
    ev("step_succeeded", 0, "mail", duration_s=601.0, attempts=2)
    eta(600)
    ev("step_started", 1, "apps", attempt=1, kind="manual", hosts=[])
    ev(
        "manual_waiting",
        0,
        "apps",
        instructions="Log in to the record app",
        hosts=[],
        owner="apps-team",
    )
    ev(
        "operator_expect",
        120,
        "apps",
        remaining_s=1200.0,
        note="vendor on the phone",
        operator="carol",
    )
    ev("manual_claimed", 60, "apps", operator="carol")
    ev(
        "manual_answered",
        1100,
        "apps",
        answer="done",
        operator="carol",
        note="records load; 2 wards checked",
        wait_s=180.0,
        work_s=1100.0,
    )
    ev("step_succeeded", 0, "apps", duration_s=1281.0, attempts=1)
    eta(900)
    ev("run_finished", 1, result="succeeded", counts={"succeeded": 7, "skipped": 1})


def memory_restore() -> list[Event]:
    """The scenario as an in-memory, correctly chained event list."""
    chain = MemoryChain()
    record_restore(chain.append)
    return chain.events


def journal_restore(db: Path) -> str:
    """The scenario written through the real Journal into `db`; returns the run id."""
    from runbook.journal._store import Journal

    j = Journal(db)
    try:
        run_id = j.new_run("datacenter-restore", "live", T0)
        record_restore(j.append, run_id)
    finally:
        j.close()
    return run_id


def journal_until(db: Path, stop: Callable[[Event], bool], end_at: float | None = None) -> str:
    """The scenario journaled up to the first event where `stop` is true.

    With `end_at`, every time is shifted so that this last event happens at `end_at`
    (e.g. a moment ago, for a live run that `status` reads against the real clock).
    """
    from runbook.clock import parse_iso
    from runbook.journal._store import Journal

    events = memory_restore()
    last = next(i for i, e in enumerate(events) if stop(e))
    events = events[: last + 1]
    shift = 0.0 if end_at is None else end_at - parse_iso(events[-1].ts)
    with Journal(db) as j:
        run_id = j.new_run("datacenter-restore", "live", T0 + shift)
        for ev in events:
            j.append(
                run_id,
                ev.type,
                ts=parse_iso(ev.ts) + shift,
                step=ev.step,
                host=ev.host,
                data=_shift_data(dict(ev.data), shift),
            )
    return run_id


def _shift_data(data: dict[str, Any], shift: float) -> dict[str, Any]:
    """ETA times move with the events they belong to."""
    from runbook.clock import parse_iso

    for key in ("p50", "p90"):
        if isinstance(data.get(key), str):
            data[key] = iso(parse_iso(data[key]) + shift)
    return data

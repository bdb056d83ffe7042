"""A fixed moment of the datacenter restore, for the console's snapshots and pictures.

The plan is the real one (playbooks/datacenter-restore.yml, planned without history);
the events are written here, in the engine's shapes, on a fixed clock: each step starts
when its needs are done and takes its likely estimate scaled by a fixed factor, so the
same moment always draws the same screen. One step fails (zpool-import on one head), its
dependents are blocked, and one manual step waits for an operator.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

from runbook.clock import iso, parse_iso
from runbook.engine import Question
from runbook.events import Event, fold
from runbook.present._feed import Feed

ROOT = Path(__file__).resolve().parent.parent
RUN_ID = "20260314-1120-7f3a"
T0 = parse_iso("2026-03-14T11:20:00Z")
FAILS = "zpool-import"
WAITS = "downtime-procedures"  # still waiting for its operator at the moment shown
FAILED_HOST_OUTPUT = (
    "importing pool tank from /dev/disk/by-id (8 devices)",
    "cannot import 'tank': I/O error",
    "        Destroy and re-create the pool from a backup source.",
    "zpool import: one or more devices is currently unavailable",
)
INSTRUCTIONS = {
    WAITS: "Ask each site IT lead to confirm the downtime procedures are active\n"
    "(paper forms, phone orders). Note the sites that do not answer.",
}
OUTPUT = {
    "hypervisors": ("waiting for 6 hosts to report HA state", "esx-03: HA agent running"),
    "site-tunnels": ("IPsec SA up for 31/38 sites", "site-27: phase 2 negotiating"),
    "time-sync": ("chronyc tracking: offset +0.000412 s", "System clock synchronised"),
    "dns-servers": ("named: zone ght.local/IN loaded serial 2026031401",),
    "ldap-servers": ("slapd starting", "slapd: bdb_db_open: database recovered"),
}


def plan_json() -> dict[str, Any]:
    from runbook.app import RunRequest, prepare

    req = RunRequest(
        playbook=ROOT / "playbooks" / "datacenter-restore.yml",
        inventories=(ROOT / "inventory" / "datacenter.yml",),
    )
    return prepare(req, dict(os.environ)).plan.to_json()  # type: ignore[no-any-return]


def _factor(step: str) -> float:
    """A fixed pseudo-random 0.8-1.4 per step."""
    return 0.8 + int(hashlib.sha256(step.encode()).hexdigest()[:4], 16) / 0xFFFF * 0.6


class _Journal:
    def __init__(self) -> None:
        self.events: list[Event] = []

    def add(
        self, at: float, type_: str, step: str | None = None, host: str | None = None, **data: Any
    ) -> None:
        self.events.append(Event(RUN_ID, 0, iso(at), type_, step, host, data))

    def ordered(self) -> list[Event]:
        events = sorted(self.events, key=lambda e: (parse_iso(e.ts), e.type != "run_started"))
        return [
            Event(e.run_id, seq, e.ts, e.type, e.step, e.host, e.data)
            for seq, e in enumerate(events, 1)
        ]


def _times(plan: dict[str, Any]) -> dict[str, tuple[float, float]]:
    """Each step's (start, end) if every step ran at its scaled estimate."""
    steps = {s["id"]: s for s in plan["steps"]}
    times: dict[str, tuple[float, float]] = {}

    def of(sid: str) -> tuple[float, float]:
        if sid not in times:
            start = max((of(n)[1] for n in steps[sid]["needs"]), default=T0)
            times[sid] = (start, start + steps[sid]["estimate"]["likely_s"] * _factor(sid))
        return times[sid]

    for sid in steps:
        of(sid)
    return times


def _downstream(plan: dict[str, Any], sid: str) -> set[str]:
    out: set[str] = set()
    todo = [sid]
    while todo:
        cur = todo.pop()
        for s in plan["steps"]:
            if cur in s["needs"] and s["id"] not in out:
                out.add(s["id"])
                todo.append(s["id"])
    return out


def scene_events(at_s: float = 2 * 3600 + 50 * 60) -> tuple[list[Event], float]:
    """The run's events up to T0 + at_s, and that moment."""
    plan = plan_json()
    now = T0 + at_s
    j = _Journal()
    j.add(
        T0,
        "run_started",
        playbook=plan["playbook"],
        title=plan["title"],
        mode="live",
        operator="mhaddad",
        rto_s=plan["rto_s"],
        plan=plan,
        options={},
    )
    times = _times(plan)
    fail_at = times[FAILS][0] + 240.0
    dead = _downstream(plan, FAILS)
    for s in plan["steps"]:
        sid, (start, end) = s["id"], times[s["id"]]
        if start > now or sid in dead:
            continue
        hosts = list(s["hosts"])
        j.add(start, "step_started", sid, attempt=1, kind=s["kind"], hosts=hosts)
        if s["kind"] == "manual":
            text = INSTRUCTIONS.get(sid, f"{s['title']}: do it, then confirm here.")
            j.add(start, "manual_waiting", sid, instructions=text, hosts=hosts, owner=s["owner"])
            if end <= now and sid != WAITS:
                work = end - start
                j.add(
                    end,
                    "manual_answered",
                    sid,
                    answer="done",
                    operator="mhaddad",
                    note=None,
                    wait_s=0.0,
                    work_s=round(work, 3),
                    claimed=False,
                )
                j.add(end, "step_succeeded", sid, duration_s=round(work, 3))
            continue
        for h in hosts or [None]:
            j.add(start, "host_started", sid, h, attempt=1, action="run", command=f"restore {sid}")
        if sid == FAILS:
            bad = hosts[0]
            j.add(fail_at - 1, "host_output", sid, bad, text="\n".join(FAILED_HOST_OUTPUT))
            j.add(
                fail_at,
                "host_failed",
                sid,
                bad,
                attempt=1,
                duration_s=240.0,
                reason="exit",
                exit_code=1,
                message="run exited 1",
            )
            for h in hosts[1:]:
                j.add(fail_at - 5, "host_succeeded", sid, h, attempt=1, duration_s=235.0)
            j.add(
                fail_at,
                "step_failed",
                sid,
                duration_s=240.0,
                attempts=1,
                failed_hosts=[bad],
                reason="1 of 2 hosts failed",
            )
            for d in sorted(dead):
                if set(next(x for x in plan["steps"] if x["id"] == d)["needs"]) & {FAILS}:
                    j.add(fail_at, "step_blocked", d, by=[FAILS])
            continue
        for i, line in enumerate(OUTPUT.get(sid, (f"{sid}: done",))):
            for h in hosts or [None]:
                j.add(min(now, end) - 10 + i, "host_output", sid, h, text=line)
        if end <= now:
            for h in hosts or [None]:
                j.add(end, "host_succeeded", sid, h, attempt=1, duration_s=round(end - start, 3))
            j.add(end, "step_succeeded", sid, duration_s=round(end - start, 3))
    for k, (p50, p90, risk) in enumerate(((8.3, 9.6, 0.35), (8.6, 9.9, 0.48), (8.9, 10.2, 0.62))):
        at = T0 + at_s * k / 2 - (1 if k == 2 else 0)
        j.add(
            at,
            "eta",
            p50=iso(T0 + p50 * 3600),
            p90=iso(T0 + p90 * 3600),
            remaining_p50_s=0,
            remaining_p90_s=0,
            critical_path=[],
            rto_risk=risk,
        )
    return [e for e in j.ordered() if parse_iso(e.ts) <= now], now


def scene_output(step: str) -> str:
    """What `step` printed in the scene, as the console's Enter shows it."""
    events, _now = scene_events()
    return "\n".join(
        f"{e.host} | {line}"
        for e in events
        if e.type == "host_output" and e.step == step
        for line in str(e.data["text"]).splitlines()
    )


def scene_feed(at_s: float = 2 * 3600 + 50 * 60, *, ended: bool = False) -> Feed:
    """A Feed holding that moment, with the waiting manual step asked; `ended`: the run
    was interrupted there (Ctrl-C)."""
    events, now = scene_events(at_s)
    if ended:
        last = events[-1]
        events.append(
            Event(
                RUN_ID, last.seq + 1, iso(now), "run_interrupted", None, None, {"reason": "SIGINT"}
            )
        )
    feed = Feed(run_id=RUN_ID, refresh_s=0.0, decide=lambda decision: None)  # R/S/E shown
    state = fold([])
    for e in events:
        state.apply(e)
        feed.event(e, state)
    feed.tick(state, now)
    if ended:
        feed.end(state, now)
        return feed
    for s in state.with_status("waiting"):
        feed.ask(Question(s.id, "manual", s.title, s.instructions or ""))
    return feed

"""`runbook logs`: what steps printed, read back from the journal, one line per output line.

The lines look like the plain view's (`12:02:45 step@host | text`), so a log read later
and a piped run can be searched the same way: each command as it started (`$`), its
output (`|`) and how the host ended, in the order the journal has them.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from runbook.events import Event
from runbook.present._plain import describe
from runbook.visible import visible

SHOWN = frozenset({"host_started", "host_output", "host_succeeded", "host_failed"})


def log_lines(
    events: Iterable[Event], step: str | None = None, host: str | None = None
) -> Iterator[str]:
    """The output lines of `events`, for one step and one host if given."""
    for e in events:
        if e.type not in SHOWN or (step is not None and e.step != step):
            continue
        if host is not None and e.host != host:
            continue
        t = e.ts[11:19]
        where = f"{e.step}@{e.host}" if e.host else str(e.step)
        if e.type == "host_started":
            yield visible(f"{t} {where} $ {e.data.get('command')}  ({e.data.get('action')})")
        elif e.type == "host_output":
            for line in str(e.data.get("text") or "").splitlines():
                yield visible(f"{t} {where} | {line}")
            if e.data.get("truncated"):
                yield f"{t} {where} | [... output truncated ...]"
        else:
            yield visible(f"{t} {where} {describe(e)}")

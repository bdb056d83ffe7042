"""Events and the fold: what happened in a run, its hash, and the state it adds up to."""

from __future__ import annotations

from typing import TYPE_CHECKING

from runbook.exports import lazy_exports

if TYPE_CHECKING:
    from runbook.events._event import (
        EVENT_TYPES as EVENT_TYPES,
        GENESIS_HASH as GENESIS_HASH,
        Event as Event,
        canonical as canonical,
        canonical_from_json as canonical_from_json,
        chain_hash as chain_hash,
        data_json as data_json,
        event_hash as event_hash,
    )
    from runbook.events._fold import (
        STEP_STATUSES as STEP_STATUSES,
        TAIL_CHARS as TAIL_CHARS,
        TAIL_LINES as TAIL_LINES,
        Attempt as Attempt,
        EngineLife as EngineLife,
        HostState as HostState,
        RunState as RunState,
        StepState as StepState,
        fold as fold,
        keep_tail as keep_tail,
        manual_times as manual_times,
    )
    from runbook.events._step_state import HostResult as HostResult
else:  # at run time each name is imported on first use: see runbook/exports.py
    __getattr__, __all__ = lazy_exports(
        __name__,
        {
            "_event": (
                "EVENT_TYPES",
                "Event",
                "GENESIS_HASH",
                "canonical",
                "canonical_from_json",
                "chain_hash",
                "data_json",
                "event_hash",
            ),
            "_step_state": ("HostResult",),
            "_fold": (
                "Attempt",
                "EngineLife",
                "HostState",
                "RunState",
                "STEP_STATUSES",
                "StepState",
                "TAIL_CHARS",
                "TAIL_LINES",
                "fold",
                "keep_tail",
                "manual_times",
            ),
        },
    )

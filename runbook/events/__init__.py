"""Events and the fold: what happened in a run, its hash, and the state it adds up to."""

from __future__ import annotations

from typing import TYPE_CHECKING

from runbook.exports import lazy_exports

if TYPE_CHECKING:
    from runbook.events._event import (
        EVENT_TYPES as EVENT_TYPES,
    )
    from runbook.events._event import (
        GENESIS_HASH as GENESIS_HASH,
    )
    from runbook.events._event import (
        Event as Event,
    )
    from runbook.events._event import (
        canonical as canonical,
    )
    from runbook.events._event import (
        chain_hash as chain_hash,
    )
    from runbook.events._event import (
        event_hash as event_hash,
    )
    from runbook.events._fold import (
        STEP_STATUSES as STEP_STATUSES,
    )
    from runbook.events._fold import (
        RunState as RunState,
    )
    from runbook.events._fold import (
        StepState as StepState,
    )
    from runbook.events._fold import (
        fold as fold,
    )
    from runbook.events._fold import (
        manual_times as manual_times,
    )
else:  # at run time each name is imported on first use: see runbook/exports.py
    __getattr__, __all__ = lazy_exports(
        __name__,
        {
            "_event": (
                "EVENT_TYPES",
                "Event",
                "GENESIS_HASH",
                "canonical",
                "chain_hash",
                "event_hash",
            ),
            "_fold": ("RunState", "STEP_STATUSES", "StepState", "fold", "manual_times"),
        },
    )

"""The run: attempts per host, scheduling, operator reactions, resume; commit before act."""

from __future__ import annotations

from typing import TYPE_CHECKING

from runbook.exports import lazy_exports

if TYPE_CHECKING:
    from runbook.engine._claims import Team as Team
    from runbook.engine._decide import Decider as Decider
    from runbook.engine._dispatch import (
        Dispatcher as Dispatcher,
        TimerHeap as TimerHeap,
    )
    from runbook.engine._engine import Engine as Engine
    from runbook.engine._io import (
        Asker as Asker,
        EngineOptions as EngineOptions,
        Listener as Listener,
        Question as Question,
    )
    from runbook.engine._recovery import analyse as analyse
    from runbook.engine._work import RenderedWork as RenderedWork
else:  # at run time each name is imported on first use: see runbook/exports.py
    __getattr__, __all__ = lazy_exports(
        __name__,
        {
            "_claims": ("Team",),
            "_decide": ("Decider",),
            "_dispatch": ("Dispatcher", "TimerHeap"),
            "_engine": ("Engine",),
            "_io": ("Asker", "EngineOptions", "Listener", "Question"),
            "_recovery": ("analyse",),
            "_work": ("RenderedWork",),
        },
    )

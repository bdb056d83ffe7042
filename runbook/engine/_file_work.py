"""A step's `copy` and `fetch` rendered for one host: paths and content are plain-text
templates; `copy.src` is relative to the file that defines the step, `fetch.dest` to the
current folder, and a fetch lands in DEST/HOST/NAME."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from runbook.executors import Commands, CopySpec, FetchSpec
from runbook.model import Step
from runbook.templates import render_text


def with_files(found: Commands, step: Step, host: str | None, ctx: Mapping[str, Any]) -> Commands:
    """`found` with the step's copy and fetch for `host` (unchanged without them)."""
    if step.copy is None and step.fetch is None:
        return found
    where = step.field_locations
    files: dict[str, Any] = {}
    if step.copy is not None:
        c = step.copy
        loc = where.get("copy", step.location)
        src = None
        if c.src is not None:
            src = os.path.abspath(Path(c.base) / render_text(c.src, ctx, loc))
        content = render_text(c.content, ctx, loc) if c.content is not None else None
        files["copy"] = CopySpec(
            dest=render_text(c.dest, ctx, loc),
            src=src,
            content=content,
            mode=int(c.mode, 8) if c.mode is not None else None,
        )
    if step.fetch is not None:
        f = step.fetch
        loc = where.get("fetch", step.location)
        folder = Path(render_text(f.dest, ctx, loc)) / (host or "localhost")
        files["fetch"] = FetchSpec(src=render_text(f.src, ctx, loc), folder=str(folder))
    shown = {a: spec.describe() for a, spec in files.items()}
    dressed = replace(found, files=files, **shown)
    if found.shown is not None:
        dressed = replace(dressed, shown=replace(found.shown, **shown))
    return dressed

"""Commands: (filled in by the owning issue)."""

from __future__ import annotations

from runbook.cli.app import app  # noqa: F401

"""runbook: dependency-ordered, resumable, audited restore playbooks with an honest ETA."""

from __future__ import annotations

__version__ = "0.1.0"

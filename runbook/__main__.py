"""`python -m runbook`."""

from runbook.cli import entry

entry()

"""What a host's event carries for the steps that read it: rc, stdout, the parsed value.

Only steps with `output:` or read by another step pay for it; the captured stdout is the
`run` command's (docs/playbook.md "Steps that decide"). A parse failure fails the host,
for good: the same command would print the same text again.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from runbook.engine._attempt import Finished
from runbook.engine._decide import Decider
from runbook.engine._jobs import Job
from runbook.executors import OutputChunk
from runbook.model import Step
from runbook.secrets import MASK


def captured_result(
    decider: Decider, step: Step, job: Job, fin: Finished
) -> tuple[dict[str, Any], Finished]:
    """(data to add to host_succeeded/host_failed, the host's outcome after parsing)."""
    if not job.ran and not decider.simulated:
        return {}, fin  # `run` never ended (timeout before it, unreachable): nothing to read
    rc = job.rc if not decider.simulated else (0 if fin.ok else fin.exit_code)
    data, failure = decider.result(step, job.host, rc, "".join(job.stdout), job.stdout_cut)
    if failure is not None and fin.ok:
        fin = Finished(False, reason="output", message=failure)
    return data, fin


def keep_stdout(job: Job, chunks: list[OutputChunk], step: Step) -> list[OutputChunk]:
    """Keep what `run` printed on stdout; the chunks to journal (a secret output's stdout
    is never journaled: `***` stands for it)."""
    secret = step.output is not None and step.output.secret
    shown: list[OutputChunk] = []
    for chunk in chunks:
        if chunk.stream == "stdout":
            job.stdout.append(chunk.text)
            job.stdout_cut = job.stdout_cut or bool(chunk.truncated or chunk.omitted_bytes)
            if secret:
                chunk = replace(chunk, text=MASK + "\n")
        shown.append(chunk)
    return shown

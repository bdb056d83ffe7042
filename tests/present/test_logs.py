"""`runbook logs` lines from journal events: by step and host, escapes made visible."""

from __future__ import annotations

from audit_helpers import MemoryChain
from journal_helpers import T0

from runbook.present import log_lines


def _events() -> list:  # type: ignore[type-arg]
    chain = MemoryChain()
    add = chain.append
    add("RUN", "run_started", ts=T0, data={"mode": "live"})
    for i, host in enumerate(("mx-01", "mx-02")):
        add("RUN", "host_started", ts=T0 + i, step="mail", host=host,
            data={"action": "run", "command": "postfix start"})  # fmt: skip
        add("RUN", "host_output", ts=T0 + 2, step="mail", host=host,
            data={"stream": "stdout", "text": f"\x1b[31m{host} up\x1b[0m\nqueue ok\n"})  # fmt: skip
    add("RUN", "host_failed", ts=T0 + 3, step="mail", host="mx-02",
        data={"reason": "exit", "message": "run exited 1", "exit_code": 1})  # fmt: skip
    add("RUN", "host_succeeded", ts=T0 + 3, step="mail", host="mx-01", data={"duration_s": 3})
    add("RUN", "step_failed", ts=T0 + 4, step="mail", data={"reason": "1 of 2 host(s) failed"})
    return chain.events


def test_one_host_of_one_step() -> None:
    assert list(log_lines(_events(), "mail", "mx-02")) == [
        "11:06:41 mail@mx-02 $ postfix start  (run)",
        "11:06:42 mail@mx-02 | ^[[31mmx-02 up^[[0m",  # caret notation, as `cat -v`
        "11:06:42 mail@mx-02 | queue ok",
        "11:06:43 mail@mx-02 failed (exit): run exited 1",
    ]


def test_every_host_in_journal_order_and_nothing_else() -> None:
    lines = list(log_lines(_events()))
    assert len(lines) == 8 and lines[-1] == "11:06:43 mail@mx-01 succeeded in 3s"
    assert not any("step_failed" in line or "1 of 2" in line for line in lines)
    assert list(log_lines(_events(), "dns")) == []

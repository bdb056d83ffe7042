"""The engine end to end through the real CLI: local and manual steps, failures, operators."""

from __future__ import annotations

from pathlib import Path

from engine_helpers import cli, events, of_type, spawn, step_status, wait_for, write

PLAYBOOK = """
playbook: engine-e2e
title: Engine end to end
rto: 1h
vars: {out: OUT}
defaults: {timeout: 1m, retry_delay: 0s}
steps:
  - id: power
    title: Power is back
    phase: power
    manual: "Call the NOC about {{ vars.out }}"
    estimate: 5m
  - id: storage
    title: Storage answers
    phase: storage
    needs: [power]
    local: true
    run: "echo storage >> {{ vars.out }}"
  - id: network
    title: Network answers
    phase: network
    local: true
    run: "echo network >> {{ vars.out }}"
  - id: dns
    title: DNS checked by a person
    phase: directory
    needs: [storage, network]
    manual: Check that DNS answers.
  - id: apps
    title: Applications
    phase: apps
    needs: [dns]
    local: true
    run: "echo apps >> {{ vars.out }}"
"""


def _playbook(tmp_path: Path, text: str = PLAYBOOK) -> tuple[Path, Path, Path]:
    out = tmp_path / "out.txt"
    pb = write(tmp_path / "pb.yml", text.replace("OUT", str(out)))
    return pb, out, tmp_path / "state.db"


def test_local_and_manual_steps_finish_with_confirm_from_another_process(tmp_path: Path) -> None:
    pb, out, state = _playbook(tmp_path)
    proc = spawn(state, "run", str(pb))
    evs = wait_for(state, lambda e: bool(of_type(e, "manual_waiting", "power")))
    run_id = evs[0].run_id
    # Other steps keep running while a manual step waits.
    wait_for(state, lambda e: bool(of_type(e, "step_succeeded", "network")))
    assert cli(state, "confirm", run_id, "power", "--note", "NOC says yes").returncode == 0
    wait_for(state, lambda e: bool(of_type(e, "manual_waiting", "dns")))
    assert cli(state, "confirm", "latest", "dns").returncode == 0
    stdout, stderr = proc.communicate(timeout=30)
    assert proc.returncode == 0, stderr
    assert stdout.splitlines()[0] == f"run {run_id}"
    assert sorted(out.read_text().split()) == ["apps", "network", "storage"]
    evs = events(state)
    assert evs[-1].type == "run_finished" and evs[-1].data["result"] == "succeeded"
    assert set(step_status(evs).values()) == {"succeeded"}
    answered = of_type(evs, "manual_answered", "power")[0]
    assert answered.data["operator"] == "tester" and answered.data["note"] == "NOC says yes"
    # Commit before act: storage starts only after power's answer is in the journal.
    seq = {(e.type, e.step): e.seq for e in evs}
    assert seq[("manual_answered", "power")] < seq[("step_started", "storage")]
    assert of_type(evs, "eta")[0].seq < seq[("step_started", "network")]
    assert cli(state, "verify", run_id).returncode == 0


FAILING = """
playbook: failing
title: A failure blocks only its dependents
vars: {out: OUT}
defaults: {timeout: 1m, retry_delay: 0s}
steps:
  - id: base
    title: Base
    phase: one
    local: true
    run: "echo base >> {{ vars.out }}"
  - id: broken
    title: Broken until fixed
    phase: two
    needs: [base]
    local: true
    run: "test -e FIXED && echo broken >> {{ vars.out }}"
  - id: after-broken
    title: After the broken one
    phase: three
    needs: [broken]
    local: true
    run: "echo after >> {{ vars.out }}"
  - id: leaf
    title: Depends on after-broken
    phase: four
    needs: [after-broken]
    local: true
    run: "echo leaf >> {{ vars.out }}"
  - id: independent
    title: Independent branch
    phase: two
    needs: [base]
    local: true
    run: "sleep 0.3; echo independent >> {{ vars.out }}"
"""


def test_failure_blocks_only_dependents_then_retry_and_resume_finish(tmp_path: Path) -> None:
    fixed = tmp_path / "fixed"
    pb, out, state = _playbook(tmp_path, FAILING.replace("FIXED", str(fixed)))
    r = cli(state, "run", str(pb))
    assert r.returncode == 1, r.stderr
    evs = events(state)
    status = step_status(evs)
    assert status == {
        "base": "succeeded",
        "broken": "failed",
        "after-broken": "blocked",
        "leaf": "blocked",
        "independent": "succeeded",
    }
    assert of_type(evs, "step_blocked", "leaf")[0].data["by"] == ["broken"]
    failed = of_type(evs, "host_failed", "broken")[0]
    assert failed.data["reason"] == "exit" and failed.data["exit_code"] == 1
    assert evs[-1].data["result"] == "failed"

    fixed.touch()
    assert cli(state, "retry", "latest", "broken").returncode == 0
    r = cli(state, "resume", "latest")
    assert r.returncode == 0, r.stdout + r.stderr
    lines = out.read_text().split()
    assert sorted(lines) == ["after", "base", "broken", "independent", "leaf"]
    assert lines.count("base") == 1  # nothing that succeeded ran again
    assert cli(state, "verify", "latest").returncode == 0


def test_skip_by_operator_counts_as_done_for_dependents(tmp_path: Path) -> None:
    pb, out, state = _playbook(tmp_path, FAILING.replace("FIXED", str(tmp_path / "never")))
    assert cli(state, "run", str(pb)).returncode == 1
    assert cli(state, "skip", "latest", "broken", "--note", "done by hand").returncode == 0
    r = cli(state, "resume", "latest")
    assert r.returncode == 0, r.stdout + r.stderr
    evs = events(state)
    assert step_status(evs)["broken"] == "skipped"
    assert "leaf" in out.read_text().split()
    assert of_type(evs, "run_resumed")


ABORTING = """
playbook: aborting
title: Abort stops new steps
defaults: {timeout: 1m, retry_delay: 0s}
steps:
  - id: first
    title: Fails
    phase: one
    local: true
    on_failure: abort
    run: "exit 4"
  - id: slow
    title: Already running
    phase: one
    local: true
    run: "sleep 0.5"
  - id: later
    title: Would start after
    phase: two
    needs: [slow]
    local: true
    run: "true"
"""


def test_abort_starts_nothing_new_after_a_failure(tmp_path: Path) -> None:
    pb, _, state = _playbook(tmp_path, ABORTING)
    r = cli(state, "run", str(pb))
    assert r.returncode == 1
    evs = events(state)
    status = step_status(evs)
    assert status["first"] == "failed"
    assert status["slow"] == "succeeded"  # it was running: it finishes
    assert status["later"] == "pending"
    assert evs[-1].data["result"] == "aborted"


RETRIES = """
playbook: retries
title: Retries and until
defaults: {timeout: 20s, retry_delay: 0s}
steps:
  - id: flaky
    title: Works on the third attempt
    phase: one
    local: true
    retries: 2
    run: "n=$(cat COUNT 2>/dev/null || echo 0); n=$((n+1)); echo $n > COUNT; test $n -ge 3"
  - id: poll
    title: Until polls
    phase: one
    local: true
    run: "true"
    until: "test -e FLAG || { touch FLAG; false; }"
    every: 0.1s
    verify: "test -e FLAG"
  - id: done-already
    title: skip_if says done
    phase: one
    local: true
    skip_if: "true"
    run: "touch SHOULD_NOT_EXIST"
"""


def test_retries_until_polling_and_skip_if(tmp_path: Path) -> None:
    text = (
        RETRIES.replace("COUNT", str(tmp_path / "count"))
        .replace("FLAG", str(tmp_path / "flag"))
        .replace("SHOULD_NOT_EXIST", str(tmp_path / "nope"))
    )
    pb, _, state = _playbook(tmp_path, text)
    r = cli(state, "run", str(pb))
    assert r.returncode == 0, r.stdout + r.stderr
    evs = events(state)
    assert len(of_type(evs, "step_retrying", "flaky")) == 2
    assert of_type(evs, "step_succeeded", "flaky")[0].data["attempts"] == 3
    assert not (tmp_path / "nope").exists()
    skipped = of_type(evs, "host_succeeded", "done-already")[0]
    assert skipped.data["skipped"] is True
    actions = [e.data["action"] for e in of_type(evs, "host_started", "poll")]
    assert actions == ["run", "until", "verify"]


TIMEOUT = """
playbook: timeouts
title: A timeout kills the whole process group
defaults: {timeout: 1s}
steps:
  - id: hang
    title: Hangs with a child
    phase: one
    local: true
    run: "sleep 30 & echo $! > PIDFILE; wait"
"""


def test_timeout_kills_the_process_group(tmp_path: Path) -> None:
    pidfile = tmp_path / "pid"
    pb, _, state = _playbook(tmp_path, TIMEOUT.replace("PIDFILE", str(pidfile)))
    r = cli(state, "run", str(pb))
    assert r.returncode == 1
    failed = of_type(events(state), "host_failed", "hang")[0]
    assert failed.data["reason"] == "timeout"
    pid = int(pidfile.read_text())
    assert (
        not Path(f"/proc/{pid}").exists() or "Z" in Path(f"/proc/{pid}/stat").read_text().split()[2]
    )


SECRETS = """
playbook: secrets
title: Secrets never reach the journal
vars:
  db_password: {env: TEST_DB_PASSWORD}
steps:
  - id: uses-secret
    title: Uses the password
    phase: one
    local: true
    run: "echo connecting with {{ vars.db_password }}; echo {{ vars.db_password }} >&2"
"""


def test_secrets_are_redacted_from_commands_and_output(tmp_path: Path) -> None:
    pb, _, state = _playbook(tmp_path, SECRETS)
    r = cli(state, "run", str(pb), extra_env={"TEST_DB_PASSWORD": "hunter2-very-secret"})
    assert r.returncode == 0, r.stderr
    raw = (
        state.read_bytes() + Path(str(state) + "-wal").read_bytes()
        if Path(str(state) + "-wal").exists()
        else state.read_bytes()
    )
    assert b"hunter2-very-secret" not in raw
    assert "hunter2-very-secret" not in r.stdout
    outputs = [e.data["text"] for e in of_type(events(state), "host_output")]
    assert any("***" in t for t in outputs)


BIG_OUTPUT = """
playbook: big-output
title: Huge output stays bounded
steps:
  - id: flood
    title: Prints 20 MB
    phase: one
    local: true
    run: "head -c 20000000 /dev/zero | tr '\\\\0' 'x' | fold -w 100; echo THE-END"
"""


def test_huge_output_is_bounded_and_keeps_the_tail(tmp_path: Path) -> None:
    pb, _, state = _playbook(tmp_path, BIG_OUTPUT)
    r = cli(state, "run", str(pb))
    assert r.returncode == 0, r.stderr
    outs = of_type(events(state), "host_output", "flood")
    total = sum(len(e.data["text"]) for e in outs)
    assert total < 200_000
    assert outs[-1].data["truncated"] is True
    assert "THE-END" in outs[-1].data["text"]


def test_only_and_from_skip_the_rest(tmp_path: Path) -> None:
    pb, out, state = _playbook(tmp_path, FAILING.replace("FIXED", str(tmp_path / "f")))
    r = cli(state, "run", str(pb), "--only", "independent", "--only", "leaf")
    assert r.returncode == 0, r.stderr
    evs = events(state)
    reasons = {e.step: e.data["reason"] for e in of_type(evs, "step_skipped")}
    assert reasons == {"base": "only", "broken": "only", "after-broken": "only"}
    assert sorted(out.read_text().split()) == ["independent", "leaf"]

    out.unlink()
    r = cli(state, "run", str(pb), "--from", "after-broken")
    assert r.returncode == 0, r.stderr
    reasons = {e.step: e.data["reason"] for e in of_type(events(state), "step_skipped")}
    assert reasons == {"base": "from", "broken": "from"}
    assert sorted(out.read_text().split()) == ["after", "independent", "leaf"]


def test_unknown_only_step_is_an_input_error(tmp_path: Path) -> None:
    pb, _, state = _playbook(tmp_path, FAILING.replace("FIXED", "x"))
    r = cli(state, "run", str(pb), "--only", "brokn")
    assert r.returncode == 2
    assert "did you mean 'broken'" in r.stderr
    assert "Traceback" not in r.stderr


def test_dry_run_prints_commands_and_runs_nothing(tmp_path: Path) -> None:
    pb, out, state = _playbook(tmp_path)
    r = cli(state, "run", str(pb), "--dry-run")
    assert r.returncode == 0, r.stderr
    assert f"run: echo storage >> {out}" in r.stdout
    assert "Call the NOC" in r.stdout
    assert not out.exists()
    assert not state.exists()


def test_second_engine_on_the_same_run_is_refused(tmp_path: Path) -> None:
    pb, _, state = _playbook(tmp_path)
    proc = spawn(state, "run", str(pb))
    try:
        wait_for(state, lambda e: bool(of_type(e, "manual_waiting")))
        r = cli(state, "resume", "latest")
        assert r.returncode == 2
        assert "already being run" in r.stderr
    finally:
        proc.terminate()
        proc.communicate(timeout=30)
    assert proc.returncode == 130
    evs = events(state)
    assert evs[-1].type == "run_interrupted" and evs[-1].data["reason"] == "SIGTERM"

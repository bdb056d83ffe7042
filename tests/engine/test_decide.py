"""Steps that decide, through the real CLI on local steps and real SQLite journals.

Values captured from one step and read by another, conditions, tolerated failures, a
crash between a capture and its reader, and what a template may not read.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from engine_helpers import cli, events, write

from runbook.engine._decide import Decider, NoHosts
from runbook.events._fold import fold
from runbook.load._playbook import load_playbook
from runbook.load.inventory._load import load_inventory

CAPTURE = """
playbook: values
title: Values between steps
steps:
  - id: capture
    local: true
    run: "echo 41"
    output: int
  - id: reader
    needs: [capture]
    local: true
    run: echo {{ steps['capture'].value + 1 }} >> OUT
"""


def _run(folder: Path, text: str, *args: str, **kw: object) -> tuple[Path, object]:
    pb = write(folder / "pb.yml", text.replace("OUT", str(folder / "out")))
    state = folder / "state.db"
    return state, cli(state, "run", str(pb), *args, **kw)  # type: ignore[arg-type]


def test_a_value_captured_by_one_step_is_read_by_the_next(tmp_path: Path) -> None:
    state, r = _run(tmp_path, CAPTURE)
    assert r.returncode == 0, r.stdout + r.stderr  # type: ignore[attr-defined]
    assert (tmp_path / "out").read_text() == "42\n"
    evs = events(state)
    done = next(e for e in evs if e.type == "host_succeeded" and e.step == "capture")
    assert done.data["rc"] == 0 and done.data["stdout"] == "41\n" and done.data["value"] == 41
    st = fold(evs)
    assert st.steps["capture"].results[""].value == 41


def test_a_crash_between_the_capture_and_its_reader_resumes_with_the_same_value(
    tmp_path: Path,
) -> None:
    text = CAPTURE.replace("    run: echo {{", "    idempotent: true\n    run: echo {{")
    clean = tmp_path / "clean"
    clean.mkdir()
    state, r = _run(clean, text)
    assert r.returncode == 0  # type: ignore[attr-defined]
    evs = events(state)
    captured = next(
        i for i, e in enumerate(evs, 1) if e.type == "host_succeeded" and e.step == "capture"
    )
    # The engine dies right after committing the capture (and at the next few events):
    # the reader has not started, or has and was cut short. Its value must come back
    # from the journal alone.
    for n in range(captured, captured + 4):
        folder = tmp_path / f"kill-{n}"
        folder.mkdir()
        state, r = _run(folder, text, extra_env={"RUNBOOK_TEST_KILL_AFTER_EVENT": str(n)})
        assert r.returncode == -9  # type: ignore[attr-defined]
        before = fold(events(state))
        assert before.steps["capture"].results[""].value == 41
        again = cli(state, "resume", "latest")
        assert again.returncode == 0, again.stdout + again.stderr
        assert set((folder / "out").read_text().split()) == {"42"}
        reader = [e for e in events(state) if e.type == "host_started" and e.step == "reader"]
        assert reader and {e.data["command"] for e in reader} == {f"echo 42 >> {folder / 'out'}"}
        assert cli(state, "verify", "latest").returncode == 0


def test_a_tolerated_failure_lets_its_dependents_go_on_and_the_run_succeed(
    tmp_path: Path,
) -> None:
    text = """
playbook: tolerate
title: Tolerated failure
steps:
  - id: check
    local: true
    run: "exit 3"
    on_failure: continue
  - id: repair
    needs: [check]
    when: "steps['check'].failed"
    local: true
    run: echo repaired >> OUT
  - id: skipped-if-ok
    needs: [check]
    when: "steps['check'].ok"
    local: true
    run: echo never >> OUT
"""
    state, r = _run(tmp_path, text)
    assert r.returncode == 0, r.stdout + r.stderr  # type: ignore[attr-defined]
    assert "succeeded with 1 tolerated failure" in r.stdout  # type: ignore[attr-defined]
    assert (tmp_path / "out").read_text() == "repaired\n"
    evs = events(state)
    failed = next(e for e in evs if e.type == "step_failed")
    assert failed.data["tolerated"] is True
    skipped = next(e for e in evs if e.type == "step_skipped")
    assert skipped.step == "skipped-if-ok"
    assert skipped.data["reason"] == "when" and skipped.data["when"] == "steps['check'].ok"
    finished = evs[-1]
    assert finished.type == "run_finished"
    assert finished.data["result"] == "succeeded" and finished.data["tolerated"] == 1
    # Every view says the run succeeded with the failure tolerated; none asks for a decision.
    out = r.stdout  # type: ignore[attr-defined]
    assert "succeeded with 1 tolerated failure in" in out.split("== ", 1)[1].splitlines()[0]
    assert "   failed (tolerated): check: run exited 3" in out
    text = cli(state, "status", "latest").stdout
    assert "status: succeeded with 1 tolerated failure" in text
    assert "check" in text and "(tolerated: on_failure continue)" in text
    md = cli(state, "status", "latest", "--format", "md").stdout
    assert "**succeeded with 1 tolerated failure**" in md and "**Failed, tolerated:**" in md
    assert "needs a decision" not in md
    doc = json.loads(cli(state, "status", "latest", "--format", "json").stdout)
    assert doc["status"] == "succeeded" and doc["tolerated"] == 1
    assert [s["id"] for s in doc["steps"] if s.get("tolerated")] == ["check"]


def test_output_that_does_not_parse_fails_the_host_for_good(tmp_path: Path) -> None:
    text = """
playbook: parse
title: Parse failure
steps:
  - id: size
    local: true
    run: "echo three"
    output: int
    retries: 2
    retry_delay: 0s
"""
    state, r = _run(tmp_path, text)
    assert r.returncode == 1  # type: ignore[attr-defined]
    evs = events(state)
    failed = [e for e in evs if e.type == "host_failed"]
    assert len(failed) == 1  # never retried: the same command prints the same text
    assert failed[0].data["reason"] == "output"
    assert failed[0].data["message"] == "output: expected an integer, got 'three'"


def test_output_past_the_kept_64_kib_cannot_be_read(tmp_path: Path) -> None:
    text = """
playbook: big
title: Big output
steps:
  - id: dump
    local: true
    run: "head -c 70000 /dev/zero | tr '\\\\0' x"
    output: text
  - id: reader
    needs: [dump]
    local: true
    run: echo {{ steps['dump'].stdout | length }}
"""
    state, r = _run(tmp_path, text)
    assert r.returncode == 1, r.stderr  # type: ignore[attr-defined]
    st = fold(events(state))
    assert st.steps["dump"].status == "succeeded"
    assert st.steps["dump"].results[""].stdout_cut
    reason = str(st.steps["reader"].reason)
    assert "printed more than the 64 KiB kept" in reason, reason


def test_a_when_that_cannot_be_evaluated_needs_an_operator(tmp_path: Path) -> None:
    text = """
playbook: when-error
title: when error
steps:
  - id: count
    local: true
    run: "echo 3"
    output: text
  - id: compare
    needs: [count]
    when: "steps['count'].value > 2"
    local: true
    run: "true"
"""
    state, r = _run(tmp_path, text)
    assert r.returncode == 1  # type: ignore[attr-defined]
    st = fold(events(state))
    reason = str(st.steps["compare"].reason)
    # text compared with a number: no terminal to ask here, so the step fails, saying why
    assert "`when` could not be evaluated" in reason and "needs an operator decision" in reason


def test_read_by_a_step_that_did_not_need_it_is_refused_before_anything_runs(
    tmp_path: Path,
) -> None:
    text = CAPTURE.replace("    needs: [capture]\n", "")
    _state, r = _run(tmp_path, text)
    assert r.returncode == 2  # type: ignore[attr-defined]
    assert "step 'reader' reads steps['capture'] but does not need it" in r.stderr  # type: ignore[attr-defined]
    assert "add needs: [capture]" in r.stderr  # type: ignore[attr-defined]


def test_only_refuses_a_step_that_reads_one_it_leaves_out(tmp_path: Path) -> None:
    _state, r = _run(tmp_path, CAPTURE, "--only", "reader")
    assert r.returncode == 2  # type: ignore[attr-defined]
    assert "step 'reader' reads steps['capture'], which this run skips" in r.stderr  # type: ignore[attr-defined]


def test_a_secret_output_is_read_by_the_next_step_and_never_journaled(tmp_path: Path) -> None:
    text = """
playbook: secret-output
title: Secret output
steps:
  - id: token
    local: true
    run: "printf '%s-%s\\n' s3cr3t t0ken-value"
    output: {type: text, secret: true}
  - id: use
    needs: [token]
    local: true
    run: echo {{ steps['token'].value }} >> OUT
"""
    state, r = _run(tmp_path, text)
    assert r.returncode == 0, r.stdout + r.stderr  # type: ignore[attr-defined]
    assert (tmp_path / "out").read_text() == "s3cr3t-t0ken-value\n"
    assert "s3cr3t-t0ken-value" not in r.stdout + r.stderr  # type: ignore[attr-defined]
    exported = cli(state, "export", "latest", "--format", "jsonl")
    assert exported.returncode == 0
    for blob in (exported.stdout, state.read_bytes().decode("latin-1")):
        assert "s3cr3t-t0ken-value" not in blob


def test_a_secret_answer_is_asked_again_after_a_resume(tmp_path: Path) -> None:
    text = """
playbook: secret-input
title: Secret input
steps:
  - id: password
    manual: Read the vault's unseal key from the safe.
    input: {secret: true}
    example: unseal-k3y-from-safe
  - id: unseal
    needs: [password]
    local: true
    run: echo {{ steps['password'].value }} > /dev/null
"""
    pb = write(tmp_path / "pb.yml", text)
    state = tmp_path / "state.db"
    clean = cli(tmp_path / "clean.db", "rehearse", str(pb), "--speed", "max")
    assert clean.returncode == 0, clean.stdout + clean.stderr
    evs = events(tmp_path / "clean.db")
    answered = next(i for i, e in enumerate(evs, 1) if e.type == "manual_answered")
    assert evs[answered - 1].data["value"] == "***"
    # The engine dies once the answer is journaled: the secret was only in its memory.
    r = cli(
        state,
        "rehearse",
        str(pb),
        "--speed",
        "max",
        extra_env={"RUNBOOK_TEST_KILL_AFTER_EVENT": str(answered)},
    )
    assert r.returncode == -9
    again = cli(state, "resume", "latest")
    assert again.returncode == 0, again.stdout + again.stderr
    evs = events(state)
    asked = [e for e in evs if e.type == "manual_waiting" and e.step == "password"]
    assert len(asked) == 2  # asked again after the resume
    started = [e for e in evs if e.type == "host_started" and e.step == "unseal"]
    assert [e.data["command"] for e in started] == ["echo *** > /dev/null"]
    assert "unseal-k3y-from-safe" not in state.read_bytes().decode("latin-1")


def test_a_decision_must_test_skipped_before_reading_a_skipped_steps_outcome(
    tmp_path: Path,
) -> None:
    text = """
playbook: skipped-read
title: Reading a skipped step
steps:
  - id: optional
    when: "false"
    local: true
    run: "true"
  - id: careless
    needs: [optional]
    when: "not steps['optional'].ok"
    local: true
    run: echo careless >> OUT
  - id: careful
    needs: [optional]
    when: "steps['optional'].skipped or not steps['optional'].ok"
    local: true
    run: echo careful >> OUT
"""
    state, r = _run(tmp_path, text)
    assert r.returncode == 1  # type: ignore[attr-defined]
    assert (tmp_path / "out").read_text() == "careful\n"
    st = fold(events(state))
    reason = str(st.steps["careless"].reason)
    assert "steps['optional'] was skipped: its `ok` means nothing" in reason, reason


HOSTS_PLAYBOOK = """
playbook: hosts-at-run-time
title: Hosts decided at run time
steps:
  - id: find
    hosts: galera
    run: "echo seqno"
    output: int
    example: {db-a: 5, db-b: 9, db-c: 7}
  - id: tell
    needs: [find]
    hosts: galera
    manual: |
      {% for h in hosts %}{{ h.name }} at {{ h.address }} ({{ h.vars.datadir }})
      {% endfor %}
  - id: highest
    needs: [tell]
    hosts: "{{ (steps['find'].results | max(attribute='value')).host }}"
    run: "echo bootstrap"
  - id: others
    needs: [highest]
    hosts: "galera:!{{ (steps['find'].results | max(attribute='value')).host }}"
    run: "echo join"
  - id: once
    needs: [others]
    hosts: galera
    run_once: true
    run: "echo once"
"""


def _started(evs: list, step: str) -> list[str]:  # type: ignore[type-arg]
    return next(e for e in evs if e.type == "step_started" and e.step == step).data["hosts"]


def test_hosts_decided_at_run_time_in_a_rehearsal_with_and_without_limit(
    tmp_path: Path,
) -> None:
    root = Path(__file__).resolve().parents[2]
    inventory = str(root / "inventory" / "databases.yml")
    pb = write(tmp_path / "pb.yml", HOSTS_PLAYBOOK)
    state = tmp_path / "state.db"
    r = cli(state, "rehearse", str(pb), "-i", inventory, "--speed", "max")
    assert r.returncode == 0, r.stdout + r.stderr
    evs = events(state)
    assert _started(evs, "highest") == ["db-b"]
    assert _started(evs, "others") == ["db-a", "db-c"]
    assert _started(evs, "once") == ["db-a"]  # run_once: the first in inventory order
    others = next(e for e in evs if e.type == "step_started" and e.step == "others")
    assert others.data["pattern"] == "galera:!db-b"
    told = next(e for e in evs if e.type == "manual_waiting" and e.step == "tell")
    assert "db-a at 127.0.0.21 (/var/lib/mysql)" in told.data["instructions"]
    # --limit narrows hosts decided at run time too (rehearse has no --limit: the
    # decision itself, over this rehearsal's journal, with run's --limit db-a)
    playbook = load_playbook(pb)
    steps = {step.id: step for step in playbook.steps}
    decider = Decider(
        steps, fold(evs), load_inventory([Path(inventory)]), frozenset({"db-a"}), {}, "r", "live"
    )
    assert decider.hosts(steps["others"], ()) == ("galera:!db-b", ("db-a",))
    with pytest.raises(NoHosts, match="hosts 'db-b' matched no host"):
        decider.hosts(steps["highest"], ())
    # plan and dry-run show what is decided at run time for what it is
    plan = cli(tmp_path / "p.db", "plan", str(pb), "-i", inventory)
    assert "run time" in plan.stdout
    assert "Hosts decided at run time: highest" in " ".join(plan.stdout.split())
    dry = cli(tmp_path / "d.db", "run", str(pb), "-i", inventory, "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert "hosts decided at run time: galera:!{{" in dry.stdout
    assert "run_once: the first selected host only" in dry.stdout

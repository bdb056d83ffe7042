"""The plan on hand-built graphs with known answers: waves, critical path, P50/P90, output."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pytest

from runbook.errors import InputError
from runbook.forecast import History, ReferenceRun
from runbook.model import Estimate, Location, Playbook, Step
from runbook.plan._build import Plan, build_plan
from runbook.plan._render import estimate_text, to_dot, to_json_text, to_mermaid

# A team whose other playbooks ran on plan: the prior slowdown sits on the estimates, so
# the tests below see the estimates' own shape. With nothing run at all, a plan is
# expected to run about 1.5× late (docs/playbook.md, "How slow tonight will be").
ON_PLAN_TEAM = History(reference=tuple(ReferenceRun(f"r{i}", "live", 0.0, 50) for i in range(30)))


def step(
    sid: str,
    needs: Sequence[str] = (),
    likely: float | None = 600.0,
    *,
    low: float | None = None,
    high: float | None = None,
    kind: str = "local",
    phase: str = "main",
    title: str | None = None,
    line: int = 1,
) -> Step:
    """A step as the loader would build it; `likely=None` means no `estimate` given."""
    if likely is None:
        estimate = Estimate.single(300.0, given=False)
    elif low is not None and high is not None:
        estimate = Estimate(low, likely, high)
    else:
        estimate = Estimate.single(likely)
    return Step(
        id=sid,
        title=title or sid.replace("-", " "),
        phase=phase,
        kind=kind,  # type: ignore[arg-type]
        location=Location("restore.yml", line, 5),
        needs=tuple(sorted(needs)),
        manual="do it" if kind == "manual" else None,
        run=None if kind == "manual" else "true",
        estimate=estimate,
    )


def playbook(*steps: Step, rto_s: float | None = 3600.0) -> Playbook:
    return Playbook(
        id="restore",
        title="Restore",
        path="restore.yml",
        location=Location("restore.yml", 1, 1),
        steps=steps,
        rto_s=rto_s,
    )


def diamond() -> Playbook:
    """power → (storage, network) → apps; network is the long branch."""
    return playbook(
        step("power", phase="power", kind="manual"),
        step("storage", ["power"], 300, phase="storage"),
        step("network", ["power"], 900, phase="network"),
        step("apps", ["storage", "network"], 600, phase="apps"),
    )


# ── waves and order ─────────────────────────────────────────────────────────────────


def test_waves_are_longest_path_layers_sorted_within_a_wave() -> None:
    pb = playbook(
        step("z-first"),
        step("a-first"),
        step("m-second", ["a-first"]),
        step("b-third", ["m-second", "z-first"]),
        step("c-late-but-shallow", ["a-first"]),
    )
    plan = build_plan(pb, {})
    assert plan.waves == (
        ("a-first", "z-first"),
        ("c-late-but-shallow", "m-second"),
        ("b-third",),
    )
    assert {s.id: s.wave for s in plan.steps} == {
        "z-first": 0,
        "a-first": 0,
        "m-second": 1,
        "b-third": 2,
        "c-late-but-shallow": 1,
    }


def test_steps_keep_the_playbook_order_and_phases_their_first_appearance() -> None:
    plan = build_plan(diamond(), {})
    assert [s.id for s in plan.steps] == ["power", "storage", "network", "apps"]
    assert plan.phases == ("power", "storage", "network", "apps")


def test_hosts_per_step_come_from_step_hosts() -> None:
    hosts = {"storage": ("san-a", "san-b"), "network": ("core-sw-a",)}
    plan = build_plan(diamond(), hosts)
    assert plan.step("storage").hosts == ("san-a", "san-b")
    assert plan.step("power").hosts == ()
    assert plan.host_count == 3


def test_a_resolved_object_is_accepted_as_is() -> None:
    @dataclass(frozen=True)
    class Resolved:
        playbook: Playbook
        step_hosts: Mapping[str, Sequence[str]] = field(default_factory=dict)

    plan = build_plan(Resolved(diamond(), {"apps": ("app-01",)}))
    assert plan.step("apps").hosts == ("app-01",)


def test_dependents_and_graph_agree_with_needs() -> None:
    plan = build_plan(diamond(), {})
    assert plan.dependents()["power"] == ("network", "storage")
    g = plan.graph()
    assert sorted(g.edges) == [
        ("network", "apps"),
        ("power", "network"),
        ("power", "storage"),
        ("storage", "apps"),
    ]


# ── critical path ───────────────────────────────────────────────────────────────────


def test_critical_path_follows_the_longest_likely_chain() -> None:
    plan = build_plan(diamond(), {})
    assert plan.critical_path == ("power", "network", "apps")
    assert plan.critical_path_s == 600 + 900 + 600


def test_critical_path_uses_likely_not_max() -> None:
    pb = playbook(
        step("start", likely=60),
        step("wide", ["start"], 300, low=60, high=7200),
        step("steady", ["start"], 400, low=390, high=410),
        step("end", ["wide", "steady"], 60),
    )
    assert build_plan(pb, {}).critical_path == ("start", "steady", "end")


def test_critical_path_ties_go_to_the_smaller_id() -> None:
    pb = playbook(
        step("root"),
        step("b-branch", ["root"]),
        step("a-branch", ["root"]),
        step("y-end", ["a-branch", "b-branch"]),
        step("x-end", ["root"], 1200),
    )
    plan = build_plan(pb, {})
    # y-end and x-end both finish at 1800 s: x-end wins; the path goes root → x-end.
    assert plan.critical_path == ("root", "x-end")
    pb2 = playbook(step("root"), step("b"), step("a"), step("end", ["a", "b", "root"]))
    assert build_plan(pb2, {}).critical_path == ("a", "end")


def test_empty_playbook_gives_an_empty_plan() -> None:
    plan = build_plan(playbook(), {})
    assert plan.waves == ()
    assert plan.critical_path == ()
    assert (plan.p50_s, plan.p90_s) == (0.0, 0.0)


# ── P50 / P90 ───────────────────────────────────────────────────────────────────────


def test_p50_is_at_most_p90_and_both_near_the_critical_path() -> None:
    plan = build_plan(diamond(), {}, history=ON_PLAN_TEAM)
    # Durations overrun more often than they finish early: P50 at or a little past the
    # critical path of likely estimates, P90 well past it but not absurdly.
    assert plan.critical_path_s <= plan.p50_s <= 1.3 * plan.critical_path_s
    assert 1.1 * plan.p50_s <= plan.p90_s <= 2.5 * plan.critical_path_s
    # Nothing has run anywhere: plans run late far more often than not.
    cold = build_plan(diamond(), {})
    assert 1.3 * plan.p50_s <= cold.p50_s <= 2.0 * plan.critical_path_s
    assert 1.1 * cold.p50_s <= cold.p90_s <= 4.0 * plan.critical_path_s


def test_a_chain_does_not_care_about_concurrency() -> None:
    pb = playbook(step("a"), step("b", ["a"]), step("c", ["b"], 60, low=30, high=600))
    assert build_plan(pb, {}, concurrency=1).to_json() == build_plan(pb, {}).to_json()


def test_one_runner_serialises_independent_steps() -> None:
    steps = [step(f"s{i}", likely=600, low=500, high=700) for i in range(6)]
    unlimited = build_plan(playbook(*steps), {}, history=ON_PLAN_TEAM)
    serial = build_plan(playbook(*steps), {}, concurrency=1, history=ON_PLAN_TEAM)
    two = build_plan(playbook(*steps), {}, concurrency=2, history=ON_PLAN_TEAM)
    # The longest of six: a little past likely (the model's tails are not cut at max).
    assert 600 <= unlimited.p50_s <= 800
    # Six steps one after the other: between 6 × min and 6 × max, close to 6 × likely
    # (a little above: before any step has run, the night may be a troubled one).
    assert 3000 <= serial.p50_s <= 4200
    assert 6 * 600 <= serial.p50_s < 1.1 * 3600
    assert unlimited.p50_s < two.p50_s < serial.p50_s
    assert abs(two.p50_s - serial.p50_s / 2) < 0.1 * serial.p50_s / 2


def test_zero_duration_steps_plan_zero() -> None:
    pb = playbook(step("a", likely=0), step("b", ["a"], 0))
    plan = build_plan(pb, {})
    assert (plan.p50_s, plan.p90_s) == (0.0, 0.0)


def _spread(s: Step) -> tuple[float, float]:
    plan = build_plan(playbook(s), {}, history=ON_PLAN_TEAM)
    return plan.p50_s, plan.p90_s / plan.p50_s


def test_single_value_estimates_get_a_wider_spread_for_manual_and_default_steps() -> None:
    remote = _spread(step("r", likely=600, kind="remote"))
    manual = _spread(step("m", likely=600, kind="manual"))
    default = _spread(step("d", likely=None))
    # Medians at the likely value, within the sampling error of 1,000 draws (σ 0.8: ±5%).
    assert 570 <= remote[0] < 700 and 570 <= manual[0] < 700
    assert 270 <= default[0] < 400
    assert 1.0 < remote[1] < manual[1] < default[1]


def test_three_point_estimates_shape_the_spread() -> None:
    narrow = _spread(step("n", likely=600, low=590, high=610))
    wide = _spread(step("w", likely=600, low=60, high=3600))
    assert wide[1] > 1.5 * narrow[1]


def test_quantiles_honour_the_estimate_shape() -> None:
    # A right-skewed estimate: the median sits between likely and the PERT mean.
    plan = build_plan(playbook(step("x", likely=600, low=300, high=3600)), {}, history=ON_PLAN_TEAM)
    mean = (300 + 4 * 600 + 3600) / 6
    assert 600 < plan.p50_s < mean
    assert mean < plan.p90_s < 2 * 3600


def test_history_moves_the_plan_as_it_moves_the_live_eta() -> None:
    from runbook.forecast._model import History, PastRun

    pb = playbook(step("a"), step("b", ["a"]))
    fresh = build_plan(pb, {})
    slow = History(tuple(PastRun(f"r{i}", "live", {"a": 600.0, "b": 2400.0}) for i in range(4)))
    learned = build_plan(pb, {}, history=slow)
    assert learned.p50_s > fresh.p50_s + 600
    assert build_plan(pb, {}, history=slow) == learned  # same input, same bytes


def test_concurrency_below_one_is_an_input_error() -> None:
    with pytest.raises(InputError, match="at least 1"):
        build_plan(diamond(), {}, concurrency=0)


# ── defaults ────────────────────────────────────────────────────────────────────────


def test_steps_without_an_estimate_are_listed_and_count_as_5m() -> None:
    pb = playbook(step("b-guess", likely=None), step("a-known"), step("c-guess", likely=None))
    plan = build_plan(pb, {})
    assert plan.default_estimates == ("b-guess", "c-guess")
    data = plan.to_json()
    guess = next(s for s in data["steps"] if s["id"] == "b-guess")
    assert guess["estimate"] == {"min_s": 300.0, "likely_s": 300.0, "max_s": 300.0, "given": False}
    assert estimate_text(plan.step("b-guess")) == "5m (default)"
    assert estimate_text(plan.step("a-known")) == "10m"


# ── errors ──────────────────────────────────────────────────────────────────────────


def test_a_cycle_is_reported_as_its_path_with_a_location() -> None:
    pb = playbook(
        step("a", ["c"], line=3),
        step("b", ["a"], line=7),
        step("c", ["b"], line=11),
        step("ok"),
        step("after", ["a"]),
    )
    with pytest.raises(InputError) as err:
        build_plan(pb, {})
    (issue,) = err.value.issues
    assert "a → c → b → a" in issue.message
    assert str(issue.location) == "restore.yml:3:5"


def test_every_cycle_and_a_self_need_are_reported() -> None:
    pb = playbook(step("a", ["b"]), step("b", ["a"]), step("x", ["x"]), step("y"))
    with pytest.raises(InputError) as err:
        build_plan(pb, {})
    messages = [i.message for i in err.value.issues]
    assert len(messages) == 2
    assert "a → b → a" in messages[0]
    assert "x → x" in messages[1]


def test_an_unknown_need_suggests_the_close_id() -> None:
    pb = playbook(step("mount-volume"), step("start-db", ["mount-volumes"]))
    with pytest.raises(InputError) as err:
        build_plan(pb, {})
    (issue,) = err.value.issues
    assert "mount-volumes" in issue.message
    assert "did you mean 'mount-volume'?" in issue.hint


# ── JSON, determinism ───────────────────────────────────────────────────────────────


def test_json_has_the_documented_keys_and_round_trips() -> None:
    plan = build_plan(diamond(), {"storage": ("san-a",)})
    data = json.loads(to_json_text(plan))
    assert set(data) == {
        "playbook",
        "title",
        "rto_s",
        "steps",
        "waves",
        "phases",
        "critical_path",
        "critical_path_s",
        "p50_s",
        "p90_s",
        "default_estimates",
    }
    assert set(data["steps"][0]) == {
        "id",
        "title",
        "phase",
        "kind",
        "needs",
        "hosts",
        "parallel",
        "timeout_s",
        "retries",
        "idempotent",
        "on_failure",
        "owner",
        "estimate",
        "wave",
    }
    assert data["waves"] == [["power"], ["network", "storage"], ["apps"]]
    again = Plan.from_json(data)
    assert again == plan
    assert to_json_text(again) == to_json_text(plan)


def test_same_input_same_bytes() -> None:
    def big() -> Playbook:
        steps = [step("root", kind="manual")]
        for i in range(40):
            needs = ["root"] if i < 5 else [f"s{i - 5}", f"s{(i * 7) % i}"]
            steps.append(step(f"s{i}", needs, 60.0 * (1 + i % 7), low=30, high=3600))
        return playbook(*steps)

    first = build_plan(big(), {}, concurrency=3)
    second = build_plan(big(), {}, concurrency=3)
    for render in (to_json_text, to_dot, to_mermaid):
        assert render(first) == render(second)


# ── dot and mermaid ─────────────────────────────────────────────────────────────────


def _balanced(text: str) -> bool:
    depth = 0
    in_string = False
    escaped = False
    for ch in text:
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
            if depth < 0:
                return False
    return depth == 0 and not in_string


def test_dot_has_a_cluster_per_phase_and_a_bold_critical_path() -> None:
    pb = playbook(
        step("power", phase="power", kind="manual", title='Say "go" \\ wait'),
        step("storage", ["power"], 300, phase="storage"),
        step("network", ["power"], 900, phase="network"),
        step("apps", ["storage", "network"], 600, phase="apps"),
    )
    dot = to_dot(build_plan(pb, {}))
    assert dot.startswith('digraph "restore" {\n')
    assert dot.endswith("}\n")
    assert _balanced(dot)
    assert dot.count("subgraph cluster_") == 4
    assert 'label="storage";' in dot
    assert r"Say \"go\" \\ wait" in dot
    edges = re.findall(r'^  "([^"]+)" -> "([^"]+)"(.*);$', dot, re.M)
    assert {(a, b) for a, b, _ in edges} == {
        ("power", "storage"),
        ("power", "network"),
        ("storage", "apps"),
        ("network", "apps"),
    }
    bold = {(a, b) for a, b, attrs in edges if "bold" in attrs}
    assert bold == {("power", "network"), ("network", "apps")}
    nodes = dict(re.findall(r'^    "([^"]+)" \[(.*)\];$', dot, re.M))
    assert set(nodes) == {"power", "storage", "network", "apps"}
    assert "bold" in nodes["network"] and "bold" not in nodes["storage"]


def test_mermaid_has_a_subgraph_per_phase_and_safe_node_ids() -> None:
    pb = playbook(
        step("end", phase="close", title='The "end" <b>'),
        step("o-start", ["end"], phase="close"),
        step("x", ["o-start"], phase="other"),
    )
    text = to_mermaid(build_plan(pb, {}))
    lines = text.splitlines()
    assert lines[0] == "flowchart TD"
    assert sum(1 for ln in lines if ln.strip().startswith("subgraph ")) == 2
    assert sum(1 for ln in lines if ln.strip() == "end") == 2
    assert "#quot;end#quot; #lt;b#gt;" in text
    # Node ids never reuse step ids (`end` is a Mermaid keyword).
    assert re.findall(r"^  (s\d+) (==>|-->) (s\d+)$", text, re.M) == [
        ("s0", "==>", "s1"),
        ("s1", "==>", "s2"),
    ]
    assert "class s0,s1,s2 critical" in text


def test_phases_follow_the_run_order_even_when_an_include_comes_first() -> None:
    pb = playbook(
        step("app", ["db"], phase="applications"),
        step("power", phase="power"),
        step("db", ["power"], phase="storage"),
        step("check", phase="applications"),
    )
    assert build_plan(pb, {}).phases == ("power", "applications", "storage")


def test_json_text_is_exactly_what_json_dumps_writes() -> None:
    pb = playbook(
        step("café", phase="énergie", title='Say "hi" \\ ☎ \t tab'),
        step("b", ["café"], None, kind="manual"),
        rto_s=None,
    )
    plan = build_plan(pb, {"café": ("h1", "h-ü")})
    expected = json.dumps(plan.to_json(), indent=2, sort_keys=True, ensure_ascii=False)
    assert to_json_text(plan) == expected + "\n"
    empty = build_plan(playbook(), {})
    assert to_json_text(empty) == json.dumps(empty.to_json(), indent=2, sort_keys=True) + "\n"

"""The data every module shares: frozen, located, built only by the loaders."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

StepKind = Literal["manual", "remote", "local"]
OnFailure = Literal["block", "abort", "continue"]
OutputType = Literal["text", "int", "float", "json", "lines"]
RunMode = Literal["live", "dry-run", "rehearsal"]

DEFAULT_ESTIMATE_S = 300.0  # a step without `estimate` counts as 5m (SPEC §2)


@dataclass(frozen=True, order=True)
class Location:
    """Where something stands in a user's file; 1-based line and column."""

    file: str
    line: int
    col: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.col}"


@dataclass(frozen=True)
class Estimate:
    """How long a whole step takes, in seconds; a single duration has min == likely == max."""

    min_s: float
    likely_s: float
    max_s: float
    given: bool = True  # False: no `estimate` in the playbook, DEFAULT_ESTIMATE_S assumed

    @property
    def three_point(self) -> bool:
        return not (self.min_s == self.likely_s == self.max_s)

    @classmethod
    def single(cls, seconds: float, given: bool = True) -> Estimate:
        return cls(seconds, seconds, seconds, given)


@dataclass(frozen=True)
class Variable:
    """A playbook variable: a literal value, or read from the environment at run start."""

    name: str
    value: Any = None
    env: str | None = None  # `{env: NAME}`
    secret: bool = False  # `secret: true`, or a name containing password/secret/token
    location: Location | None = None


@dataclass(frozen=True)
class Output:
    """`output:`: how each host's stdout of `run` becomes its `value`."""

    type: OutputType = "text"
    secret: bool = False  # stdout and value masked in the journal, the screen and exports


@dataclass(frozen=True)
class Input:
    """`input:` on a manual step: the value the operator gives (templates: plain text)."""

    choices: tuple[str, ...] | str | None = None  # a list, or a template giving one
    pattern: str | None = None  # a regex the whole value must match
    default: str | None = None
    prompt: str | None = None
    secret: bool = False


@dataclass(frozen=True)
class Count:
    """`N` hosts, or `N%` of a step's hosts (`serial`, `max_fail`, `min_ok`)."""

    n: float
    percent: bool = False

    def of(self, total: int, round_up: bool = False) -> int:
        """How many hosts out of `total`: a share rounds down (`serial`, `max_fail`, as
        Ansible), or up where it is a floor to reach (`min_ok`)."""
        if not self.percent:
            return int(self.n)
        exact = self.n * total / 100
        whole = int(exact)
        return whole + 1 if round_up and whole < exact else whole

    def __str__(self) -> str:
        return f"{self.n:g}%" if self.percent else str(int(self.n))


@dataclass(frozen=True)
class FileCopy:
    """`copy:` a file from `src` (relative to the step's file), or templated `content`."""

    dest: str  # template, plain text
    src: str | None = None  # template; resolved against `base` when rendered
    content: str | None = None  # template, plain text, kept exactly
    mode: str | None = None  # octal text, e.g. "0644"
    base: str = "."  # the folder of the file that defines the step


@dataclass(frozen=True)
class FileFetch:
    """`fetch:` a file from the host to `dest/HOST/NAME` on this machine."""

    src: str  # template, plain text
    dest: str  # template; relative to the current folder


@dataclass(frozen=True)
class Step:
    """One restore step after defaults, includes and `phase:` needs are resolved."""

    id: str
    title: str
    phase: str
    kind: StepKind
    location: Location
    needs: tuple[str, ...] = ()  # step ids, sorted, `phase:NAME` already expanded
    manual: str | None = None  # operator instructions (template, plain text)
    hosts: str | None = None  # inventory pattern
    run: str | None = None  # templates, shell-quoted on render
    skip_if: str | None = None
    until: str | None = None
    verify: str | None = None
    every_s: float = 10.0
    parallel: int | None = None  # None: all hosts at once
    timeout_s: float = 900.0  # per host, per attempt
    retries: int = 0
    retry_delay_s: float = 30.0
    on_failure: OnFailure = "block"
    idempotent: bool = False
    estimate: Estimate = field(default_factory=lambda: Estimate.single(DEFAULT_ESTIMATE_S, False))
    owner: str | None = None
    # Steps that decide (docs/playbook.md "Steps that decide")
    output: Output | None = None
    example: Any = None  # what rehearsals and dry-runs take as printed: a value or host → value
    input: Input | None = None
    when: str | None = None  # a Jinja expression, evaluated when the step becomes ready
    chance: float | None = None  # what plan and forecast assume of `when` until decided
    run_once: bool = False
    reads: tuple[str, ...] = ()  # steps whose results its templates read, sorted
    # Hosts in batches, quorum, files, privileges (docs/playbook.md)
    serial: tuple[Count, ...] = ()  # batch sizes; the last one repeats
    max_fail: Count | None = None  # None: no limit (0 with `serial`)
    min_ok: Count | None = None
    copy: FileCopy | None = None
    fetch: FileFetch | None = None
    become: bool = False
    become_user: str | None = None
    become_password: str | None = None  # template reading a secret variable
    env: tuple[tuple[str, str], ...] = ()  # name → value template, in written order
    stdin: str | None = None  # template, plain text, given to `run`
    doc: str | None = None  # a URL or a line, shown with the step
    # Where each field was written, for errors found after loading (patterns, templates).
    field_locations: Mapping[str, Location] = field(default_factory=dict, compare=False)

    @property
    def hosts_at_run_time(self) -> bool:
        """`hosts` is a template: its hosts are known only when the step starts."""
        return self.hosts is not None and ("{{" in self.hosts or "{%" in self.hosts)

    @property
    def decides(self) -> bool:
        """Something about this step is decided only when it becomes ready."""
        return bool(
            self.reads or self.when or self.input or self.hosts_at_run_time or self.run_once
        )


@dataclass(frozen=True)
class Playbook:
    """A loaded playbook with its includes merged."""

    id: str
    title: str
    path: str
    location: Location
    steps: tuple[Step, ...]
    description: str = ""
    rto_s: float | None = None
    vars: Mapping[str, Variable] = field(default_factory=dict)
    files: tuple[str, ...] = ()  # this file and every included file, in load order

    def step(self, step_id: str) -> Step:
        for s in self.steps:
            if s.id == step_id:
                return s
        raise KeyError(step_id)

    @property
    def phases(self) -> tuple[str, ...]:
        """Phases in first-appearance order."""
        return tuple(dict.fromkeys(s.phase for s in self.steps))


@dataclass(frozen=True)
class Host:
    """An inventory host with its variables resolved by Ansible's precedence."""

    name: str
    address: str  # ansible_host, else the name
    port: int | None = None  # ansible_port; None: ~/.ssh/config, else 22
    user: str | None = None  # ansible_user; None: ~/.ssh/config, else the local user
    key_file: str | None = None  # ansible_ssh_private_key_file
    proxy_jump: str | None = None  # from ansible_ssh_common_args (-J / -o ProxyJump=)
    groups: tuple[str, ...] = ()  # every group it belongs to, ancestors included, sorted
    vars: Mapping[str, Any] = field(default_factory=dict)
    location: Location | None = None


@dataclass(frozen=True)
class Group:
    """An inventory group: its direct hosts and child groups."""

    name: str
    hosts: tuple[str, ...] = ()
    children: tuple[str, ...] = ()
    vars: Mapping[str, Any] = field(default_factory=dict)
    location: Location | None = None


@dataclass(frozen=True)
class Inventory:
    """Hosts and groups from one or more inventory sources, merged."""

    hosts: Mapping[str, Host] = field(default_factory=dict)
    groups: Mapping[str, Group] = field(default_factory=dict)
    sources: tuple[str, ...] = ()


@dataclass(frozen=True)
class Durations:
    """A parsed `--durations` file: whole-step work, or per-host durations."""

    steps: Mapping[str, float] = field(default_factory=dict)
    hosts: Mapping[str, Mapping[str, float]] = field(default_factory=dict)
    path: str | None = None

"""YAML files → plain data plus the `file:line:col` of every key and value.

PyYAML's composer gives nodes with marks; we build the data ourselves so that duplicate
keys, alias bombs and deep nesting become located errors in bounded memory instead of
silent overwrites, exponential expansion or a RecursionError traceback.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from runbook.errors import InputError, Issue
from runbook.model import Location

PathKey = tuple[str | int, ...]

MAX_FILE_BYTES = 64 * 1024 * 1024
MAX_NODES = 2_000_000  # a 10,000-step playbook is ~300k nodes; alias bombs stop here
MAX_DEPTH = 100
_STR_TAG = "tag:yaml.org,2002:str"
MAX_ALIAS_VISITS = 200_000  # values reached a second time through aliases


@dataclass(frozen=True)
class Document:
    """A parsed YAML file: `data` plus where each value and each mapping key stands."""

    path: str
    data: Any
    # (line, col) per path; Location objects are made on demand, since a large playbook
    # has hundreds of thousands of values and few of them are ever reported.
    value_marks: Mapping[PathKey, tuple[int, int]] = field(default_factory=dict)
    key_marks: Mapping[PathKey, tuple[int, int]] = field(default_factory=dict)

    def loc(self, path: PathKey) -> Location:
        """Location of the value at `path`, else of its nearest located ancestor."""
        p = tuple(path)
        while p:
            if p in self.value_marks:
                return Location(self.path, *self.value_marks[p])
            p = p[:-1]
        return Location(self.path, *self.value_marks.get((), (1, 1)))

    def key_loc(self, path: PathKey) -> Location:
        """Location of the mapping key that names `path` (falls back to the value)."""
        mark = self.key_marks.get(tuple(path))
        return Location(self.path, *mark) if mark else self.loc(path)


def _location(path: str, mark: Any) -> Location:
    return Location(path, mark.line + 1, mark.column + 1)


def read_text(path: Path | str, label: str | None = None) -> str:
    """Read a user file as UTF-8 with a located error for bytes that are not."""
    p = Path(path)
    name = label or str(path)
    try:
        size = p.stat().st_size
        if size > MAX_FILE_BYTES:
            raise InputError(
                [Issue(Location(name, 1, 1), f"file is {size:,} bytes, over the 64 MiB limit")]
            )
        raw = p.read_bytes()
    except FileNotFoundError:
        raise InputError([Issue(None, f"{name}: no such file", "check the path")]) from None
    except IsADirectoryError:
        raise InputError([Issue(None, f"{name}: is a folder, not a file")]) from None
    except PermissionError:
        raise InputError([Issue(None, f"{name}: permission denied")]) from None
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as e:
        before = raw[: e.start]
        line = before.count(b"\n") + 1
        col = e.start - (before.rfind(b"\n") + 1) + 1
        raise InputError(
            [
                Issue(
                    Location(name, line, col),
                    f"byte 0x{raw[e.start]:02x} is not valid UTF-8",
                    "save the file as UTF-8",
                )
            ]
        ) from None


def parse_yaml(text: str, name: str, loader_class: type[Any] = yaml.SafeLoader) -> Document:
    """Parse one YAML document; every problem is an InputError with its location."""
    try:
        loader = loader_class(text)  # the reader checks characters here already
    except yaml.reader.ReaderError as e:
        raise InputError([_reader_issue(name, text, e)]) from None
    try:
        try:
            root = loader.get_single_node()
        except yaml.composer.ComposerError as e:
            if "single document" in f"{e.context} {e.problem}":
                mark = e.problem_mark
                raise InputError(
                    [
                        Issue(
                            _location(name, mark),
                            "more than one YAML document in the file",
                            "remove the second `---` or split the file",
                        )
                    ]
                ) from None
            raise
        except RecursionError:
            raise InputError(
                [Issue(Location(name, 1, 1), "nesting is too deep to be a playbook or inventory")]
            ) from None
    except yaml.MarkedYAMLError as e:
        raise InputError([_yaml_issue(name, e, text)]) from None
    except yaml.reader.ReaderError as e:
        raise InputError([_reader_issue(name, text, e)]) from None
    except yaml.YAMLError as e:
        raise InputError([Issue(Location(name, 1, 1), f"YAML error: {e}")]) from None
    finally:
        loader.dispose()
    if root is None:
        return Document(name, None, {(): (1, 1)}, {})
    builder = _Builder(name, loader)
    data = builder.build(root, (), 0)
    return Document(name, data, builder.values, builder.keys)


def load_yaml(
    path: Path | str, label: str | None = None, loader_class: type[Any] = yaml.SafeLoader
) -> Document:
    """Read and parse a YAML file (UTF-8, one document)."""
    name = label or str(path)
    return parse_yaml(read_text(path, name), name, loader_class)


def _reader_issue(name: str, text: str, e: yaml.reader.ReaderError) -> Issue:
    """A character YAML does not allow (control characters and the like)."""
    before = text[: e.position]
    line = before.count("\n") + 1
    col = e.position - (before.rfind("\n") + 1) + 1
    char = e.character if isinstance(e.character, str) else chr(e.character)
    return Issue(
        Location(name, line, col),
        f"character {char!r} (U+{ord(char):04X}) is not allowed in YAML",
        "remove it, or write it as an escape inside a double-quoted string",
    )


def _char_at(text: str, mark: Any) -> str:
    line: int = mark.line
    column: int = mark.column
    lines = text.split("\n", line + 1)
    if line < len(lines) and column < len(lines[line]):
        return lines[line][column]
    return ""


def _yaml_issue(name: str, e: yaml.MarkedYAMLError, text: str) -> Issue:
    mark = e.problem_mark or e.context_mark
    loc = _location(name, mark) if mark is not None else Location(name, 1, 1)
    problem = (e.problem or "").strip()
    context = (e.context or "").strip()
    hint = "check the indentation and quoting around this line"
    at_tab = mark is not None and _char_at(text, mark) == "\t"
    if at_tab or "\\t" in problem or "'\\t'" in problem or "tab" in problem:
        problem = "a tab character where YAML needs spaces"
        hint = "indent with spaces, never tabs"
    elif "mapping values are not allowed" in problem:
        hint = "quote a value that contains ': ', or fix the indentation"
    elif "could not find expected ':'" in problem:
        hint = "a key needs ':' after it; or a line is indented too far"
    message = f"YAML syntax: {problem}" + (f" ({context})" if context else "")
    return Issue(loc, message, hint)


class _Builder:
    """Turns a node tree into plain data, recording locations and refusing traps."""

    def __init__(self, name: str, loader: yaml.SafeLoader) -> None:
        self.name = name
        self.loader = loader
        self.values: dict[PathKey, tuple[int, int]] = {}
        self.keys: dict[PathKey, tuple[int, int]] = {}
        self.count = 0
        self.seen: set[int] = set()
        self.reused = 0

    def _fail(self, node: yaml.Node, message: str, hint: str = "") -> InputError:
        return InputError([Issue(_location(self.name, node.start_mark), message, hint)])

    def build(self, node: yaml.Node, path: PathKey, depth: int) -> Any:
        self.count += 1
        if self.count > MAX_NODES:
            raise self._fail(
                node,
                f"the document expands to more than {MAX_NODES:,} values",
                "aliases (*name) that refer to aliases multiply; write the data out",
            )
        if path not in self.values:
            mark = node.start_mark
            self.values[path] = (mark.line + 1, mark.column + 1)
        if node.tag == _STR_TAG:  # most values: skip the constructor's dispatch
            return node.value
        if isinstance(node, yaml.CollectionNode):
            # Only collections can make an alias bomb; a repeated scalar costs one value.
            if id(node) in self.seen:
                self.reused += 1
                if self.reused > MAX_ALIAS_VISITS:
                    raise self._fail(
                        node,
                        "aliases expand to too many values (an alias bomb?)",
                        "aliases (*name) that refer to aliases multiply; write the data out",
                    )
            else:
                self.seen.add(id(node))
            if depth > MAX_DEPTH:
                raise self._fail(node, f"nesting deeper than {MAX_DEPTH} levels")
            if isinstance(node, yaml.MappingNode):
                return self._mapping(node, path, depth)
            return [self.build(n, (*path, i), depth + 1) for i, n in enumerate(node.value)]
        try:
            return self.loader.construct_object(node, deep=True)
        except yaml.constructor.ConstructorError as e:
            raise self._fail(node, f"YAML value: {e.problem}") from None
        except ValueError as e:  # e.g. an invalid timestamp like 2024-13-45
            raise self._fail(node, f"YAML value: {e}", "quote it to keep it as text") from None

    def _mapping(self, node: yaml.MappingNode, path: PathKey, depth: int) -> dict[Any, Any]:
        result: dict[Any, Any] = {}
        explicit: set[Any] = set()
        merges: list[yaml.Node] = []
        for key_node, value_node in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                merges.extend(
                    value_node.value if isinstance(value_node, yaml.SequenceNode) else [value_node]
                )
                continue
            if not isinstance(key_node, yaml.ScalarNode):
                raise self._fail(key_node, "a mapping key must be a plain value, not a list or map")
            key = (
                key_node.value
                if key_node.tag == _STR_TAG
                else self.loader.construct_object(key_node)
            )
            if not isinstance(key, (str, int, float, bool)) and key is not None:
                key = str(key)
            if key in explicit:
                first = self.keys.get((*path, key))
                where = f" (first at line {first[0]})" if first else ""
                raise self._fail(
                    key_node, f"duplicate key '{key}'{where}", "remove one of them or rename it"
                )
            explicit.add(key)
            mark = key_node.start_mark
            self.keys[(*path, key)] = (mark.line + 1, mark.column + 1)
            result[key] = self.build(value_node, (*path, key), depth + 1)
        for merge_node in merges:
            if not isinstance(merge_node, yaml.MappingNode):
                raise self._fail(merge_node, "a merge key (<<) needs a mapping or list of mappings")
            merged = self._mapping(merge_node, path, depth + 1)
            for k, v in merged.items():
                result.setdefault(k, v)
        return result

"""YAML files → plain data plus the `file:line:col` of every key and value.

PyYAML's composer gives nodes with marks; we build the data ourselves so that duplicate
keys, alias bombs and deep nesting become located errors in bounded memory instead of
silent overwrites, exponential expansion or a RecursionError traceback.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from runbook.errors import InputError, Issue
from runbook.load._source_build import (
    Builder,
    Shadow,
    Unusual,
    build_from_events,
    location_of,
    quick_loader,
)
from runbook.model import Location

PathKey = tuple[str | int, ...]

MAX_FILE_BYTES = 64 * 1024 * 1024


@dataclass(frozen=True)
class Document:
    """A parsed YAML file: `data` plus where each value and each mapping key stands.

    Locations are made from the parser's marks only when asked for: a large playbook has
    hundreds of thousands of values and few of them are ever reported.
    """

    path: str
    data: Any
    root_mark: tuple[int, int] = (1, 1)  # 1-based line and column of the root value
    shadow: Shadow | None = None

    def loc(self, path: PathKey) -> Location:
        """Location of the value at `path`, else of its nearest located ancestor."""
        mark = self._walk(path)[0]
        if mark is None:
            return Location(self.path, *self.root_mark)
        return Location(self.path, mark.line + 1, mark.column + 1)

    def key_loc(self, path: PathKey) -> Location:
        """Location of the mapping key that names `path` (falls back to the value)."""
        mark = self._walk(path)[1]
        if mark is None:
            return self.loc(path)
        return Location(self.path, mark.line + 1, mark.column + 1)

    def marks(self, path: PathKey) -> dict[Any, Any]:
        """The mark of every value directly inside the mapping or list at `path`."""
        return marks_in(self.shadow_at(path))

    def shadow_at(self, path: PathKey) -> Shadow | None:
        """Where everything inside the value at `path` stands (see source_build)."""
        _, _, shadow, exact = self._walk(path)
        return shadow if exact else None

    def at_mark(self, mark: Any) -> Location:
        """The Location of a mark from `marks`."""
        return Location(self.path, mark.line + 1, mark.column + 1)

    def _walk(self, path: PathKey) -> tuple[Any, Any, Shadow | None, bool]:
        """(value mark, key mark, shadow) of `path`'s deepest located part; and whether that
        part is `path` itself."""
        shadow = self.shadow
        value_mark: Any = None
        key_mark: Any = None
        for part in path:
            if isinstance(shadow, dict):
                try:
                    entry = shadow.get(part)
                except TypeError:  # an unhashable part names nothing here
                    entry = None
                if entry is None:
                    return value_mark, None, None, False
                key_mark, value_mark, shadow = entry
            elif isinstance(shadow, list) and isinstance(part, int) and 0 <= part < len(shadow):
                value_mark, shadow = shadow[part]
                key_mark = None
            else:
                return value_mark, None, None, False
        return value_mark, key_mark, shadow, True


def marks_in(shadow: Shadow | None) -> dict[Any, Any]:
    """The mark of every value directly inside the mapping or list a shadow describes."""
    if isinstance(shadow, dict):
        return {k: e[1] for k, e in shadow.items()}
    if isinstance(shadow, list):
        return {i: e[0] for i, e in enumerate(shadow)}
    return {}


class Locations(Mapping[Any, Location]):
    """Locations by key, each made from its parser mark only when it is asked for.

    A 10,000-step playbook has ~100,000 located fields, and reports few of them.
    """

    __slots__ = ("_at", "file")

    def __init__(self, file: str, marks: dict[Any, Any] | None = None) -> None:
        """`marks`: key → a mark from `Document.marks` (taken, not copied) or a Location."""
        self.file = file
        self._at: dict[Any, Any] = {} if marks is None else marks

    def __setitem__(self, key: Any, location: Location) -> None:
        self._at[key] = location

    def __getitem__(self, key: Any) -> Location:
        at = self._at[key]
        if isinstance(at, Location):
            return at
        return Location(self.file, at.line + 1, at.column + 1)

    def get(self, key: Any, default: Any = None) -> Any:
        return self[key] if key in self._at else default

    def __contains__(self, key: object) -> bool:
        return key in self._at

    def __iter__(self) -> Iterator[Any]:
        return iter(self._at)

    def __len__(self) -> int:
        return len(self._at)

    def __repr__(self) -> str:
        return f"Locations({dict(self)!r})"


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


def parse_yaml(
    text: str, name: str, loader_class: type[Any] = yaml.SafeLoader, events: bool = True
) -> Document:
    """Parse one YAML document; every problem is an InputError with its location.

    `events=False`: straight to the node tree (a file known to hold an error).
    """
    try:
        loader = quick_loader(loader_class)(text)  # the reader checks characters here already
        loader.tag_cache = {}
    except yaml.reader.ReaderError as e:
        raise InputError([_reader_issue(name, text, e)]) from None
    try:
        if not events:
            raise Unusual
        data, shadow, mark = build_from_events(loader)
    except (Unusual, yaml.YAMLError):
        pass  # parsed again below, as a node tree: its Builder says what is wrong
    else:
        loader.dispose()
        if mark is None:
            return Document(name, None)
        return Document(name, data, (mark.line + 1, mark.column + 1), shadow)
    loader.dispose()
    loader = quick_loader(loader_class)(text)
    loader.tag_cache = {}
    try:
        try:
            root = loader.get_single_node()
        except yaml.composer.ComposerError as e:
            if "single document" in f"{e.context} {e.problem}":
                mark = e.problem_mark
                raise InputError(
                    [
                        Issue(
                            location_of(name, mark),
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
        return Document(name, None)
    builder = Builder(name, loader)
    data, shadow = builder.build(root)
    mark = root.start_mark
    return Document(name, data, (mark.line + 1, mark.column + 1), shadow)


def load_yaml(
    path: Path | str,
    label: str | None = None,
    loader_class: type[Any] = yaml.SafeLoader,
    events: bool = True,
) -> Document:
    """Read and parse a YAML file (UTF-8, one document)."""
    name = label or str(path)
    return parse_yaml(read_text(path, name), name, loader_class, events)


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
    if "quoted scalar" in (e.context or "") and e.context_mark is not None:
        # The scanner fails where the file ends (or the next key starts); the mistake is
        # the quote that was never closed, where it opened.
        quote = _char_at(text, e.context_mark) or "'"
        return Issue(
            location_of(name, e.context_mark),
            f"YAML syntax: the quote {quote} opened here is never closed",
            f"close it with a matching {quote} on the same value, or remove it",
        )
    mark = e.problem_mark or e.context_mark
    loc = location_of(name, mark) if mark is not None else Location(name, 1, 1)
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

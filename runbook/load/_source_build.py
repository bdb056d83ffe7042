"""PyYAML's node tree → plain data, and beside it a shadow of where each value stands.

The loader is PyYAML's with cheaper tag resolution; the builder refuses duplicate keys,
alias bombs and deep nesting as located errors, in bounded memory.
"""

from __future__ import annotations

from typing import Any

import yaml
from yaml.events import (
    DocumentEndEvent,
    MappingEndEvent,
    MappingStartEvent,
    ScalarEvent,
    SequenceEndEvent,
    SequenceStartEvent,
    StreamEndEvent,
)

from runbook.errors import InputError, Issue
from runbook.model import Location

MAX_NODES = 2_000_000  # a 10,000-step playbook is ~300k nodes; alias bombs stop here
MAX_DEPTH = 100
MAX_ALIAS_VISITS = 200_000  # values reached a second time through aliases
_STR_TAG = "tag:yaml.org,2002:str"
_MERGE_TAG = "tag:yaml.org,2002:merge"
_Scalar = yaml.ScalarNode
# Plain scalars whose value is immutable: one object per text serves every occurrence.
_IMMUTABLE = frozenset(f"tag:yaml.org,2002:{name}" for name in ("bool", "int", "float", "null"))

# Where each value stands, beside the data: a mapping's shadow maps each key to
# (key mark, value mark, the value's shadow); a list's holds (item mark, item's shadow).
# Marks are the parser's own objects (`.line`, `.column`, 0-based); Locations are made only
# when asked for, since a large playbook has hundreds of thousands of values and few of
# them are ever reported.
MapShadow = dict[Any, tuple[Any, Any, "Shadow | None"]]
ListShadow = list[tuple[Any, "Shadow | None"]]
Shadow = MapShadow | ListShadow


def location_of(path: str, mark: Any) -> Location:
    return Location(path, mark.line + 1, mark.column + 1)


_QUICK: dict[type[Any], type[Any]] = {}


def quick_loader(loader_class: type[Any]) -> type[Any]:
    """`loader_class` with a tag resolver that remembers each plain scalar's verdict.

    PyYAML resolves every plain scalar (`id`, `run`, `10m`...) by trying regular
    expressions chosen by its first character: ~0.2 s for a 10,000-step playbook, where
    most of these texts repeat. Without path resolvers (which make the verdict depend on
    where the scalar stands) the verdict depends on the text alone, so one per text is
    enough.
    """
    quick = _QUICK.get(loader_class)
    if quick is not None:
        return quick
    if loader_class.yaml_path_resolvers:
        _QUICK[loader_class] = loader_class
        return loader_class
    slow = loader_class.resolve
    scalar_tag: str = loader_class.DEFAULT_SCALAR_TAG
    # The first characters some implicit resolver is registered for: any other text is
    # plain text without a look (an id, a title: most of a playbook's texts are unique).
    firsts = frozenset(loader_class.yaml_implicit_resolvers)
    plain_first = None if None in firsts else firsts
    sequence_tag: str = loader_class.DEFAULT_SEQUENCE_TAG
    mapping_tag: str = loader_class.DEFAULT_MAPPING_TAG

    def resolve(self: Any, kind: type[yaml.Node], value: Any, implicit: Any) -> str:
        if kind is _Scalar:
            if not implicit[0]:  # quoted, or a block scalar: text
                return scalar_tag
            if plain_first is not None and value and value[0] not in plain_first:
                return scalar_tag
            cache: dict[str, str] = self.tag_cache
            tag = cache.get(value)
            if tag is None:
                tag = cache[value] = str(slow(self, kind, value, implicit))
            return tag
        return sequence_tag if kind is yaml.SequenceNode else mapping_tag

    # Both composers also call these two around every node, for the path resolvers this
    # class has none of: C built-ins that take the same arguments cost a third of the
    # Python methods that return at once (~30 ms at 10,000 steps).
    quick = type(
        loader_class.__name__,
        (loader_class,),
        {
            "resolve": resolve,
            "implicit_firsts": plain_first,
            "descend_resolver": staticmethod(slice),  # (parent, index) → ignored
            "ascend_resolver": staticmethod(tuple),  # () → ignored
        },
    )
    _QUICK[loader_class] = quick
    return quick


class Builder:
    """Turns a node tree into plain data and its shadow of marks, refusing traps.

    Plain text values, most of a playbook, are taken inline by their mapping or list: a
    call per value cost more than the value itself at 10,000 steps.
    """

    def __init__(self, name: str, loader: yaml.SafeLoader) -> None:
        self.name = name
        self.loader = loader
        self.count = 0
        self.seen: set[int] = set()
        self.reused = 0
        # > 0 while building a collection reached again through an alias: everything in
        # it is a value visited a second time, which is what an alias bomb multiplies.
        self.replaying = 0

    def _fail(self, node: yaml.Node, message: str, hint: str = "") -> InputError:
        return InputError([Issue(location_of(self.name, node.start_mark), message, hint)])

    def build(self, root: yaml.Node) -> tuple[Any, Shadow | None]:
        """The document's data and its shadow."""
        self._visit(root)
        if root.tag == _STR_TAG and type(root) is _Scalar:
            return root.value, None
        return self._other(root, 0)

    def _visit(self, node: yaml.Node) -> None:
        self.count += 1
        if self.count > MAX_NODES:
            raise self._fail(
                node,
                f"the document expands to more than {MAX_NODES:,} values",
                "aliases (*name) that refer to aliases multiply; write the data out",
            )
        if self.replaying:
            self._reuse(node)

    def _reuse(self, node: yaml.Node) -> None:
        self.reused += 1
        if self.reused > MAX_ALIAS_VISITS:
            raise self._fail(
                node,
                "aliases expand to too many values (an alias bomb?)",
                "aliases (*name) that refer to aliases multiply; write the data out",
            )

    def _enter(self, node: yaml.Node) -> bool:
        """Note a collection's visit; True when it is visited again (through an alias)."""
        # Only collections can make an alias bomb; a repeated scalar costs one value.
        if id(node) in self.seen:
            if not self.replaying:  # inside a replay, its parent's loop counted it already
                self._reuse(node)
            self.replaying += 1
            return True
        self.seen.add(id(node))
        return False

    def _other(self, node: yaml.Node, depth: int) -> tuple[Any, Shadow | None]:
        """A collection, or a scalar that is not plain text (number, boolean, date...)."""
        if isinstance(node, yaml.CollectionNode):
            again = self._enter(node)
            try:
                if depth > MAX_DEPTH:
                    raise self._fail(node, f"nesting deeper than {MAX_DEPTH} levels")
                if isinstance(node, yaml.MappingNode):
                    return self._mapping(node, depth)
                return self._sequence(node, depth)
            finally:
                if again:
                    self.replaying -= 1
        try:
            return self.loader.construct_object(node, deep=True), None
        except yaml.constructor.ConstructorError as e:
            raise self._fail(node, f"YAML value: {e.problem}") from None
        except ValueError as e:  # e.g. an invalid timestamp like 2024-13-45
            raise self._fail(node, f"YAML value: {e}", "quote it to keep it as text") from None

    def _sequence(self, node: yaml.CollectionNode, depth: int) -> tuple[list[Any], ListShadow]:
        result: list[Any] = []
        shadow: ListShadow = []
        for item in node.value:
            self.count += 1
            if self.count > MAX_NODES or self.replaying:
                self.count -= 1
                self._visit(item)
            if item.tag == _STR_TAG and type(item) is _Scalar:
                result.append(item.value)
                shadow.append((item.start_mark, None))
            else:
                value, sub = self._other(item, depth + 1)
                result.append(value)
                shadow.append((item.start_mark, sub))
        return result, shadow

    def _mapping(self, node: yaml.MappingNode, depth: int) -> tuple[dict[Any, Any], MapShadow]:
        result: dict[Any, Any] = {}
        shadow: MapShadow = {}
        merges: list[yaml.Node] = []
        for key_node, value_node in node.value:
            if key_node.tag == _STR_TAG and type(key_node) is _Scalar:
                key = key_node.value
            else:
                if key_node.tag == _MERGE_TAG:
                    merges.extend(
                        value_node.value
                        if isinstance(value_node, yaml.SequenceNode)
                        else [value_node]
                    )
                    continue
                key = self._key(key_node)
            # Merged keys join after this loop: `result` holds this mapping's own keys.
            if key in result:
                first = shadow.get(key)
                where = f" (first at line {first[0].line + 1})" if first else ""
                raise self._fail(
                    key_node, f"duplicate key '{key}'{where}", "remove one of them or rename it"
                )
            self.count += 1
            if self.count > MAX_NODES or self.replaying:
                self.count -= 1
                self._visit(value_node)
            if value_node.tag == _STR_TAG and type(value_node) is _Scalar:
                result[key] = value_node.value
                sub = None
            else:
                result[key], sub = self._other(value_node, depth + 1)
            shadow[key] = (key_node.start_mark, value_node.start_mark, sub)
        for merge_node in merges:
            if not isinstance(merge_node, yaml.MappingNode):
                raise self._fail(merge_node, "a merge key (<<) needs a mapping or list of mappings")
            again = self._enter(merge_node)
            try:
                merged_in, merged_shadow = self._mapping(merge_node, depth + 1)
            finally:
                if again:
                    self.replaying -= 1
            # The keys this mapping writes itself win, and stand where they are written.
            for k, v in merged_in.items():
                result.setdefault(k, v)
            for k, e in merged_shadow.items():
                shadow.setdefault(k, e)
        return result, shadow

    def _key(self, key_node: yaml.Node) -> Any:
        if not isinstance(key_node, yaml.ScalarNode):
            raise self._fail(key_node, "a mapping key must be a plain value, not a list or map")
        key = self.loader.construct_object(key_node)
        if not isinstance(key, (str, int, float, bool)) and key is not None:
            key = str(key)
        return key


class Unusual(Exception):
    """The document has something `build_from_events` leaves to the node tree's Builder:
    an anchor, an alias, a merge key, an explicit tag, a key that is not text, a
    duplicate key, deep nesting, a second document, or a YAML error."""


def build_from_events(loader: Any) -> tuple[Any, Shadow | None, Any]:
    """(data, shadow, the root's mark) of a plain document, straight from the parser's
    events; the mark is None for an empty file. Raises Unusual for anything else.

    PyYAML's composer builds a node per value (a Python object, and a call into the tag
    resolver) that `Builder` then walks: at 10,000 steps that is ~0.4 s of CPU, and
    reading the events once costs ~0.3 s. Playbooks and inventories are plain YAML; the
    few files that are not (and every file with an error) are parsed again by the
    composer and `Builder`, which keep their traps and messages in one place.
    """
    get = loader.get_event
    cache: dict[str, str] = loader.tag_cache
    resolve = loader.resolve
    firsts = getattr(loader, "implicit_firsts", None)
    text_tag = loader.DEFAULT_SCALAR_TAG
    get()  # the stream's start
    event = get()
    if type(event) is StreamEndEvent:
        return None, None, None
    event = get()  # the root value's first event (after the document's start)
    root_mark = event.start_mark
    # The collections open around this event, innermost last: (its container, its
    # shadow, whether it is a mapping, the key waiting for its value and that key's
    # mark, the collection's own mark); the innermost one is in the variables below.
    stack: list[tuple[Any, Any, bool, Any, Any, Any]] = []
    container: Any = None
    shadow: Any = None
    is_map = False
    key: Any = None
    key_mark: Any = None
    count = 0
    made: dict[tuple[str, str], Any] = {}
    while True:
        kind = type(event)
        if kind is ScalarEvent:
            if event.anchor is not None:
                raise Unusual
            value = event.value
            tag = event.tag
            if tag is not None and tag != "!":
                raise Unusual
            implicit = event.implicit
            # Plain text: the composer's resolution (and cache); quoted or block: text.
            if not implicit[0]:
                tag = _STR_TAG
            elif firsts is not None and value and value[0] not in firsts:
                tag = text_tag  # no resolver looks at text starting so (quick_loader)
            else:
                tag = cache.get(value) or resolve(_Scalar, value, implicit)
            mark = event.start_mark
            sub = None
            if tag != _STR_TAG:
                if tag == _MERGE_TAG or (is_map and key is None):
                    raise Unusual  # a merge key, or a key that is not text
                known = made.get((tag, value), made)
                if known is not made:  # `true`, `5`...: immutable, made once per text
                    value = known
                else:
                    node = _Scalar(tag, value, mark, event.end_mark, event.style)
                    try:
                        made_value = loader.construct_object(node, deep=True)
                    except Exception:  # e.g. 2024-13-45: Builder says where and why
                        raise Unusual from None
                    if tag in _IMMUTABLE:
                        made[(tag, value)] = made_value
                    value = made_value
        elif kind is MappingStartEvent or kind is SequenceStartEvent:
            if event.anchor is not None or (event.tag is not None and event.tag != "!"):
                raise Unusual
            if len(stack) >= MAX_DEPTH:
                raise Unusual
            stack.append((container, shadow, is_map, key, key_mark, event.start_mark))
            is_map = kind is MappingStartEvent
            container, shadow = ({}, {}) if is_map else ([], [])
            key = None
            event = get()
            continue
        elif kind is MappingEndEvent or kind is SequenceEndEvent:
            if key is not None:
                raise Unusual
            value, sub = container, shadow
            container, shadow, is_map, key, key_mark, mark = stack.pop()
        else:  # an alias, or the end of what should be one value
            raise Unusual
        count += 1
        if count > MAX_NODES:
            raise Unusual
        if container is None:  # the root value is complete
            break
        if not is_map:
            container.append(value)
            shadow.append((mark, sub))
        elif key is None:
            if sub is not None or value in container:
                raise Unusual  # a list or mapping as a key, or a duplicate key
            key, key_mark = value, mark
        else:
            container[key] = value
            shadow[key] = (key_mark, mark, sub)
            key = None
        event = get()
    if type(get()) is not DocumentEndEvent or type(get()) is not StreamEndEvent:
        raise Unusual  # a second document
    return value, sub, root_mark

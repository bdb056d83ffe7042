"""Option values coerced without pydantic, for the types our commands use.

typer 0.2x coerces every option value it is given (a default too, `--forks`' 50) through
a pydantic TypeAdapter: importing pydantic and building the adapters took ~100 ms of every
command's start, before `runbook run` could dial its first host. For `str`, `int`, `Path` and
enums (and lists of them) without typer's extras (a parser, min/max, a path type), the
value is coerced here as the adapter would: a string stays itself, a decimal integer
becomes an int, a path goes through typer's own path checks (exists, dir_okay …). Anything
else, and any value these rules do not take at once (`--forks x`, `--forks " 5"`), goes to
typer's adapter, which gives the same result or the same error as before. A typer without
this coercion layer (before 0.2x, or a later rewrite) is left as it is.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from enum import Enum
from pathlib import Path
from typing import Any, get_args, get_origin

_DECIMAL = re.compile(r"-?[0-9]{1,18}")  # what int() and pydantic read alike, no overflow


def install() -> None:
    """Route the plain option types of every command around pydantic (once per process)."""
    try:
        from typer import _coercion, core
    except ImportError:  # pragma: no cover - a typer without the pydantic layer
        return
    build = getattr(core, "build_runtime_param", None)
    base = getattr(_coercion, "RuntimeParam", None)
    if build is None or base is None or getattr(build, "_runbook_plain", False):
        return

    def build_plain(descriptor: Any) -> Any:
        convert = _converter(descriptor)
        if convert is None:
            return build(descriptor)
        return _plain_class(base)(
            parameter_info=descriptor.parameter_info,
            annotation=descriptor.annotation,
            convert=convert,
            slow=lambda: build(descriptor),
        )

    build_plain._runbook_plain = True  # type: ignore[attr-defined]
    setattr(core, "build_runtime_param", build_plain)  # noqa: B010 (typer does not export it)


_classes: dict[type, type] = {}


def _plain_class(base: type) -> type:
    """typer's RuntimeParam with our conversion first and its adapter behind it."""
    found = _classes.get(base)
    if found is not None:
        return found
    from dataclasses import dataclass

    @dataclass(frozen=True)
    class PlainParam(base):  # type: ignore[misc]
        convert: Callable[[Any, Any, Any], Any]
        slow: Callable[[], Any]

        def _coerce_value(self, value: Any, param: Any, ctx: Any) -> Any:
            try:
                return self.convert(value, param, ctx)
            except _NotPlain:
                return self.slow()._coerce_value(value, param=param, ctx=ctx)

    _classes[base] = PlainParam
    return PlainParam


class _NotPlain(Exception):
    """This value is for typer's adapter to coerce (or to reject with its message)."""


def _converter(descriptor: Any) -> Callable[[Any, Any, Any], Any] | None:
    info = descriptor.parameter_info
    if descriptor.file_annotation is not None or getattr(info, "parser", None) is not None:
        return None
    if getattr(info, "click_type", None) is not None:
        return None
    annotation = descriptor.annotation
    if get_origin(annotation) is list:
        args = get_args(annotation)
        one = _leaf(args[0], info) if len(args) == 1 else None
        if one is None:
            return None
        leaf = one

        def many(value: Any, param: Any, ctx: Any) -> Any:
            if not isinstance(value, (list, tuple)):
                raise _NotPlain
            return [leaf(item, param, ctx) for item in value]

        return many
    return _leaf(annotation, info)


def _leaf(annotation: Any, info: Any) -> Callable[[Any, Any, Any], Any] | None:
    if annotation is str:
        return _str
    if annotation is bool:
        return _bool
    if annotation is int:
        ranged = getattr(info, "min", None) is not None or getattr(info, "max", None) is not None
        return None if ranged or getattr(info, "clamp", False) else _int
    if annotation is Path and getattr(info, "path_type", None) is None:
        return _path(info)
    if isinstance(annotation, type) and issubclass(annotation, Enum):
        return _choice(tuple(annotation), bool(getattr(info, "case_sensitive", True)))
    return None


def _str(value: Any, param: Any, ctx: Any) -> str:
    if not isinstance(value, str):
        raise _NotPlain
    return value


def _bool(value: Any, param: Any, ctx: Any) -> bool:
    if not isinstance(value, bool):
        raise _NotPlain  # "yes", "0" …: typer's rules
    return value


def _int(value: Any, param: Any, ctx: Any) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and _DECIMAL.fullmatch(value):
        return int(value)
    raise _NotPlain


def _path(info: Any) -> Callable[[Any, Any, Any], Any]:
    from typer._param_types import coerce_cli_path

    def path(value: Any, param: Any, ctx: Any) -> Any:
        if isinstance(value, str) and "\x00" not in value and str(Path(value)) == value:
            # What pydantic makes of a str, and typer's messages name it the same then
            value = Path(value)  # (`./x` and `` would not be: their adapter takes them)
        if not isinstance(value, Path):
            raise _NotPlain
        return coerce_cli_path(value, info, path_type=Path, param=param, ctx=ctx)

    return path


def _choice(choices: tuple[Enum, ...], case_sensitive: bool) -> Callable[[Any, Any, Any], Any]:
    from typer._param_types import coerce_cli_choice

    def choice(value: Any, param: Any, ctx: Any) -> Any:
        try:
            return coerce_cli_choice(value, choices=choices, case_sensitive=case_sensitive, ctx=ctx)
        except ValueError:  # not one of them: typer's adapter words the error
            raise _NotPlain from None

    return choice

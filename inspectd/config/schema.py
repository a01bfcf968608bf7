"""Build typed config dataclasses from plain YAML data, checking every key on the way.

A section is a frozen dataclass. Field types drive the conversion (str, int, float, bool, Path,
Literal, ``X | None``, ``list[X]``, ``dict[str, X]``, nested sections); bounds and patterns sit in the
field's metadata, written with :func:`setting`. Every problem is reported with the dotted key path,
the value found and what was expected, and all problems are collected before raising.
"""

from __future__ import annotations

import dataclasses
import re
import types
import typing
from pathlib import Path
from typing import Any, Literal, TypeVar, get_args, get_origin, get_type_hints

Section = TypeVar("Section")

_MISSING = dataclasses.MISSING


class ConfigError(ValueError):
    """The configuration is invalid; ``problems`` lists one line per wrong key."""

    def __init__(self, problems: list[str], source: str = "config") -> None:
        self.problems = problems
        super().__init__(f"{source}: {len(problems)} problem(s)\n" + "\n".join(f"  - {p}" for p in problems))


def setting(
    default: Any = _MISSING,
    *,
    default_factory: Any = _MISSING,
    minimum: float | None = None,
    maximum: float | None = None,
    pattern: str | None = None,
    doc: str = "",
) -> Any:
    """A dataclass field with a default, optional numeric bounds or a regex the value must match."""
    metadata = {"minimum": minimum, "maximum": maximum, "pattern": pattern, "doc": doc}
    if default_factory is not _MISSING:
        return dataclasses.field(default_factory=default_factory, metadata=metadata)
    return dataclasses.field(default=default, metadata=metadata)


def build(section: type[Section], data: Any, path: str = "") -> Section:
    """Convert ``data`` into ``section``; raises :class:`ConfigError` listing every problem."""
    problems: list[str] = []
    try:
        value = _build_section(section, data, path, problems)
    except _Invalid:
        raise ConfigError(problems) from None
    if problems:  # unknown keys alone do not stop the build
        raise ConfigError(problems)
    return value


class _Invalid(Exception):
    """Marks a value that could not be converted; the problem is already recorded."""


def _problem(problems: list[str], path: str, value: Any, expected: str) -> _Invalid:
    problems.append(f"{path or '<root>'}: got {value!r}, expected {expected}")
    return _Invalid()


def _build_section(section: type, data: Any, path: str, problems: list[str]) -> Any:
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise _problem(problems, path, data, f"a mapping for section {section.__name__}")
    hints = get_type_hints(section)
    fields = {f.name: f for f in dataclasses.fields(section) if f.init}
    for key in data:
        if key not in fields:
            problems.append(
                f"{_join(path, str(key))}: unknown key; expected one of {', '.join(sorted(fields))}"
            )
    values: dict[str, Any] = {}
    failed = False
    for name, field in fields.items():
        key_path = _join(path, name)
        if name not in data:
            if field.default is _MISSING and field.default_factory is _MISSING:
                problems.append(f"{key_path}: missing, expected {_describe(hints[name])}")
                failed = True
            continue
        try:
            values[name] = _convert(hints[name], data[name], key_path, problems)
            _check_bounds(field.metadata, values[name], key_path, problems)
        except _Invalid:
            failed = True
    if failed:
        raise _Invalid()
    try:
        return section(**values)
    except ValueError as error:  # a section's own __post_init__ cross-check
        raise _problem(problems, path, data, str(error)) from None


def _convert(kind: Any, value: Any, path: str, problems: list[str]) -> Any:
    if kind is Any:
        return value
    origin, args = get_origin(kind), get_args(kind)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        options = [a for a in args if a is not type(None)]
        if len(options) == 1:
            return _convert(options[0], value, path, problems)
        raise _problem(problems, path, value, _describe(kind))
    if origin is Literal:
        if value in args:
            return value
        raise _problem(problems, path, value, _describe(kind))
    if origin is list:
        if not isinstance(value, list):
            raise _problem(problems, path, value, _describe(kind))
        return _convert_all(((f"{path}[{i}]", item) for i, item in enumerate(value)), args[0], problems, list)
    if origin is dict:
        if not isinstance(value, dict):
            raise _problem(problems, path, value, _describe(kind))
        converted = _convert_all(((_join(path, str(k)), v) for k, v in value.items()), args[1], problems, list)
        return dict(zip((str(k) for k in value), converted))
    if dataclasses.is_dataclass(kind):
        return _build_section(kind, value, path, problems)
    return _convert_scalar(kind, value, path, problems)


def _convert_all(items: Any, kind: Any, problems: list[str], collect: type) -> Any:
    converted, failed = [], False
    for item_path, item in items:
        try:
            converted.append(_convert(kind, item, item_path, problems))
        except _Invalid:
            failed = True
    if failed:
        raise _Invalid()
    return collect(converted)


def _convert_scalar(kind: Any, value: Any, path: str, problems: list[str]) -> Any:
    if kind is bool:
        if isinstance(value, bool):
            return value
    elif kind is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    elif kind is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
    elif kind is str:
        if isinstance(value, str):
            return value
    elif kind is Path:
        if isinstance(value, str) and value:
            return Path(value)
    else:
        raise TypeError(f"config schema uses unsupported type {kind!r} at {path}")
    raise _problem(problems, path, value, _describe(kind))


def _check_bounds(metadata: Any, value: Any, path: str, problems: list[str]) -> None:
    if value is None:
        return
    minimum, maximum, pattern = metadata.get("minimum"), metadata.get("maximum"), metadata.get("pattern")
    if minimum is not None and value < minimum:
        raise _problem(problems, path, value, f"a number >= {minimum}")
    if maximum is not None and value > maximum:
        raise _problem(problems, path, value, f"a number <= {maximum}")
    if pattern is not None and not re.fullmatch(pattern, value):
        raise _problem(problems, path, value, f"a string matching {pattern}")


def _describe(kind: Any) -> str:
    origin, args = get_origin(kind), get_args(kind)
    if origin in (typing.Union, types.UnionType):
        return " or ".join("null" if a is type(None) else _describe(a) for a in args)
    if origin is Literal:
        return "one of " + ", ".join(repr(a) for a in args)
    if origin is list:
        return f"a list of {_describe(args[0])}"
    if origin is dict:
        return f"a mapping of names to {_describe(args[1])}"
    if dataclasses.is_dataclass(kind):
        return f"a mapping (section {kind.__name__})"
    names = {bool: "true or false", int: "an integer", float: "a number", str: "a string", Path: "a path"}
    return names.get(kind, str(kind))


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


NAME_PATTERN = r"[a-z0-9][a-z0-9_-]{0,63}"
"""Camera, input and product names: safe as MQTT topic levels and as directory names."""

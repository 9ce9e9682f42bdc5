"""Load YAML into pydantic models with errors that name file, line and field."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from core.errors import ConfigError

M = TypeVar("M", bound=BaseModel)


#: a config file larger than this is a mistake (a log pasted in), not a configuration
LARGEST = 5 * 1024 * 1024
DEEPEST = 100  # nesting levels


class _Loader(yaml.SafeLoader):
    """SafeLoader without implicit dates: `2026-02-30` stays text, so the model that
    wants a date says which line is wrong instead of PyYAML raising a bare ValueError."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()}

_KEYS: dict[int, dict[str, tuple[yaml.Node, yaml.Node]]] = {}


def _keys(node: yaml.MappingNode) -> dict[str, tuple[yaml.Node, yaml.Node]]:
    """A mapping's keys, built once per node while one file's problems are placed (so
    placing n problems is linear, not quadratic)."""
    cached = _KEYS.get(id(node))
    if cached is None:
        cached = {str(k.value): (k, v) for k, v in node.value}
        if len(_KEYS) > 10_000:
            _KEYS.clear()
        _KEYS[id(node)] = cached
    return cached


def read_text(path: Path) -> str:
    """A config file's text, or a ConfigError that names the file and what is wrong:
    unreadable, too large, not UTF-8 (with the line and column of the first bad byte)."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ConfigError([f"{path}: cannot read: {exc.strerror}"]) from None
    if len(raw) > LARGEST:
        raise ConfigError([f"{path}: {len(raw):,} bytes: too large for a configuration "
                           f"file (at most {LARGEST:,})"])
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise ConfigError([f"{path}: saved as UTF-16: save it as UTF-8"])
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        before = raw[:exc.start]
        line = before.count(b"\n") + 1
        column = exc.start - (before.rfind(b"\n") + 1) + 1
        raise ConfigError([f"{path}:{line}: byte 0x{raw[exc.start]:02x} at column {column} is "
                           f"not UTF-8: save the file as UTF-8"]) from None


def _duplicates(root: yaml.Node | None, source: str) -> list[str]:
    """Keys given twice in one mapping, at any depth (YAML would keep only the last)."""
    problems: list[str] = []
    stack: list[tuple[yaml.Node, int]] = [(root, 1)] if root is not None else []
    while stack:
        node, depth = stack.pop()
        if depth > DEEPEST:
            return [f"{source}:{node.start_mark.line + 1}: nested more than {DEEPEST} levels deep"]
        if isinstance(node, yaml.MappingNode):
            seen: dict[str, int] = {}
            for key, value in node.value:
                name = str(key.value)
                line = key.start_mark.line + 1
                if isinstance(key, yaml.ScalarNode) and name in seen:
                    problems.append(f"{source}:{line}: {name!r} appears twice in the same "
                                    f"mapping (first at line {seen[name]}); YAML keeps only the "
                                    f"last: merge them or rename one")
                seen.setdefault(name, line)
                stack.append((value, depth + 1))
        elif isinstance(node, yaml.SequenceNode):
            stack.extend((item, depth + 1) for item in node.value)
    return sorted(problems, key=lambda p: int(p.split(":")[1]) if p.split(":")[1].isdigit() else 0)


def _walk(node: yaml.Node | None, loc: tuple[int | str, ...]) -> tuple[int | None, list[str]]:
    """Follow a pydantic error location through the composed YAML: (line, field path).

    Parts that are not in the YAML (a union's tag such as `menu` in
    nodes.main.menu.options) are dropped when a later part is found instead.
    """
    line = node.start_mark.line + 1 if node is not None else None
    shown: list[str] = []
    parts = list(loc)
    i = 0
    while i < len(parts):
        part = parts[i]
        if isinstance(node, yaml.MappingNode):
            keys = _keys(node)
            if str(part) in keys:
                key, node = keys[str(part)]
                line = key.start_mark.line + 1
                shown.append(str(part))
            elif i + 1 < len(parts) and str(parts[i + 1]) in keys:
                pass  # a tag pydantic adds: skip it
            else:
                shown += [str(p) for p in parts[i:]]
                break
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            node = node.value[part]
            line = node.start_mark.line + 1
            shown.append(str(part))
        else:
            shown += [str(p) for p in parts[i:]]
            break
        i += 1
    return line, shown


def _line_of(node: yaml.Node | None, loc: tuple[int | str, ...]) -> int | None:
    return _walk(node, loc)[0]


def parse_yaml(text: str, source: str) -> tuple[Any, yaml.Node | None]:
    """The data and the node tree (for line numbers); duplicate keys and absurd nesting
    are errors here, before any model sees the data."""
    try:
        node = yaml.compose(text, Loader=_Loader)
        problems = _duplicates(node, source)
        if problems:
            raise ConfigError(problems)
        data = yaml.load(text, Loader=_Loader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f"{source}:{mark.line + 1}" if mark else source
        raise ConfigError([f"{where}: invalid YAML: {exc.problem}"]) from None
    except yaml.YAMLError as exc:
        raise ConfigError([f"{source}: invalid YAML: {exc}"]) from None
    except RecursionError:
        raise ConfigError([f"{source}: nested too deeply to be a configuration"]) from None
    return data, node


def _field_names(model: type[BaseModel]) -> set[str]:
    """Every field name of `model` and of the models inside it (for 'did you mean')."""
    import typing

    seen: set[type[BaseModel]] = set()
    names: set[str] = set()
    todo: list[Any] = [model]
    while todo:
        t = todo.pop()
        if isinstance(t, type) and issubclass(t, BaseModel):
            if t in seen:
                continue
            seen.add(t)
            for name, f in t.model_fields.items():
                names.add(name)
                todo.append(f.annotation)
        else:
            todo.extend(typing.get_args(t))
    return names


def validate(model: type[M], data: Any, node: yaml.Node | None, source: str) -> M:
    try:
        return model.model_validate(data if data is not None else {})
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            loc = tuple(err["loc"])
            line, shown = _walk(node, loc) if node is not None else (None, [str(p) for p in loc])
            field = ".".join(shown) or "(top level)"
            where = f"{source}:{line}" if line else source
            msg = err["msg"].removeprefix("Value error, ")  # pydantic's, not the admin's
            if err["type"] == "extra_forbidden" and loc and isinstance(loc[-1], str):
                from core.suggest import did_you_mean

                msg = f"unknown key{did_you_mean(loc[-1], _field_names(model))}"
            problems.append(f"{where}: {field}: {msg}")
        raise ConfigError(problems) from None


def problems_at(node: yaml.Node | None, source: str,
                problems: Sequence[tuple[tuple[int | str, ...], str]]) -> list[str]:
    """Format (location, message) pairs found after validation as file:line: field: message."""
    out = []
    for loc, msg in problems:
        line = _line_of(node, loc)
        where = f"{source}:{line}" if line else source
        out.append(f"{where}: {'.'.join(str(p) for p in loc)}: {msg}")
    return out


def placeholders(template: str) -> set[str]:
    """The `{names}` a str.format template uses; ValueError when it is malformed or when
    a field has a format spec or conversion (`{interaction:.0}` would cut every name to
    nothing and make different calls share one file)."""
    import string

    names = set()
    for _, name, spec, conversion in string.Formatter().parse(template):
        if name is None:
            continue
        if spec or conversion:
            raise ValueError(f"{{{name}}} must be a plain field: no format spec or conversion "
                             f"({name}:{spec or ''}{'!' + conversion if conversion else ''})")
        if not name.isidentifier():
            raise ValueError(f"{{{name}}} is not a field name")
        names.add(name)
    return names


def load_model(model: type[M], path: Path) -> M:
    data, node = parse_yaml(read_text(path), str(path))
    return validate(model, data, node, str(path))

"""Load YAML into pydantic models with errors that name file, line and field."""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from core.errors import ConfigError

M = TypeVar("M", bound=BaseModel)


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
            keys = {str(k.value): (k, v) for k, v in node.value}
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
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f"{source}:{mark.line + 1}" if mark else source
        raise ConfigError([f"{where}: invalid YAML: {exc.problem}"]) from None
    except yaml.YAMLError as exc:
        raise ConfigError([f"{source}: invalid YAML: {exc}"]) from None
    return data, node


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
            problems.append(f"{where}: {field}: {msg}")
        raise ConfigError(problems) from None


def problems_at(node: yaml.Node | None, source: str,
                problems: list[tuple[tuple[int | str, ...], str]]) -> list[str]:
    """Format (location, message) pairs found after validation as file:line: field: message."""
    out = []
    for loc, msg in problems:
        line = _line_of(node, loc)
        where = f"{source}:{line}" if line else source
        out.append(f"{where}: {'.'.join(str(p) for p in loc)}: {msg}")
    return out


def placeholders(template: str) -> set[str]:
    """The `{names}` a str.format template uses; ValueError when it is malformed."""
    import string

    return {f for _, f, _, _ in string.Formatter().parse(template) if f}


def load_model(model: type[M], path: Path) -> M:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError([f"{path}: cannot read: {exc.strerror}"]) from None
    data, node = parse_yaml(text, str(path))
    return validate(model, data, node, str(path))

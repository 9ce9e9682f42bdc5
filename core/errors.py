"""core's error family."""

from __future__ import annotations


class CoreError(Exception):
    """Base of core/ errors."""


class ConfigError(CoreError):
    """Invalid configuration. `problems` holds one `file:line: field: message` per issue."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("\n".join(problems))

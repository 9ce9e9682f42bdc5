"""Every command and every option says what it is for in --help, and --config is taken
before or after the command."""

from __future__ import annotations

import argparse

from app.cli import build_parser


def _commands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:  # noqa: SLF001 (argparse keeps them only there)
        if isinstance(action, argparse._SubParsersAction):  # noqa: SLF001
            return dict(action.choices)
    return {}


def test_every_command_and_option_has_help() -> None:
    parser = build_parser()
    commands = _commands(parser)
    assert {"run", "demo", "check-config", "report", "passwd", "mqtt-acl", "asterisk-config",
            "recordings", "qa", "leads", "dnc", "dialer", "status", "customers"} <= set(commands)
    missing = []
    for name, command in commands.items():
        for action in command._actions:  # noqa: SLF001
            if action.dest != "help" and not action.help:
                missing.append(f"{name} {'/'.join(action.option_strings) or action.dest}")
    assert not missing, missing


def test_config_is_accepted_anywhere() -> None:
    parser = build_parser()
    before = parser.parse_args(["--config", "/x", "report", "queues"])
    after = parser.parse_args(["report", "queues", "--config", "/x"])
    assert str(before.config) == str(after.config) == "/x"
    assert str(parser.parse_args(["report", "queues"]).config).endswith("config")

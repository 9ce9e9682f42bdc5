"""The phone layer (core/phone.py): codes dialled from desk phones go to the service
that registered them; keys pressed during a call are collected per channel and handed
over once a code is complete."""

from __future__ import annotations

import pytest

from core.events import CallStarted
from core.phone import FeatureCodes, Keypad


def dialled(dnis: str, *, context: str = "centralita-agents", adopted: bool = False) -> CallStarted:
    return CallStarted("c1", "PJSIP/agent1001-00000001", "1001", "", dnis, context, 0.0,
                       adopted=adopted)


def test_dialled_codes_go_to_the_longest_registered_prefix() -> None:
    got: list[tuple[str, str]] = []
    codes = FeatureCodes("centralita-agents")
    codes.on("*2", lambda ev: got.append(("acd", ev.dnis)))
    codes.on("*3", lambda ev: got.append(("recorder", ev.dnis)))
    codes.on("*", lambda ev: got.append(("fallback", ev.dnis)))
    codes.on_number(lambda ev: got.append(("number", ev.dnis)))
    for dnis in ("*21", "*331001", "*99", "1002"):
        codes.started(dialled(dnis))
    codes.started(dialled("*21", context="centralita-in"))  # not a desk phone
    codes.started(dialled("*21", adopted=True))  # found again after a restart: not dialled now
    assert got == [("acd", "*21"), ("recorder", "*331001"), ("fallback", "*99"),
                   ("number", "1002")]
    with pytest.raises(ValueError, match="twice"):
        codes.on("*2", lambda ev: None)


class Clock:
    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


def test_keys_become_codes_for_whoever_registered_them() -> None:
    clock = Clock()
    pad = Keypad(clock, window=5.0)
    got: list[tuple[str, str, str]] = []

    def mine(channel: str, code: str, body: str) -> bool:
        got.append((channel, code, body))
        return True

    pad.on("*7", mine)
    pad.on("*2", mine, terminator="#")
    for key in "1*7":  # a stray key first, then the pause code
        pad.pressed("A", key)
    for key in "*2700#":
        pad.pressed("B", key)
    for key in "*2#":  # nothing between the code and its terminator: not a code
        pad.pressed("C", key)
    assert got == [("A", "*7", ""), ("B", "*2", "700")]


def test_keys_too_far_apart_start_again() -> None:
    clock = Clock()
    pad = Keypad(clock, window=5.0)
    got: list[str] = []
    pad.on("*7", lambda channel, code, body: got.append(channel) is None)
    pad.pressed("A", "*")
    clock.t = 6.0
    pad.pressed("A", "7")  # the * was too long ago
    assert got == []
    pad.pressed("A", "*")
    pad.pressed("A", "7")
    assert got == ["A"]


def test_a_code_that_is_not_the_handlers_concern_stays_collected() -> None:
    pad = Keypad(Clock())
    calls: list[str] = []

    def not_mine(channel: str, code: str, body: str) -> bool:
        calls.append(code)
        return False

    pad.on("*5", not_mine)
    pad.pressed("A", "*")
    pad.pressed("A", "5")
    assert calls == ["*5"]
    with pytest.raises(ValueError):
        pad.on("*55", not_mine)

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from core.errors import ConfigError
from core.schedule import Schedule, is_open
from ivr.machine import luhn_ok
from ivr.model import parse_ivr
from tests.conftest import shipped_ivr

BASE = """\
default_menu: main
nodes:
  main:
    type: menu
    prompts: [hello-world]
    options:
      "1": {queue: support}
    fallback: {hangup: true}
"""


def problems(text: str) -> list[str]:
    with pytest.raises(ConfigError) as info:
        parse_ivr(text, "ivr.yaml")
    return info.value.problems


def test_the_shipped_ivr_is_valid() -> None:
    config = shipped_ivr()
    assert {"hours", "main", "account", "welcome", "closed"} <= set(config.nodes)
    assert config.languages == ["en", "es"]


def test_a_minimal_menu_parses() -> None:
    assert parse_ivr(BASE, "ivr.yaml").nodes["main"].type == "menu"


def test_unknown_node_reference_names_line_and_field() -> None:
    text = BASE.replace("{queue: support}", "billing")
    assert problems(text) == ["ivr.yaml:7: nodes.main.options.1: unknown node 'billing'"]


def test_unreachable_node() -> None:
    text = BASE + """\
  orphan:
    type: menu
    prompts: [hello-world]
    options: {"1": {hangup: true}}
    fallback: {hangup: true}
"""
    assert problems(text) == ["ivr.yaml:9: nodes.orphan: unreachable: no entry point leads here"]


def test_loop_with_no_exit() -> None:
    text = """\
default_menu: a
nodes:
  a:
    type: menu
    prompts: [hello-world]
    options: {"1": b}
    fallback: b
  b:
    type: menu
    prompts: [hello-world]
    options: {"1": a}
    fallback: a
"""
    got = problems(text)
    assert "ivr.yaml:3: nodes.a: loop with no exit" in got[0]
    assert "ivr.yaml:8: nodes.b: loop with no exit" in got[1]


def test_missing_prompt_empty_menu_bad_timezone_bad_patterns() -> None:
    assert "nodes.main.prompts.0: prompt 'custom/nope' (all) is neither declared" in \
        problems(BASE.replace("[hello-world]", "[custom/nope]"))[0]
    got = problems(BASE.replace('options:\n      "1": {queue: support}', "options: {}"))
    assert got == ["ivr.yaml:6: nodes.main.options: Dictionary should have at least 1 item "
                   "after validation, not 0"]
    tz = BASE + "schedules:\n  office: {timezone: Mars/Olympus, weekly: {mon: ['09:00-17:00']}}\n"
    assert "ivr.yaml:10: schedules.office.timezone: unknown time zone" in problems(tz)[0]
    bad_range = tz.replace("Mars/Olympus", "Europe/Madrid").replace("09:00-17:00", "9-5")
    assert "schedules.office.weekly" in problems(bad_range)[0]
    entry = BASE + "entry:\n  - {caller: '([', menu: main}\n"
    assert "ivr.yaml:10: entry.0.caller: bad caller pattern" in problems(entry)[0]


def test_routes_need_exactly_one_kind() -> None:
    got = problems(BASE.replace("{queue: support}", "{queue: a, voicemail: b@c}"))
    assert "exactly one of" in got[0]


def test_prompts_per_language_must_cover_every_language() -> None:
    text = "languages: [en, es]\n" + BASE.replace("[hello-world]", "[{en: hello-world}]")
    assert "(es)" in problems(text)[0]


def test_business_hours_in_the_schedule_time_zone_with_holidays() -> None:
    s = Schedule(timezone="Europe/Madrid", weekly={"mon": ["08:00-20:00"]},
                 holidays=[datetime(2026, 11, 30).date()])
    assert is_open(s, datetime(2026, 11, 23, 7, 30, tzinfo=UTC))  # 08:30 in Madrid
    assert not is_open(s, datetime(2026, 11, 23, 6, 30, tzinfo=UTC))  # 07:30 in Madrid
    assert not is_open(s, datetime(2026, 11, 23, 19, 30, tzinfo=UTC))  # 20:30
    assert not is_open(s, datetime(2026, 11, 24, 10, 0, tzinfo=UTC))  # Tuesday: no hours
    assert not is_open(s, datetime(2026, 11, 30, 10, 0, tzinfo=UTC))  # holiday Monday
    with pytest.raises(ValueError):
        is_open(s, datetime(2026, 11, 23, 10, 0))


def test_luhn() -> None:
    assert luhn_ok("79927398713") and luhn_ok("12345674")
    assert not luhn_ok("79927398710") and not luhn_ok("12345670")

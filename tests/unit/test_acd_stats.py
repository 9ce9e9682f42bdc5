"""Supervisors' queue figures and callback numbers: pure functions."""

from __future__ import annotations

import pytest

from acd.callbacks import callback_number, next_try
from acd.servicelevel import ServiceLevelRule
from acd.stats import Tally, counted, service_level, snapshot


def test_service_level_counts_answers_within_the_threshold_and_ignores_short_abandons() -> None:
    t = Tally()
    for what, wait in [("answered", 5), ("answered", 15), ("answered", 40), ("abandoned", 3),
                       ("abandoned", 60)]:
        t = counted(t, "2026-11-22", what, wait=wait, rule=ServiceLevelRule(20))
    assert (t.answered, t.abandoned, t.within_sl, t.abandoned_within_sl) == (3, 2, 2, 1)
    assert service_level(t) == 50.0  # 2 of (3 answered + 1 abandoned after 20 s)


def test_a_new_day_starts_the_tally_again() -> None:
    t = counted(Tally(), "2026-11-22", "entered")
    t = counted(t, "2026-11-23", "entered")
    assert (t.day, t.entered) == ("2026-11-23", 1)


def test_an_unknown_tally_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown tally"):
        counted(Tally(), "2026-11-22", "lunch")


def test_snapshot_reports_waits_agents_and_asa() -> None:
    t = counted(counted(Tally(), "d", "answered", wait=10), "d", "answered", wait=30)
    snap = snapshot("support", t, now=100.0, waiting=[40.0, 70.0], callbacks_waiting=1,
                    agents=["ready", "on_call", "on_call"], estimated_wait=61.4)
    assert snap.waiting == 2 and snap.longest_wait == 60.0
    assert snap.agents == {"ready": 1, "on_call": 2}
    assert snap.today.asa == 20.0 and snap.today.service_level == 50.0
    assert snap.estimated_wait == 61
    assert snapshot("q", Tally(), now=1.0, waiting=[], callbacks_waiting=0, agents=[],
                    estimated_wait=0).today.service_level is None


@pytest.mark.parametrize(("typed", "caller", "expected"), [
    ("600555123#", "+34911000077", "600555123"),
    ("", "+34911000077", "+34911000077"),
    ("#", "911 000 077", "911000077"),
    ("12", "+34911000077", None),  # keyed, but too short: not silently replaced
    ("", "anonymous", None),
    ("", "", None),
    ("1234567890123456", "", None),
])
def test_the_callback_number_is_what_the_caller_keyed_or_their_caller_id(
        typed: str, caller: str, expected: str | None) -> None:
    assert callback_number(typed, caller) == expected


def test_callbacks_are_retried_until_the_attempts_are_used() -> None:
    assert next_try(1, 3, 300, 1000.0) == 1300.0
    assert next_try(3, 3, 300, 1000.0) is None


@pytest.mark.parametrize(("abandons", "expected"), [
    ("after_threshold", 50.0),   # 2 of (3 answered + 1 abandoned after 20 s)
    ("against", 40.0),           # 2 of (3 + 2)
    ("excluded", 66.7),          # 2 of 3
    ("within_threshold", 60.0),  # (2 + 1) of (3 + 2)
])
def test_each_service_level_rule_counts_abandons_its_own_way(abandons: str, expected: float) -> None:
    from acd.servicelevel import Waits
    from acd.servicelevel import service_level as rate
    rule = ServiceLevelRule(20, abandons, 0)  # type: ignore[arg-type]
    assert rate(Waits(answered=3, answered_within=2, abandoned=2, abandoned_within=1), rule) == expected


def test_short_abandons_are_not_counted_at_all() -> None:
    rule = ServiceLevelRule(20, "against", short_abandon=5)
    t = Tally()
    for what, wait in [("answered", 5), ("abandoned", 4.9), ("abandoned", 5), ("abandoned", 30)]:
        t = counted(t, "d", what, wait=wait, rule=rule)
    assert (t.abandoned, t.short_abandons, t.abandoned_within_sl) == (2, 1, 1)
    assert service_level(t) == 33.3  # 1 of (1 answered + 2 abandoned)

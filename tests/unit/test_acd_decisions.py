"""The ACD's decisions as pure functions: the hold loop's timing, who may join a queue,
estimated waits, and where an agent may send a caller."""

from __future__ import annotations

import math

import pytest

from acd import holdplan
from acd.admission import refusal
from acd.estimates import DEFAULT_HANDLE, estimated_wait
from acd.targets import TransferTo, keyed_target, transfer_target

RULES = holdplan.HoldRules(max_wait=100.0, overflows=True, position_every=45.0,
                           periodic="queue-periodic-announce", periodic_every=60.0,
                           steps=(30.0, 90.0))


def test_the_hold_loop_wakes_for_whatever_is_due_first() -> None:
    due = holdplan.first_due(RULES, now=10.0)
    assert (due.position, due.periodic) == (55.0, 70.0)
    # entered at 0: the 30 s escalation step comes before the position announcement
    assert holdplan.wake_in(RULES, due, entered=0.0, now=10.0) == 20.0
    # past every step: the maximum wait and the announcement, both at 55
    assert holdplan.wake_in(RULES, due, entered=-45.0, now=50.0) == 5.0
    # overdue (the maximum wait passed): at once, but never a busy loop
    assert holdplan.wake_in(RULES, due, entered=-200.0, now=50.0) == 0.1
    quiet = holdplan.HoldRules(None, False, None, None, 90.0, ())
    assert holdplan.wake_in(quiet, holdplan.first_due(quiet, 0.0), entered=0.0, now=0.0) == 30.0
    assert math.isinf(holdplan.first_due(quiet, 0.0).position)


def test_what_the_hold_loop_does_on_waking() -> None:
    assert holdplan.on_wake(RULES, entered=0.0, now=10.0, ringing=True, step_due="x") is None
    assert holdplan.on_wake(RULES, entered=0.0, now=100.0, ringing=False,
                            step_due="queue:b") == holdplan.Overflow("max_wait")
    assert holdplan.on_wake(RULES, entered=0.0, now=95.0, ringing=False,
                            step_due="queue:b") == holdplan.Overflow("waited 95 s", "queue:b")
    assert holdplan.on_wake(RULES, entered=0.0, now=5.0, ringing=False,
                            step_due=None) == holdplan.Dispatch()
    no_overflow = holdplan.HoldRules(100.0, False, None, None, 90.0, ())
    assert holdplan.on_wake(no_overflow, entered=0.0, now=200.0, ringing=False,
                            step_due=None) == holdplan.Dispatch()


def test_announcements_come_round_again() -> None:
    due = holdplan.Due(position=55.0, periodic=70.0)
    assert holdplan.announcements(RULES, due, 54.0) == ([], due)
    wanted, due = holdplan.announcements(RULES, due, 71.0)
    assert wanted == ["position", "periodic"] and due == holdplan.Due(116.0, 131.0)


@pytest.mark.parametrize(("max_length", "join_empty", "waiting", "logged_in", "why"), [
    (None, True, 50, 0, None),
    (2, True, 3, 1, "full"),
    (2, True, 2, 1, None),  # the new caller is the second: room for two
    (None, False, 1, 0, "no_agents"),
    (None, False, 1, 1, None),
])
def test_who_may_join_a_queue(max_length: int | None, join_empty: bool, waiting: int,
                              logged_in: int, why: str | None) -> None:
    assert refusal(max_length=max_length, join_empty=join_empty, waiting=waiting,
                   logged_in=logged_in) == why


def test_estimated_wait_learns_from_recent_calls() -> None:
    assert estimated_wait(1, [], 1) == DEFAULT_HANDLE
    assert estimated_wait(3, [100.0, 200.0], 2) == 225.0
    assert estimated_wait(2, [60.0], 0) == 120.0  # nobody on duty: as if one were


def target(t: str) -> TransferTo | str:
    states = {"1002": "ready", "1003": "on_call"}
    return transfer_target(t, me="1001", queues={"billing"}, agents={"1001", "1002", "1003"},
                           ivr_nodes={"main"}, state_of=states.__getitem__)


def test_transfer_targets_are_checked_before_anything_moves() -> None:
    assert target("queue:billing") == TransferTo("queue", "billing")
    assert target("agent:1002").label == "agent:1002"  # type: ignore[union-attr]
    assert target("ivr:main") == TransferTo("ivr", "main")
    assert target("external:+34 600-12-34-56") == \
        "external number '+34 600-12-34-56' is not a phone number"
    assert target("external:600123456") == TransferTo("external", "600123456")
    assert target("queue:nowhere") == "unknown queue 'nowhere'"
    assert target("agent:1001") == "cannot transfer a call to yourself"
    assert target("agent:1003") == "agent 1003 is not free (on_call)"
    assert target("agent:9") == "unknown agent '9'"
    assert target("ivr:x") == "unknown IVR node 'x'"
    assert str(target("voicemail:1")).startswith("unknown transfer target")


def test_a_keyed_extension_is_a_queue_or_a_colleague() -> None:
    agents = {"2001": "1002"}
    assert keyed_target("700", queue_extensions={"700": "sales"}, agent_of=agents.get) == "queue:sales"
    assert keyed_target("2001", queue_extensions={}, agent_of=agents.get) == "agent:1002"
    assert keyed_target("55", queue_extensions={}, agent_of=agents.get) == "ext:55"

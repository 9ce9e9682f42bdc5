"""The ACD's routing decisions (pure: time passed in)."""

from __future__ import annotations

import pytest

from acd.erlang import erlang_b, erlang_c
from acd.routing import Offer, Overflow, QueueRules, Router, Step


def router(*queues: QueueRules) -> Router:
    return Router(queues or (QueueRules("support", skills={"support": 1}),))


def test_longest_idle_agent_gets_the_call() -> None:
    r = router()
    for name, t in (("a", 30.0), ("b", 10.0), ("c", 20.0)):
        r.add_agent(name, {"support": 5}, {"support": 0})
        r.set_ready(name, t)
    r.add_call("c1", "support", entered=40.0)
    assert r.next_for_call("c1", 40.0) == Offer("c1", ("b",))
    r.add_call("c2", "support", entered=41.0)
    assert r.next_for_call("c2", 41.0) == Offer("c2", ("c",))


def test_an_agent_is_never_offered_two_calls_nor_a_call_two_agents() -> None:
    r = router()
    r.add_agent("a", {"support": 5}, {"support": 0})
    r.set_ready("a", 0.0)
    r.add_call("c1", "support", entered=1.0)
    r.add_call("c2", "support", entered=2.0)
    assert r.next_for_call("c1", 2.0) == Offer("c1", ("a",))
    assert r.next_for_call("c2", 2.0) is None  # a is ringing
    assert r.next_for_call("c1", 2.0) is None  # c1 is already ringing
    r.remove_call("c1")
    r.set_ready("a", 60.0)
    assert r.next_for_agent("a", 60.0) == Offer("c2", ("a",))


def test_skills_with_levels_and_escalation_over_time() -> None:
    r = router(QueueRules("billing", skills={"billing": 7},
                          steps=(Step(30, min_level=3), Step(60, min_level=1))))
    r.add_agent("junior", {"billing": 2}, {"billing": 0})
    r.add_agent("mid", {"billing": 4}, {"billing": 0})
    r.set_ready("junior", 0.0)
    r.set_ready("mid", 0.0)
    r.add_call("c1", "billing", entered=0.0)
    assert r.next_for_call("c1", 10.0) is None  # nobody has level 7
    assert r.next_for_call("c1", 30.0) == Offer("c1", ("mid",))  # level 3 is enough now
    r.add_call("c2", "billing", entered=0.0)
    assert r.next_for_call("c2", 45.0) is None  # junior is level 2 < 3
    assert r.next_for_call("c2", 60.0) == Offer("c2", ("junior",))


def test_priority_then_age_across_all_of_an_agents_queues() -> None:
    r = router(QueueRules("sales"), QueueRules("support"), QueueRules("vip", priority=50))
    r.add_agent("a", {}, {"sales": 0, "support": 0, "vip": 0})
    r.add_call("old", "sales", entered=0.0)
    r.add_call("newer", "support", entered=5.0)
    r.add_call("vip", "vip", entered=9.0)
    r.set_ready("a", 10.0)
    assert r.next_for_agent("a", 10.0) == Offer("vip", ("a",))
    r.set_ready("a", 20.0)
    assert r.next_for_agent("a", 20.0) == Offer("old", ("a",))
    r.reprioritise("newer", 10)
    r.add_call("older", "sales", entered=1.0)
    r.set_ready("a", 30.0)
    assert r.next_for_agent("a", 30.0) == Offer("newer", ("a",))


def test_penalty_prefers_primary_agents() -> None:
    r = router(QueueRules("support"))
    r.add_agent("backup", {}, {"support": 5})
    r.add_agent("primary", {}, {"support": 0})
    r.set_ready("backup", 0.0)
    r.set_ready("primary", 50.0)
    r.add_call("c", "support", entered=60.0)
    assert r.next_for_call("c", 60.0) == Offer("c", ("primary",))


@pytest.mark.parametrize(("strategy", "winner"), [
    ("least_calls", "b"), ("least_talk", "c"), ("skill_level", "c"), ("longest_idle", "a")])
def test_strategies(strategy: str, winner: str) -> None:
    r = router(QueueRules("q", strategy=strategy, skills={"s": 1}))
    r.add_agent("a", {"s": 1}, {"q": 0})
    r.add_agent("b", {"s": 3}, {"q": 0})
    r.add_agent("c", {"s": 9}, {"q": 0})
    r.record_call("a", 100)
    r.record_call("a", 100)
    r.record_call("b", 500)
    r.record_call("c", 50)
    r.record_call("c", 50)
    r.record_call("c", 50)
    for name, t in (("a", 1.0), ("b", 2.0), ("c", 3.0)):
        r.set_ready(name, t)
    r.add_call("x", "q", entered=5.0)
    offer = r.next_for_call("x", 5.0)
    assert offer is not None and offer.agent_ids == (winner,)


def test_ring_all_rings_every_qualified_ready_agent() -> None:
    r = router(QueueRules("q", strategy="ring_all", skills={"s": 2}))
    for name, level in (("a", 1), ("b", 2), ("c", 3)):
        r.add_agent(name, {"s": level}, {"q": 0})
        r.set_ready(name, 0.0)
    r.add_call("x", "q", entered=1.0)
    offer = r.next_for_call("x", 1.0)
    assert offer is not None and set(offer.agent_ids) == {"b", "c"}


def test_round_robin_takes_turns() -> None:
    r = router(QueueRules("q", strategy="round_robin"))
    for name in "abc":
        r.add_agent(name, {}, {"q": 0})
        r.set_ready(name, 0.0)
    got = []
    for i in range(6):
        r.add_call(f"x{i}", "q", entered=float(i))
        offer = r.next_for_call(f"x{i}", float(i))
        assert offer is not None
        got.append(offer.agent_ids[0])
        r.remove_call(f"x{i}")
        r.set_ready(offer.agent_ids[0], float(i))
    assert got[:3] == sorted(got[:3]) and got[3:] == got[:3]


def test_ring_no_answer_puts_the_call_back_in_its_place() -> None:
    r = router()
    r.add_agent("a", {"support": 1}, {"support": 0})
    r.add_agent("b", {"support": 1}, {"support": 0})
    r.add_call("first", "support", entered=0.0)
    r.add_call("second", "support", entered=5.0)
    r.set_ready("a", 6.0)
    assert r.next_for_agent("a", 6.0) == Offer("first", ("a",))
    assert r.waiting("support") == 1  # the one ringing is not waiting
    r.return_call("first")  # a did not answer
    assert r.waiting("support") == 2
    r.set_ready("b", 20.0)
    assert r.next_for_agent("b", 20.0) == Offer("first", ("b",))
    assert r.position("second") == 1


def test_overflow_steps_and_moving_queues_keeps_the_wait() -> None:
    r = router(QueueRules("sales", steps=(Step(120, overflow="support"),)), QueueRules("support"))
    r.add_call("c", "sales", entered=0.0)
    assert r.due_overflows(100.0) == []
    assert r.due_overflows(120.0) == [Overflow("c", "support")]
    r.calls["c"].needs["sales"] = 3
    r.move_call("c", "support")
    assert r.calls["c"].needs == {}  # now it needs what support needs
    r.add_agent("a", {}, {"support": 0})
    r.set_ready("a", 121.0)
    assert r.next_for_agent("a", 121.0) == Offer("c", ("a",))
    assert r.calls["c"].entered == 0.0


def test_unknown_queue_for_an_agent_is_refused() -> None:
    with pytest.raises(KeyError, match="unknown queue"):
        router().add_agent("a", {}, {"nope": 0})


def test_erlang_matches_the_reference_numbers() -> None:
    # 360 calls per 30 min, AHT 240 s: 48 E; ../shared/REFERENCE-NUMBERS.md
    for agents, p_wait, asa, sl in ((53, 0.3765, 18.07, 0.725), (54, 0.3013, 12.05, 0.793),
                                    (55, 0.2387, 8.18, 0.846)):
        e = erlang_c(agents, 48.0, 240.0, 15.0)
        assert e.p_wait == pytest.approx(p_wait, abs=5e-4)
        assert e.asa == pytest.approx(asa, abs=0.01)
        assert e.service_level == pytest.approx(sl, abs=5e-4)
    assert erlang_b(10, 5.0) == pytest.approx(0.01838, abs=1e-4)
    with pytest.raises(ValueError):
        erlang_c(48, 48.0, 240.0, 15.0)

"""The agent state machine (core/agentstate.py): every input, what it leads to, what it
refuses; and the pool that applies it for the ACD and the dialer (core/pool.py)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from core.agentstate import (
    ACCEPTS,
    STATES,
    AgentStatus,
    Connect,
    ExtendWrapup,
    FinishCall,
    LogIn,
    LogOut,
    MakeReady,
    Pause,
    Refused,
    Release,
    Reserve,
    Restore,
    RingUnanswered,
    apply,
)
from core.blend import INBOUND, OUTBOUND, BlendRule, Ledger, claim_order
from core.people import Agent, Directory
from core.pool import AgentChanged, AgentPool


def at(state: str, **kw: object) -> AgentStatus:
    return AgentStatus(state, **kw)  # type: ignore[arg-type]


def test_a_day_at_the_desk() -> None:
    s = apply(AgentStatus(), LogIn(), 1.0)
    assert (s.state, s.since) == ("ready", 1.0)
    s = apply(s, Reserve("c1"), 2.0)
    assert (s.state, s.call_id, s.owner) == ("reserved", "c1", "acd")
    s = apply(s, Connect("c1"), 3.0)
    assert (s.state, s.call_id) == ("on_call", "c1")
    s = apply(s, FinishCall("c1"), 9.0)
    assert (s.state, s.call_id, s.owner) == ("wrapup", "c1", "acd")
    s = apply(s, ExtendWrapup(), 10.0)
    assert s.wrapup_extended and s.since == 9.0  # the same wrap-up, longer
    with pytest.raises(Refused, match="extended once"):
        apply(s, ExtendWrapup(), 11.0)
    s = apply(s, MakeReady(), 12.0)
    assert (s.state, s.call_id, s.wrapup_extended) == ("ready", None, False)
    s = apply(s, Pause("lunch"), 13.0)
    assert (s.state, s.reason) == ("paused", "lunch")
    assert apply(s, LogOut(), 14.0).state == "logged_out"


def test_misses_pause_an_agent_after_the_limit_and_a_call_clears_them() -> None:
    s = apply(at("reserved", call_id="c1"), RingUnanswered(2), 1.0)
    assert (s.state, s.misses) == ("ready", 1)
    s = apply(apply(s, Reserve("c2"), 2.0), RingUnanswered(2), 3.0)
    assert (s.state, s.reason, s.misses) == ("paused", "no_answer", 2)
    s = apply(apply(apply(s, MakeReady(), 4.0), Reserve("c3"), 5.0), Connect("c3"), 6.0)
    assert s.misses == 0


def test_a_release_is_not_the_agents_miss() -> None:
    s = apply(at("reserved", call_id="c1", misses=1), Release(), 1.0)
    assert (s.state, s.misses, s.call_id) == ("ready", 1, None)


@pytest.mark.parametrize("state", STATES)
def test_every_state_refuses_what_it_does_not_accept(state: str) -> None:
    inputs = [LogIn(), LogOut(), Pause("break"), MakeReady(), Reserve("c"), RingUnanswered(3),
              Release(), Connect("c"), FinishCall("c"), ExtendWrapup(), Restore("c")]
    for what in inputs:
        if isinstance(what, ACCEPTS[state]):  # type: ignore[index]
            apply(at(state), what, 1.0)
        else:
            with pytest.raises(Refused, match="cannot"):
                apply(at(state), what, 1.0)


def test_a_pause_needs_a_known_reason() -> None:
    with pytest.raises(Refused, match="pause reason must be one of"):
        apply(at("ready"), Pause("nap"), 1.0)


def test_restore_puts_a_logged_out_agent_back_on_their_call() -> None:
    s = apply(AgentStatus(), Restore("c9", "acd"), 5.0)
    assert (s.state, s.call_id) == ("on_call", "c9")


# --- the pool -----------------------------------------------------------------------------

AGENTS = [Agent(id="a1", device="PJSIP/a1", skills={"sales": 5}, queues={"q": 0}),
          Agent(id="a2", device="PJSIP/a2", skills={"sales": 2}),
          Agent(id="a3", device="PJSIP/a3")]


def pool(**kw: object) -> AgentPool:
    now = [0.0]

    def clock() -> float:
        now[0] += 1.0
        return now[0]

    return AgentPool(Directory(AGENTS), clock, **kw)  # type: ignore[arg-type]


def test_listeners_hear_every_change_and_refusals_change_nothing() -> None:
    p = pool()
    heard: list[AgentChanged] = []
    p.listen(heard.append)
    p.apply("a1", LogIn(), why="login")
    assert [(c.agent_id, c.before.state, c.after.state, c.why) for c in heard] == [
        ("a1", "logged_out", "ready", "login")]
    with pytest.raises(Refused):
        p.apply("a1", FinishCall("x"))
    assert p.state("a1") == "ready" and len(heard) == 1
    assert p.try_apply("a1", FinishCall("x")) is None


def test_a_free_agent_is_offered_to_the_sides_in_blending_order() -> None:
    p = pool(campaigns={"a1": frozenset({"c"})}, blend={"a1": BlendRule(outbound_share=0.5)})
    asked: list[str] = []

    def side(name: str, take: bool) -> Callable[[str], bool]:
        def claim(agent: str) -> bool:
            asked.append(name)
            return take and p.reserve(agent, f"{name}-call", name)
        return claim

    p.claimant(INBOUND, side(INBOUND, False))
    p.claimant(OUTBOUND, side(OUTBOUND, True))
    p.apply("a1", LogIn())
    assert asked == [OUTBOUND]  # no outbound time yet: below its share, the dialer first
    assert (p.state("a1"), p.status("a1").owner) == ("reserved", OUTBOUND)


def test_free_agents_by_campaign_and_skills() -> None:
    p = pool(campaigns={"a2": frozenset({"c"}), "a3": frozenset({"c"})})
    for a in ("a1", "a2", "a3"):
        p.apply(a, LogIn())
    assert p.free() == ["a1", "a2", "a3"]
    assert p.free(campaign="c") == ["a2", "a3"]
    assert p.free(skills={"sales": 3}) == ["a1"]
    assert p.count("ready") == 3


def test_release_only_for_the_call_the_agent_is_on() -> None:
    p = pool()
    p.apply("a1", LogIn())
    assert p.reserve("a1", "c1", "acd")
    assert not p.release("a1", "c2") and p.state("a1") == "reserved"
    assert p.release("a1", "c1") and p.state("a1") == "ready"


def test_blending_order() -> None:
    both = (INBOUND, OUTBOUND)
    assert claim_order(both, None, Ledger()) == both
    assert claim_order(both, BlendRule(None), Ledger(outbound=5)) == both
    share = BlendRule(outbound_share=0.3)
    assert claim_order(both, share, Ledger(inbound=80, outbound=20)) == (OUTBOUND, INBOUND)
    assert claim_order(both, share, Ledger(inbound=60, outbound=40)) == (INBOUND, OUTBOUND)
    assert claim_order((INBOUND,), share, Ledger()) == (INBOUND,)


def test_the_ledger_follows_the_last_hour() -> None:
    led = Ledger().add(INBOUND, 3000).add(OUTBOUND, 1200)
    assert led.inbound + led.outbound == pytest.approx(3600)
    assert led.outbound / 3600 == pytest.approx(1200 / 4200)

"""Consultations on the simulated PBX: the caller on hold while the agent talks to a
colleague, then complete, cancel or conference."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from sim.endpoints import Endpoint
from sim.pbx import Channel
from tests.conftest import until
from tests.integration.conftest import TIER_QUEUES as QUEUES
from tests.integration.conftest import Rig

AGENTS = """\
skills: [support]
agents:
  - {id: "1001", device: PJSIP/agent1001, extension: "1001", skills: {support: 5},
     queues: {support: 0}, login: true}
  - {id: "2001", device: PJSIP/agent2001, extension: "2001", queues: {tier2: 0}, login: true}
"""
PHONES = {"agent1001": Endpoint(answer_after=0.5, talk_time=None),
          "agent2001": Endpoint(answer_after=0.5, talk_time=None)}


async def on_hold_with_2001(rig: Rig) -> tuple[Channel, str]:
    ch = rig.call(patience=120)
    await until(lambda: rig.state("1001") == "on_call", 10, "the caller with 1001")
    call_id = rig.status("1001").call_id
    assert call_id is not None
    assert rig.send("1001", "consult", target="2001") is None
    await until(lambda: rig.state("2001") == "on_call", 15, "1001 talking to 2001")
    assert ch.bridge is None and ch.moh == "default"  # the caller hears music meanwhile
    [redirect] = [m for m in rig.server.received if m.get("Action") == "Redirect"]
    assert (redirect.get("Channel"), redirect.get("Exten"), redirect.get("ExtraExten")) == (
        ch.name, "hold", "consult")
    return ch, call_id


def legs(ch: Channel) -> set[str]:
    assert ch.bridge is not None
    return {c.name.split("-")[0] for c in ch.bridge.channels if c is not ch}


async def test_a_consultation_completed_leaves_the_caller_with_the_colleague(
        acd: Callable[..., Awaitable[Rig]]) -> None:
    rig = await acd(PHONES, queues=QUEUES, agents=AGENTS)
    assert rig.send("1001", "consult", target="2001") == "not on a call"
    assert rig.send("1001", "consult_complete") == "no consultation under way"
    ch, call_id = await on_hold_with_2001(rig)
    assert rig.send("1001", "consult", target="2001") == \
        "this call is already being transferred or consulted"
    assert rig.send("1001", "consult_complete") is None
    await until(lambda: ch.bridge is not None and legs(ch) == {"PJSIP/agent2001"}, 10,
                "the caller with 2001")
    await until(lambda: rig.state("1001") in ("wrapup", "ready"), 10, "1001 done")
    assert rig.state("2001") == "on_call"
    rig.pbx.request_hangup(ch)
    await until(lambda: rig.state("2001") in ("wrapup", "ready"), 10, "2001 done")
    row = await rig.interaction(ch)
    assert (row.id, row.agent, row.outcome) == (call_id, "2001", "answered")


async def test_a_consultation_cancelled_returns_to_the_caller(
        acd: Callable[..., Awaitable[Rig]]) -> None:
    rig = await acd(PHONES, queues=QUEUES, agents=AGENTS)
    ch, _ = await on_hold_with_2001(rig)
    assert rig.send("1001", "consult_cancel") is None
    await until(lambda: ch.bridge is not None and legs(ch) == {"PJSIP/agent1001"}, 10,
                "the caller back with 1001")
    await until(lambda: rig.state("2001") == "ready", 10, "2001 free again")
    assert rig.state("1001") == "on_call"


async def test_a_three_way_conference_then_the_caller_hangs_up(
        acd: Callable[..., Awaitable[Rig]]) -> None:
    rig = await acd(PHONES, queues=QUEUES, agents=AGENTS)
    ch, _ = await on_hold_with_2001(rig)
    assert rig.send("1001", "conference") is None
    await until(lambda: ch.bridge is not None and legs(ch) == {"PJSIP/agent1001",
                                                               "PJSIP/agent2001"}, 10,
                "all three in one bridge")
    rig.pbx.request_hangup(ch)
    await until(lambda: not any(c.name.startswith("PJSIP/agent") for c in rig.pbx.channels.values()),
                10, "the agents' legs hung up with the caller")
    await until(lambda: rig.state("2001") == "ready", 10, "2001 free")
    assert rig.state("1001") in ("wrapup", "ready")


async def test_a_busy_or_unknown_colleague_cannot_be_consulted(
        acd: Callable[..., Awaitable[Rig]]) -> None:
    rig = await acd(PHONES, queues=QUEUES, agents=AGENTS)
    assert rig.send("2001", "pause", reason="break") is None
    rig.call(patience=60)
    await until(lambda: rig.state("1001") == "on_call", 10, "the caller with 1001")
    assert rig.send("1001", "consult", target="2001") == "agent 2001 is not free (paused)"
    assert rig.send("1001", "consult", target="7777") == "unknown agent '7777'"
    assert rig.send("1001", "consult", target="1001") == "cannot consult yourself"
    assert not [m for m in rig.server.received if m.get("Action") == "Redirect"]


async def test_the_agent_consults_and_completes_from_their_keypad(
        acd: Callable[..., Awaitable[Rig]]) -> None:
    import asyncio

    rig = await acd(PHONES, queues=QUEUES, agents=AGENTS)
    ch = rig.call(patience=120)
    await until(lambda: rig.state("1001") == "on_call", 10, "the caller with 1001")
    leg = next(c for c in ch.bridge.channels if c is not ch)  # type: ignore[union-attr]

    async def press(keys: str) -> None:
        for k in keys:
            rig.pbx.send_dtmf(leg, k)
            await asyncio.sleep(0.05)

    await press("*42001#")
    await until(lambda: rig.state("2001") == "on_call", 15, "1001 talking to 2001")
    await press("*5")
    await until(lambda: ch.bridge is not None and legs(ch) == {"PJSIP/agent2001"}, 10,
                "the caller with 2001")
    assert len([m for m in rig.server.received if m.get("Action") == "Redirect"]) == 1

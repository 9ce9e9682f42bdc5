"""Agent-to-agent calls from desk phones on the simulated PBX: a free colleague, a busy
one (each treatment), a queue's extension, an unknown number; presence on MQTT."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable

from sim.endpoints import Endpoint
from sim.pbx import Channel
from tests.conftest import until
from tests.integration.conftest import AGENTS, QUEUES, Rig, Subscriber

EXT_QUEUES = QUEUES.replace("  support:\n", "  support:\n    extension: \"700\"\n")


def dial(rig: Rig, number: str, from_ext: str = "1001") -> Channel:
    return rig.pbx.incoming_call(trunk=f"agent{from_ext}", context="centralita-agents",
                                 dnis=number, caller_num=from_ext,
                                 endpoint=Endpoint(talk_time=None))


def commands(rig: Rig, ch: Channel) -> list[str]:
    return [m.get("Command") for m in rig.server.received
            if m.get("Action") == "AGI" and m.get("Channel") == ch.name]


async def test_an_agent_calls_a_free_colleague_and_both_are_busy_while_they_talk(
        acd: Callable[..., Awaitable[Rig]], mqtt_url: str) -> None:
    prefix = f"int{uuid.uuid4().hex[:6]}/"
    async with Subscriber(mqtt_url, prefix) as sub:
        rig = await acd({"agent1002": Endpoint(answer_after=0.5, talk_time=None)}, prefix)
        phone = dial(rig, "1002")
        await until(lambda: phone.bridge is not None, 10, "the colleagues bridged")
        await until(lambda: rig.state("1002") == "on_call", 5, "1002 busy")
        assert rig.state("1001") == "on_call"  # no queue call while on the phone
        [ring] = [m for m in rig.server.received if m.get("Action") == "Originate"]
        assert ring.get("Channel") == "PJSIP/agent1002" and ring.get("CallerID") == "1001 <1001>"
        await until(lambda: any(t == f"{prefix}agents/1002/presence" and p["presence"] == "busy"
                                for t, p in sub.messages), 10, "1002's presence: busy")
        rig.pbx.request_hangup(phone)
        await until(lambda: rig.state("1001") == rig.state("1002") == "ready",
                    10, "both free again")
        await until(lambda: [p["presence"] for t, p in sub.messages
                             if t == f"{prefix}agents/1002/presence"][-1:] == ["free"], 10,
                    "1002's presence: free")
    row = await rig.interaction(phone)
    assert (row.kind, row.agent, row.outcome, row.dnis) == ("internal", "1002", "answered", "1002")
    assert "wrapup" not in await rig.states("1002")  # no after-call work for a colleague's call


async def test_a_paused_colleague_gets_the_try_later_treatment(
        acd: Callable[..., Awaitable[Rig]]) -> None:
    rig = await acd({})
    assert rig.send("1002", "pause", reason="lunch") is None
    phone = dial(rig, "1002")
    await until(lambda: phone.gone, 15, "the caller told to try later")
    assert commands(rig, phone)[-2:] == ["EXEC Playback please-try-call-later", "HANGUP"]
    assert not [m for m in rig.server.received if m.get("Action") == "Originate"]
    row = await rig.interaction(phone)
    assert row.outcome == "agent_unavailable" and row.data["internal"]["why"] == "paused lunch"
    assert rig.state("1001") == "ready"


async def test_a_colleague_who_does_not_answer_sends_the_caller_to_voicemail(
        acd: Callable[..., Awaitable[Rig]]) -> None:
    queues = QUEUES + "internal: {busy: voicemail, ring_timeout: 2}\n"
    rig = await acd({"agent1002": Endpoint(ring="noanswer")}, queues=queues)
    phone = dial(rig, "1002")
    await until(lambda: phone.gone, 20, "voicemail")
    assert "EXEC VoiceMail 1002@default,b" in commands(rig, phone)
    assert rig.state("1002") == "ready" and rig.status("1002").misses == 0


async def test_dialling_a_queue_extension_queues_the_agent_like_a_caller(
        acd: Callable[..., Awaitable[Rig]]) -> None:
    agents = AGENTS.replace('login: true, max_no_answer: 2}\n  - {id: "1002"',
                            'login: false, max_no_answer: 2}\n  - {id: "1002"')
    rig = await acd({"agent1002": Endpoint(answer_after=0.5, talk_time=None)},
                    queues=EXT_QUEUES, agents=agents)
    phone = dial(rig, "700")
    await until(lambda: phone.bridge is not None, 10, "the agent's call answered by 1002")
    row = await rig.interaction(phone)
    assert (row.kind, row.queue, row.agent) == ("internal", "support", "1002")


async def test_an_unknown_extension_is_not_in_service(acd: Callable[..., Awaitable[Rig]]) -> None:
    rig = await acd({})
    phone = dial(rig, "4321")
    await until(lambda: phone.gone, 15, "the caller told the number is not in service")
    assert "EXEC Playback ss-noservice" in commands(rig, phone)

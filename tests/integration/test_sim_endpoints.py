"""Scriptable endpoints of the simulated PBX: agent phones, customers, callers."""

from __future__ import annotations

import asyncio

import pytest

from asterisk.client import AmiClient, AmiUrl
from asterisk.errors import AgiChannelGone
from asterisk.events import AmiEvent, DTMFEnd, Hangup
from sim.endpoints import agent_phone, caller, customer
from sim.pbx import Pbx
from sim.server import AmiServer

Sim = tuple[Pbx, AmiServer]


async def client(server: AmiServer, events: list[AmiEvent]) -> AmiClient:
    c = AmiClient(AmiUrl("127.0.0.1", server.port, "centralita", "centralita-secret"),
                  on_event=events.append)
    await c.connect(ready=True)
    return c


@pytest.mark.parametrize(("endpoint", "success", "reason"), [
    (agent_phone(answer_after=1.0), True, 4),
    (agent_phone(ring="noanswer"), False, 3),
    (customer("busy"), False, 5),
    (agent_phone(ring="unavailable"), False, 8),
])
async def test_originate_to_an_endpoint_reports_what_the_phone_did(
        sim: Sim, endpoint: object, success: bool, reason: int) -> None:
    pbx, server = sim
    pbx.endpoints["agent1001"] = endpoint  # type: ignore[assignment]
    events: list[AmiEvent] = []
    c = await client(server, events)
    outcome = await c.originate({"Channel": "PJSIP/agent1001", "Context": "centralita-legs",
                                 "Exten": "100", "Priority": "1", "Timeout": "5000",
                                 "ChannelId": "leg-0001"})
    response = await asyncio.wait_for(outcome, 5)
    assert (response.success, response.reason) == (success, reason)
    if success:
        assert response.uniqueid == "leg-0001"  # the engine named the leg before it existed
        assert response.channel.startswith("PJSIP/agent1001-")
    await c.close()


async def test_unknown_endpoint_fails_at_once(sim: Sim) -> None:
    _, server = sim
    c = await client(server, [])
    outcome = await c.originate({"Channel": "PJSIP/nobody", "Context": "centralita-legs",
                                 "Exten": "100"})
    response = await asyncio.wait_for(outcome, 2)
    assert (response.success, response.reason, response.uniqueid) == (False, 0, "<unknown>")
    await c.close()


async def test_an_agent_phone_hangs_up_after_its_talk_time(sim: Sim) -> None:
    pbx, server = sim
    pbx.endpoints["agent1002"] = agent_phone(answer_after=0.5, talk_time=2.0)
    events: list[AmiEvent] = []
    c = await client(server, events)
    outcome = await c.originate({"Channel": "PJSIP/agent1002", "Application": "Wait",
                                 "Data": "60"})
    response = await asyncio.wait_for(outcome, 5)
    loop = asyncio.get_running_loop()
    t0 = loop.time()
    while not any(isinstance(e, Hangup) and e.channel == response.channel for e in events):
        assert loop.time() - t0 < 5
        await asyncio.sleep(0.02)
    assert 0.15 <= loop.time() - t0 <= 1.0  # 2 s of talk at 10x
    await c.close()


async def test_a_caller_presses_digits_then_gives_up_after_its_patience(sim: Sim) -> None:
    pbx, server = sim
    events: list[AmiEvent] = []
    c = await client(server, events)
    ch = pbx.incoming_call(trunk="trunk", context="centralita-in", dnis="100", caller_num="555",
                           endpoint=caller(((1.0, "1"), (0.5, "#")), patience=3.0))
    loop = asyncio.get_running_loop()
    t0 = loop.time()
    while not any(isinstance(e, Hangup) and e.channel == ch.name for e in events):
        assert loop.time() - t0 < 5  # the events reach this client a moment after the sim
        await asyncio.sleep(0.02)
    digits = [e.digit for e in events if isinstance(e, DTMFEnd) and e.channel == ch.name]
    assert digits == ["1", "#"]
    hangup = next(e for e in events if isinstance(e, Hangup) and e.channel == ch.name)
    assert hangup.cause == 16
    await c.close()


async def test_dial_from_asyncagi_bridges_to_an_answering_endpoint(sim: Sim) -> None:
    pbx, server = sim
    pbx.endpoints["agent1003"] = agent_phone(answer_after=0.5, talk_time=1.0)
    events: list[AmiEvent] = []
    c = await client(server, events)
    ch = pbx.incoming_call(trunk="trunk", context="centralita-in", dnis="100", caller_num="555",
                           endpoint=caller(patience=60))
    while ch.agi_queue is None:
        await asyncio.sleep(0.01)
    await c.agi(ch.name, "ANSWER")
    result = await c.agi(ch.name, "EXEC Dial PJSIP/agent1003,10")
    assert result.value == -1  # as recorded: Dial returns -1 when the callee hung up
    names = [e.name for e in events]
    for expected in ("DialBegin", "DialEnd", "BridgeCreate", "BridgeEnter", "BridgeLeave",
                     "BridgeDestroy"):
        assert expected in names
    assert (await c.agi(ch.name, "GET VARIABLE DIALSTATUS")).data == "ANSWER"
    await c.close()


# Facts observed on a real Asterisk 20.20.1 (tests/asterisk probes), mirrored by the sim.

async def _parked(pbx: Pbx, c: AmiClient, **kw: object) -> str:
    ch = pbx.incoming_call(trunk="trunk", context="centralita-in", dnis="100", caller_num="555",
                           endpoint=caller(patience=60, **kw))  # type: ignore[arg-type]
    while ch.agi_queue is None:
        await asyncio.sleep(0.01)
    await c.agi(ch.name, "ANSWER")
    return ch.name


async def test_stream_file_of_a_missing_prompt_ends_the_agi_session(sim: Sim) -> None:
    pbx, server = sim
    events: list[AmiEvent] = []
    c = await client(server, events)
    name = await _parked(pbx, c)
    result = await c.agi(name, 'STREAM FILE no-such-prompt ""')
    assert (result.value, result.endpos) == (-1, 0)
    await asyncio.sleep(0.1)
    assert "AsyncAGIEnd" in [e.name for e in events if e.message.get("Channel") == name]
    assert pbx.find(name) is None  # the dialplan went on to Hangup()
    await c.close()


async def test_get_data_of_a_missing_prompt_fails_and_the_session_goes_on(sim: Sim) -> None:
    pbx, server = sim
    c = await client(server, [])
    name = await _parked(pbx, c)
    assert (await c.agi(name, "GET DATA no-such-prompt 1000 4")).value == -1
    assert (await c.agi(name, "EXEC NoSuchApp foo")).value == -2
    assert (await c.agi(name, "SPEECH CREATE lumenvox")).value == 0  # no speech engine
    assert (await c.agi(name, "GET DATA beep 300 4")).timed_out
    await c.close()


async def test_digits_between_commands_and_beyond_max_digits_are_lost(sim: Sim) -> None:
    pbx, server = sim
    c = await client(server, [])
    name = await _parked(pbx, c)
    ch = pbx.find(name)
    assert ch is not None
    pbx.send_dtmf(ch, "5")  # nothing is reading: lost
    assert (await c.agi(name, "WAIT FOR DIGIT 300")).value == 0

    async def press(digits: str) -> None:
        await asyncio.sleep(0.02)
        for d in digits:
            pbx.send_dtmf(ch, d)

    task = asyncio.ensure_future(press("123456"))
    assert (await c.agi(name, "GET DATA beep 3000 3")).result == "123"
    await task
    assert (await c.agi(name, "WAIT FOR DIGIT 300")).value == 0  # 456 were dropped
    await c.close()


async def test_the_bridge_action_freezes_a_running_agi_command_as_asterisk_does(sim: Sim) -> None:
    pbx, server = sim
    pbx.endpoints["agent1004"] = agent_phone(answer_after=0.2)
    events: list[AmiEvent] = []
    c = await client(server, events)
    name = await _parked(pbx, c)
    waiting = asyncio.ensure_future(c.agi(name, "WAIT FOR DIGIT 60000"))
    outcome = await c.originate({"Channel": "PJSIP/agent1004", "Context": "centralita-legs",
                                 "Exten": "100", "ChannelId": "leg-7"})
    leg = (await asyncio.wait_for(outcome, 5)).channel
    while pbx.find(leg) is None or pbx.find(leg).agi_queue is None:
        await asyncio.sleep(0.01)
    await c.send("Bridge", {"Channel1": name, "Channel2": leg, "Tone": "no"})
    await asyncio.sleep(0.3)
    assert not waiting.done()  # never completes while bridged
    queued = asyncio.ensure_future(c.agi(name, "GET VARIABLE CHANNEL(language)"))
    await asyncio.sleep(0.2)
    assert not queued.done()  # accepted ("Added AGI command to queue"), never run
    await c.send("Hangup", {"Channel": leg})
    with pytest.raises(AgiChannelGone):
        await waiting
    with pytest.raises(AgiChannelGone):
        await queued
    mine = [e.name for e in events if e.message.get("Channel") == name]
    assert "AsyncAGIEnd" not in mine and mine[-1] == "Hangup"
    await c.close()

"""The ACD on the simulated PBX: queued callers reach agents' phones, with screen-pop,
ring-no-answer, callers who give up, and every agent state stored."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from core.store import Store
from sim.endpoints import Endpoint, caller
from sim.pbx import Channel
from tests.conftest import until
from tests.integration.conftest import AGENTS, QUEUES, Rig, Subscriber


def originates(rig: Rig) -> list[str]:
    return [m.get("Channel") for m in rig.server.received if m.get("Action") == "Originate"]


async def test_a_queued_caller_reaches_an_agent_with_a_screenpop(
        acd: Callable[..., Awaitable[Rig]], mqtt_url: str) -> None:
    prefix = f"acd{uuid.uuid4().hex[:6]}/"
    async with Subscriber(mqtt_url, prefix) as sub:
        rig = await acd({"agent1001": Endpoint(answer_after=1.0, talk_time=5.0),
                         "agent1002": Endpoint(answer_after=1.0, talk_time=5.0)}, prefix)
        ch = rig.call()
        await until(lambda: ch.bridge is not None, 10, "caller bridged to an agent")
        agent_leg = next(c.name for c in ch.bridge.channels if c is not ch)  # type: ignore[union-attr]
        await until(lambda: rig.engine.registry.peers(ch.name) == {agent_leg}, 5,
                    "the registry to know who the caller talks to")
        call = rig.engine.registry.call_of(agent_leg)
        assert call is not None and call.channel == ch.name  # the leg belongs to the call
        await until(lambda: ch.gone, 10, "the agent to finish the call")
        await until(lambda: any("/screenpop" in t for t, _ in sub.messages), 10, "screen-pop")
        await until(lambda: any(t.endswith("/state") and p["state"] == "wrapup"
                                for t, p in sub.messages), 10, "wrap-up published")
    bridges = [m for m in rig.server.received if m.get("Action") == "Bridge"]
    assert len(bridges) == 1 and bridges[0].get("Channel1") == ch.name
    assert len(originates(rig)) == 1  # one agent rang, once
    topic, pop = next((t, p) for t, p in sub.messages if t.endswith("/screenpop"))
    agent = topic.split("/")[-2]
    assert pop["queue"] == "support" and pop["caller_num"] == "+34911000000"
    assert "previous_interactions" in pop and "open_tickets" in pop
    row = await rig.interaction(ch)
    assert (row.queue, row.agent, row.outcome) == ("support", agent, "answered")
    assert row.connected_at is not None and row.wait_s is not None and row.talk_s > 0
    await until(lambda: rig.state(agent) == "ready", 5, "wrap-up to end")
    assert await rig.states(agent) == ["ready", "reserved", "on_call", "wrapup", "ready"]
    states = [p["state"] for t, p in sub.messages if t == f"{prefix}agents/{agent}/state"]
    assert states[:4] == ["ready", "reserved", "on_call", "wrapup"]


async def test_ring_no_answer_returns_the_caller_and_pauses_a_repeat_offender(
        acd: Callable[..., Awaitable[Rig]]) -> None:
    rig = await acd({"agent1001": Endpoint(ring="noanswer"),
                     "agent1002": Endpoint(ring="noanswer")})
    ch = rig.call()
    await until(lambda: all(s.state == "paused" for s in rig.statuses()),
                15, "both agents paused for not answering")
    assert not ch.gone and ch.bridge is None  # still waiting, in their place
    assert {s.reason for s in rig.statuses()} == {"no_answer"}
    assert len(originates(rig)) == 4  # two misses each
    # Each miss ran Asterisk's "OutgoingSpoolFailed" at `failed`: hung up, not a new call.
    assert list(rig.engine.registry.calls) == [rig.engine.registry.call_of(ch.name).call_id]  # type: ignore[union-attr]
    assert await rig.states("1001") == ["ready", "reserved", "ready", "reserved", "paused"]


async def test_a_caller_who_hangs_up_while_the_agent_rings_leaves_no_zombie(
        acd: Callable[..., Awaitable[Rig]]) -> None:
    rig = await acd({"agent1001": Endpoint(answer_after=30.0),
                     "agent1002": Endpoint(answer_after=30.0)})
    ch = rig.call(patience=60.0)
    await until(lambda: any(c.name.startswith("PJSIP/agent") for c in rig.pbx.channels.values()),
                10, "an agent phone to ring")
    rig.pbx.request_hangup(ch)  # the caller gives up while it rings (whatever the box's load)
    await until(lambda: ch.gone, 10, "the caller to give up")
    await until(lambda: not any(c.name.startswith("PJSIP/agent") for c in rig.pbx.channels.values()),
                10, "the ring to stop")
    await until(lambda: all(s.state == "ready" for s in rig.statuses()),
                10, "agents ready again")
    assert {s.misses for s in rig.statuses()} == {0}
    row = await rig.interaction(ch)
    assert row.outcome == "abandoned" and row.data["abandoned"]["queue"] == "support"
    assert not [m for m in rig.server.received if m.get("Action") == "Bridge"]


async def test_callers_wait_when_no_agent_is_free_and_are_served_in_order(
        acd: Callable[..., Awaitable[Rig]]) -> None:
    rig = await acd({"agent1001": Endpoint(answer_after=0.5, talk_time=3.0),
                     "agent1002": Endpoint(ring="unavailable")})
    first = rig.call("+34911000001")
    await asyncio.sleep(0.1)
    second = rig.call("+34911000002")
    await until(lambda: first.bridge is not None, 10, "first caller connected")
    assert second.bridge is None
    await until(lambda: second.bridge is not None, 20, "second caller connected after the first")
    row = await rig.interaction(second)
    assert row.agent == "1001"
    payload = [m.getall("Variable") for m in rig.server.received if m.get("Action") == "Originate"]
    assert all(any(v.startswith("CENTRALITA_CALL_ID=") for v in p) for p in payload)


# Engine times are real seconds (the sim's run ten times faster): keep them short here.
HOLD_QUEUES = """\
queues:
  support:
    skills: {support: 1}
    ring_timeout: 5
    max_wait: 40
    overflow: {voicemail: "200@default"}
    announcements: {entry: queue-thankyou, position_every: 1}
    keys:
      "1": {callback: true}
    escalation:
      - {after: 25, overflow: operator}
  operator:
    ring_timeout: 5
"""
HOLD_AGENTS = """\
skills: [support]
agents:
  - {id: "1001", device: PJSIP/agent1001, skills: {support: 5}, queues: {support: 0}}
  - {id: "2001", device: PJSIP/op2001, queues: {operator: 0}}
"""


def caller_commands(rig: Rig, ch: Channel) -> list[str]:
    return [m.get("Command") for m in rig.server.received
            if m.get("Action") == "AGI" and m.get("Channel") == ch.name]


async def test_a_waiting_caller_hears_the_entry_message_and_their_position(
        acd: Callable[..., Awaitable[Rig]]) -> None:
    rig = await acd({}, queues=HOLD_QUEUES, agents=HOLD_AGENTS)  # nobody logged in
    ch = rig.call()
    await until(lambda: "GET DATA queue-youarenext 1 1" in caller_commands(rig, ch), 10,
                "a position announcement")
    got = caller_commands(rig, ch)
    start = got.index("SET MUSIC ON default")
    assert got[start:start + 4] == ["SET MUSIC ON default", "SET MUSIC OFF",
                                    "GET DATA queue-thankyou 1 1", "SET MUSIC ON default"]
    await until(lambda: any(c.startswith("SAY NUMBER") for c in caller_commands(rig, ch)), 5,
                "the estimated wait")
    assert 'SAY NUMBER 3 ""' in caller_commands(rig, ch)  # 1 x 180 s default handle / 1 agent
    ch_row = await rig.interaction(ch)
    assert ch_row.queue == "support"


async def callbacks(rig: Rig) -> list[Any]:
    await rig.engine.journal.drain()
    store = Store(rig.db)
    try:
        return await store.callbacks()
    finally:
        await store.close()


async def interaction_by_id(rig: Rig, call_id: str) -> Any:
    await rig.engine.journal.drain()
    store = Store(rig.db)
    try:
        return await store.interaction(call_id)
    finally:
        await store.close()


CALLBACK_QUEUES = HOLD_QUEUES.replace(
    "    escalation:\n      - {after: 25, overflow: operator}\n",
    "    callback: {ring_timeout: 3, attempts: 2, retry_after: 1}\n").replace(
    "position_every: 1", "position_every: 30")  # the caller's key lands in a long wait


def take_callback(rig: Rig, number: str = "+34911000077", keyed: str = "") -> Channel:
    keys = ((0.3, "1"), (8.0, "1"), *((0.2, d) for d in keyed))
    return rig.pbx.incoming_call(trunk="trunk", context="centralita-in", dnis="100",
                                 caller_num=number, endpoint=caller(keys, patience=60, reactive=True))


async def test_a_caller_who_takes_a_callback_keeps_their_place_and_is_called_back(
        acd: Callable[..., Awaitable[Rig]]) -> None:
    rig = await acd({"agent1001": Endpoint(answer_after=0.5, talk_time=None),
                     "600555123@trunk": Endpoint(answer_after=1.0, talk_time=4.0)},
                    queues=CALLBACK_QUEUES, agents=HOLD_AGENTS)  # nobody logged in yet
    ch = take_callback(rig, keyed="600555123#")
    await until(lambda: ch.gone, 20, "the caller to leave a number and hang up")
    assert caller_commands(rig, ch)[-5:] == [
        "GET DATA vm-enter-num-to-call 6000 16", "GET DATA you-entered 1 1",
        'SAY DIGITS 600555123 ""', "EXEC Playback auth-thankyou", "HANGUP"]
    origin = await rig.interaction(ch)
    assert origin.outcome == "callback" and origin.data["callback"]["number"] == "600555123"
    [cb] = await callbacks(rig)
    assert (cb.status, cb.queue, cb.number, cb.origin_call_id) == ("pending", "support",
                                                                    "600555123", origin.id)
    assert abs(cb.entered_at.timestamp() - origin.queued_at.timestamp()) < 0.01  # its place

    assert rig.send("1001", "login") is None
    await until(lambda: any(c.name.startswith("PJSIP/600555123@trunk") and c.bridge is not None
                            for c in rig.pbx.channels.values()),
                15, "the customer to be called back and bridged to the agent")
    orig = [m for m in rig.server.received if m.get("Action") == "Originate"]
    assert [m.get("Channel") for m in orig] == ["PJSIP/agent1001", "PJSIP/600555123@trunk"]
    await until(lambda: rig.state("1001") == "wrapup", 15,
                "the call to end and the agent to wrap up")
    [cb] = await callbacks(rig)
    assert (cb.status, cb.result, cb.attempts) == ("done", "connected", 1)
    back = await interaction_by_id(rig, cb.last_call_id)
    assert (back.kind, back.queue, back.agent, back.caller_num) == ("callback", "support", "1001",
                                                                    "600555123")
    assert back.outcome == "answered" and back.talk_s > 0
    assert back.wait_s >= origin.wait_s  # the wait runs from when the caller first queued
    assert back.data["callback"]["origin_call_id"] == origin.id


async def test_a_callback_nobody_answers_is_retried_then_given_up(
        acd: Callable[..., Awaitable[Rig]]) -> None:
    agents = HOLD_AGENTS.replace("queues: {support: 0}}", "queues: {support: 0}, login: true}")
    queues = CALLBACK_QUEUES.replace("callback: {", "callback: {ask_number: false, ")
    rig = await acd({"agent1001": Endpoint(answer_after=0.5, talk_time=None),
                     "+34911000077@trunk": Endpoint(ring="noanswer")}, queues=queues, agents=agents)
    assert rig.send("1001", "pause", reason="break") is None
    ch = take_callback(rig)
    await until(lambda: ch.gone, 20, "the caller to take a callback")
    assert "GET DATA vm-enter-num-to-call 6000 16" not in caller_commands(rig, ch)
    assert rig.send("1001", "ready") is None
    rows: list[Any] = []
    for _ in range(300):
        rows = await callbacks(rig)
        if rows and rows[0].status == "failed":
            break
        await asyncio.sleep(0.1)
    [cb] = rows
    assert (cb.status, cb.result, cb.attempts) == ("failed", "no_answer", 2)
    dials = [m for m in rig.server.received
             if m.get("Action") == "Originate" and "@trunk" in m.get("Channel", "")]
    assert len(dials) == 2
    await until(lambda: rig.state("1001") == "ready", 5,
                "the agent ready again")
    assert rig.status("1001").misses == 0
    agent_cmds = [m.get("Command") for m in rig.server.received
                  if m.get("Action") == "AGI" and m.get("Channel", "").startswith("PJSIP/agent")]
    assert agent_cmds.count("EXEC Playback number-not-answering") == 2
    first_try = await interaction_by_id(rig, cb.last_call_id)
    assert (first_try.kind, first_try.outcome) == ("callback", "callback_no_answer")


async def test_a_callback_survives_an_engine_restart(acd: Callable[..., Awaitable[Rig]]) -> None:
    first = await acd({}, queues=CALLBACK_QUEUES, agents=HOLD_AGENTS)
    ch = take_callback(first, keyed="#")  # '#' alone: call me back on this number
    await until(lambda: ch.gone, 20, "the caller to take a callback")
    await first.engine.journal.drain()
    first.engine.stop.set()
    await asyncio.sleep(0.5)
    agents = HOLD_AGENTS.replace("queues: {support: 0}}", "queues: {support: 0}, login: true}")
    second = await acd({"agent1001": Endpoint(answer_after=0.5, talk_time=None),
                        "+34911000077@trunk": Endpoint(answer_after=0.5, talk_time=3.0)},
                       queues=CALLBACK_QUEUES, agents=agents)
    await until(lambda: any(c.name.startswith("PJSIP/+34911000077@trunk") and c.bridge is not None
                            for c in second.pbx.channels.values()), 15, "the callback after restart")
    await until(lambda: second.state("1001") == "wrapup", 15,
                "the callback to finish")
    [cb] = await callbacks(second)
    assert (cb.status, cb.attempts, cb.number) == ("done", 1, "+34911000077")


async def test_escalation_overflows_to_the_operator_queue_keeping_the_wait(
        acd: Callable[..., Awaitable[Rig]]) -> None:
    agents = HOLD_AGENTS.replace('queues: {operator: 0}}', 'queues: {operator: 0}, login: true}')
    rig = await acd({"op2001": Endpoint(answer_after=0.5, talk_time=2.0)},
                    queues=HOLD_QUEUES.replace("after: 25", "after: 2"), agents=agents)
    ch = rig.call()
    await until(lambda: ch.bridge is not None, 15, "the operator to answer")
    row = await rig.interaction(ch)
    assert (row.queue, row.agent) == ("operator", "2001")
    assert row.wait_s >= 2  # measured from when the caller joined the first queue


async def test_max_wait_sends_the_caller_to_voicemail(acd: Callable[..., Awaitable[Rig]]) -> None:
    queues = HOLD_QUEUES.replace("max_wait: 40", "max_wait: 2").replace("after: 25", "after: 60")
    rig = await acd({}, queues=queues, agents=HOLD_AGENTS)
    ch = rig.call()
    await until(lambda: ch.gone, 20, "voicemail")
    assert "EXEC VoiceMail 200@default,u" in caller_commands(rig, ch)
    row = await rig.interaction(ch)
    assert row.outcome == "overflowed" and row.data["overflow"]["reason"] == "max_wait"


async def test_agents_command_their_state_over_mqtt_and_bad_commands_are_refused(
        acd: Callable[..., Awaitable[Rig]], mqtt_url: str) -> None:
    import aiomqtt

    prefix = f"cmd{uuid.uuid4().hex[:6]}/"
    agents = AGENTS.replace("login: true, max_no_answer: 2}\n  - {id: \"1002\"",
                            "login: false, max_no_answer: 2}\n  - {id: \"1002\"")
    async with Subscriber(mqtt_url, prefix) as sub:
        rig = await acd({}, prefix, agents=agents)
        await until(lambda: rig.engine.listener is not None and rig.engine.listener.subscribed,
                    10, "the command listener")
        host, port = mqtt_url.removeprefix("mqtt://").split(":")
        async with aiomqtt.Client(host, int(port)) as client:
            async def send(agent: str, body: str) -> dict[str, Any]:
                seen = len([t for t, _ in sub.messages if t.endswith(f"{agent}/replies")])
                await client.publish(f"{prefix}agents/{agent}/commands", body, qos=1)
                await until(lambda: len([t for t, _ in sub.messages
                                         if t.endswith(f"{agent}/replies")]) > seen, 10,
                            f"a reply to {body} (got {sub.messages[-3:]})")
                return [p for t, p in sub.messages if t.endswith(f"{agent}/replies")][-1]

            assert (await send("1001", '{"action": "pause", "reason": "break"}'))["error"] == \
                "cannot pause while logged out"
            assert (await send("1001", '{"action": "login", "request": "r1"}')) == \
                {"v": 1, "ok": True, "error": None, "request": "r1", "action": "login"}
            bad_reason = await send("1001", '{"action": "pause", "reason": "nap"}')
            assert not bad_reason["ok"] and "pause reason must be one of" in bad_reason["error"]
            assert (await send("1001", '{"action": "pause", "reason": "lunch"}'))["ok"]
            assert (await send("1001", "{not json"))["error"].startswith("not JSON")
            assert (await send("1001", '{"action": "dance"}'))["error"].startswith("action:")
            assert (await send("1001", '{"action": "ready", "x": 1}'))["error"].startswith("x:")
            assert (await send("9999", '{"action": "login"}'))["error"] == "unknown agent '9999'"
            assert (await send("1001", '{"action": "end_wrapup"}'))["error"] == \
                "not in wrap-up (paused)"
            assert (await send("1001", '{"action": "ready"}'))["ok"]
    assert await rig.states("1001") == ["ready", "paused", "ready"]
    assert rig.state("1001") == "ready"


async def test_an_agent_leg_that_vanishes_mid_ring_sends_the_call_to_another_agent(
        acd: Callable[..., Awaitable[Rig]]) -> None:
    rig = await acd({"agent1001": Endpoint(answer_after=20.0),
                     "agent1002": Endpoint(answer_after=20.0)})
    ch = rig.call()
    await until(lambda: any(c.name.startswith("PJSIP/agent") for c in rig.pbx.channels.values()),
                10, "an agent phone to ring")
    first = next(c for c in rig.pbx.channels.values() if c.name.startswith("PJSIP/agent"))
    rig.pbx.endpoints["agent1001"] = Endpoint(answer_after=0.3, talk_time=3.0)
    rig.pbx.endpoints["agent1002"] = Endpoint(answer_after=0.3, talk_time=3.0)
    rig.pbx.request_hangup(first, 21)  # the phone drops off the network mid-ring
    await until(lambda: ch.bridge is not None, 10, "the caller to reach an agent after all")
    assert len(originates(rig)) >= 2
    assert ch.bridge is not None and first not in ch.bridge.channels


async def test_a_failed_bridge_returns_the_caller_to_the_queue(
        acd: Callable[..., Awaitable[Rig]]) -> None:
    # 1001 answers and drops the call at once: the Bridge finds no channel.
    rig = await acd({"agent1001": Endpoint(answer_after=0.2, talk_time=0.0),
                     "agent1002": Endpoint(answer_after=1.0, talk_time=5.0)})
    assert rig.send("1002", "pause", reason="break") is None
    ch = rig.call()
    await until(lambda: any(m.get("Action") == "Bridge" for m in rig.server.received), 10,
                "a bridge attempt")
    rig.pbx.endpoints["agent1001"] = Endpoint(answer_after=0.2, talk_time=5.0)
    await until(lambda: ch.bridge is not None, 15, "a second, good attempt")
    await rig.engine.journal.drain()
    store = Store(rig.db)
    try:
        row = await rig.interaction(ch)
        kinds = [e.kind for e in await store.events(row.id)]
    finally:
        await store.close()
    assert "acd.bridge_failed" in kinds and kinds.count("acd.connected") == 1


async def test_a_restarted_engine_puts_waiting_callers_back_with_their_wait(
        acd: Callable[..., Awaitable[Rig]]) -> None:
    nobody = AGENTS.replace("login: true", "login: false")
    first = await acd({}, agents=nobody)
    ch = first.call(patience=600)
    await until(lambda: first.waiting() == 1, 10, "the caller to queue")
    queued = await first.interaction(ch)
    call_id, queued_at = queued.id, queued.queued_at.timestamp()
    await first.engine.journal.drain()
    first.engine.stop.set()  # the engine goes away; Asterisk keeps the caller in AsyncAGI
    await asyncio.sleep(1.0)
    assert not ch.gone

    second = await acd({"agent1001": Endpoint(answer_after=0.3, talk_time=3.0),
                        "agent1002": Endpoint(answer_after=0.3, talk_time=3.0)})
    await until(lambda: ch.bridge is not None, 15, "the caller to reach an agent")
    assert second.engine.registry.call_of(ch.name).call_id == call_id  # type: ignore[union-attr]
    row = await second.interaction(ch)
    assert row.id == call_id and row.wait_s >= 1.0  # the wait counts from before the restart
    assert abs(row.queued_at.timestamp() - queued_at) < 0.01
    store = Store(second.db)
    try:
        kinds = [e.kind for e in await store.events(call_id)]
    finally:
        await store.close()
    assert kinds.count("call.started") == 1 and "call.adopted" in kinds
    assert "ivr.resumed_in_queue" in kinds and kinds.count("acd.queued") == 2


async def test_a_restarted_engine_knows_which_agents_are_talking(
        acd: Callable[..., Awaitable[Rig]]) -> None:
    first = await acd({"agent1001": Endpoint(answer_after=0.3, talk_time=None),
                       "agent1002": Endpoint(answer_after=0.3, talk_time=None)})
    ch = first.call(patience=600)
    await until(lambda: ch.bridge is not None and any(  # type: ignore[union-attr]
        st.state == "on_call" for st in first.statuses()), 10,
        "caller and agent talking")
    call_id = first.engine.registry.call_of(ch.name).call_id  # type: ignore[union-attr]
    agent = next(a for a, st in first.engine.pool.view.items() if st.state == "on_call")
    await first.engine.journal.drain()
    first.engine.stop.set()
    await asyncio.sleep(0.5)

    second = await acd({})
    await until(lambda: second.state(agent) == "on_call", 10, "the agent found talking")
    assert second.status(agent).call_id == call_id
    other = next(a for a in second.engine.pool if a != agent)
    assert second.state(other) == "ready"
    # the agent's leg is known again: a transfer is under way, not refused as "not on a call"
    assert second.send(agent, "transfer", target="queue:nowhere") == "unknown queue 'nowhere'"
    peer = next(c for c in ch.bridge.channels if c is not ch)  # type: ignore[union-attr]
    second.pbx.request_hangup(ch)
    await until(lambda: second.state(agent) in ("wrapup", "ready"), 10, "wrap-up after the call")
    assert peer.gone
    assert "wrapup" in await second.states(agent)
    row = await second.interaction(ch)
    assert row.outcome == "answered" and row.agent == agent and row.talk_s >= 0.5


async def test_agents_log_in_pause_and_get_ready_from_their_phone(
        acd: Callable[..., Awaitable[Rig]]) -> None:
    rig = await acd({}, agents=AGENTS.replace("login: true", "login: false"))

    async def dial(code: str, extension: str = "1001") -> Channel:
        ch = rig.pbx.incoming_call(trunk="agent", context="centralita-agents", dnis=code,
                                   caller_num=extension, endpoint=caller(patience=30))
        await until(lambda: ch.gone, 10, f"feature code {code} to finish")
        return ch

    ch = await dial("*21")
    assert caller_commands(rig, ch) == ["ANSWER", "EXEC Playback agent-loginok", "HANGUP"]
    await dial("*232")
    assert rig.status("1001").reason == "lunch"
    await dial("*24")
    ch = await dial("*21")  # already logged in: refused, with a prompt that says so
    assert caller_commands(rig, ch)[1] == "EXEC Playback invalid"
    ch = await dial("*21", extension="5555")  # not an agent's phone
    assert caller_commands(rig, ch)[1] == "EXEC Playback invalid"
    assert await rig.states("1001") == ["ready", "paused", "ready"]
    assert rig.state("1002") == "logged_out"


RING_ALL = """\
queues:
  support:
    strategy: ring_all
    ring_timeout: 10
    wrapup: 1
"""


async def test_ring_all_connects_the_first_to_answer_and_stops_the_others(
        acd: Callable[..., Awaitable[Rig]]) -> None:
    rig = await acd({"agent1001": Endpoint(answer_after=3.0, talk_time=5.0),
                     "agent1002": Endpoint(answer_after=0.5, talk_time=5.0)}, queues=RING_ALL)
    ch = rig.call()
    await until(lambda: ch.bridge is not None, 10, "the first agent to answer")
    assert len(originates(rig)) == 2  # both rang at once
    await until(lambda: not any(c.name.startswith("PJSIP/agent1001")
                                for c in rig.pbx.channels.values()), 5, "the other ring to stop")
    await until(lambda: rig.state("1002") == "on_call", 5, "the winner on the call")
    await until(lambda: rig.state("1001") == "ready", 5, "the loser ready again")
    assert rig.status("1001").misses == 0


async def test_wrap_up_can_be_ended_early_or_extended_once(
        acd: Callable[..., Awaitable[Rig]]) -> None:
    only_1001 = AGENTS.rsplit("  - {id: \"1002\"", 1)[0]
    rig = await acd({"agent1001": Endpoint(answer_after=0.3, talk_time=2.0)}, agents=only_1001)
    ch = rig.call()
    await until(lambda: ch.gone, 10, "the call to end")
    await until(lambda: rig.state("1001") == "wrapup", 5, "wrap-up")
    assert rig.send("1001", "extend_wrapup") is None
    assert rig.send("1001", "extend_wrapup") == "wrap-up can be extended once"
    await asyncio.sleep(1.3)
    assert rig.state("1001") == "wrapup"  # one more wrap-up period
    assert rig.send("1001", "end_wrapup") is None
    assert rig.state("1001") == "ready"
    row = await rig.interaction(ch)
    assert row.wrapup_s is not None and row.wrapup_s >= 1.0


async def test_a_supervisor_moves_a_waiting_call_to_the_front(
        acd: Callable[..., Awaitable[Rig]], mqtt_url: str) -> None:
    import aiomqtt

    prefix = f"rp{uuid.uuid4().hex[:6]}/"
    rig = await acd({"agent1001": Endpoint(answer_after=0.3, talk_time=30.0)}, prefix,
                    agents=AGENTS.replace("login: true", "login: false"))
    first = rig.call("+34911000001")
    await until(lambda: rig.waiting() == 1, 10, "first caller queued")
    second = rig.call("+34911000002")
    await until(lambda: rig.waiting() == 2, 10, "second caller queued")
    late = rig.call_id(second)
    await until(lambda: rig.engine.listener is not None and rig.engine.listener.subscribed, 10,
                "commands")
    host, port = mqtt_url.removeprefix("mqtt://").split(":")
    async with Subscriber(mqtt_url, prefix) as sub, aiomqtt.Client(host, int(port)) as client:
        await client.publish(f"{prefix}queues/sales/commands",
                             json.dumps({"action": "reprioritise", "call_id": late,
                                         "priority": 50}), qos=1)
        await client.publish(f"{prefix}queues/support/commands",
                             json.dumps({"action": "reprioritise", "call_id": late,
                                         "priority": 50}), qos=1)
        await until(lambda: len([1 for t, _ in sub.messages if t.endswith("/replies")]) >= 2, 10,
                    "replies")
    replies = [p for t, p in sub.messages if t.endswith("/replies")]
    assert not replies[0]["ok"] and "not waiting in queue sales" in replies[0]["error"]
    assert replies[1]["ok"]
    assert rig.send("1001", "login") is None
    await until(lambda: second.bridge is not None, 10, "the moved-up caller first")
    assert first.bridge is None


async def test_waiting_callers_leave_when_the_last_agent_logs_out(
        acd: Callable[..., Awaitable[Rig]]) -> None:
    queues = QUEUES + "    leave_empty: true\n    overflow: {voicemail: \"300@default\"}\n"
    rig = await acd({}, queues=queues)
    for agent in ("1001", "1002"):
        assert rig.send(agent, "pause", reason="meeting") is None
    ch = rig.call()
    await until(lambda: rig.waiting() == 1, 10, "the caller to queue")
    assert rig.send("1001", "logout") is None
    await asyncio.sleep(0.3)
    assert not ch.gone  # 1002 is still logged in (paused)
    assert rig.send("1002", "logout") is None
    await until(lambda: ch.gone, 10, "voicemail")
    assert "EXEC VoiceMail 300@default,u" in caller_commands(rig, ch)


async def test_manual_ready_after_wrap_up_when_auto_ready_is_off(
        acd: Callable[..., Awaitable[Rig]]) -> None:
    only_1001 = AGENTS.rsplit("  - {id: \"1002\"", 1)[0]
    rig = await acd({"agent1001": Endpoint(answer_after=0.3, talk_time=1.0)},
                    queues=QUEUES + "    auto_ready: false\n", agents=only_1001)
    ch = rig.call()
    await until(lambda: ch.gone, 10, "the call to end")
    await asyncio.sleep(1.5)  # longer than the 1 s wrap-up
    assert rig.state("1001") == "wrapup"
    assert rig.send("1001", "ready") is None
    row = await rig.interaction(ch)
    assert row.wrapup_s >= 1.5


async def test_a_full_queue_sends_new_callers_to_its_overflow(
        acd: Callable[..., Awaitable[Rig]]) -> None:
    queues = QUEUES + "    max_length: 1\n    overflow: {message: [vm-goodbye]}\n"
    rig = await acd({}, queues=queues, agents=AGENTS.replace("login: true", "login: false"))
    first = rig.call("+34911000001")
    await until(lambda: rig.waiting() == 1, 10, "first caller queued")
    second = rig.call("+34911000002")
    await until(lambda: second.gone, 10, "the second caller turned away")
    assert caller_commands(rig, second)[-2:] == ["EXEC Playback vm-goodbye", "HANGUP"]
    assert not first.gone
    row = await rig.interaction(second)
    assert row.outcome == "overflowed" and row.data["overflow"]["reason"] == "full"


async def test_supervisors_see_queue_figures_on_mqtt(
        acd: Callable[..., Awaitable[Rig]], mqtt_url: str) -> None:
    prefix = f"acd{uuid.uuid4().hex[:6]}/"
    async with Subscriber(mqtt_url, prefix) as sub:
        rig = await acd({"agent1001": Endpoint(answer_after=0.5, talk_time=2.0),
                         "agent1002": Endpoint(answer_after=0.5, talk_time=2.0)}, prefix,
                        stats_every=0.2)
        ch = rig.call()
        await until(lambda: ch.gone, 15, "the call to be answered and finish")

        def answered() -> list[dict[str, Any]]:
            return [p for t, p in sub.messages
                    if t == f"{prefix}queues/support/stats" and p["today"]["answered"] == 1]

        await until(lambda: bool(answered()), 10, "figures with the answered call")
    snap = answered()[-1]
    assert snap["today"]["entered"] == 1 and snap["today"]["service_level"] == 100.0
    assert snap["today"]["asa"] is not None and snap["today"]["asa"] >= 0
    assert sum(snap["agents"].values()) == 2
    assert not [t for t, _ in sub.messages if t.endswith("/stats") and "support" not in t]


XFER_QUEUES = """\
queues:
  support:
    skills: {support: 1}
    ring_timeout: 5
    wrapup: 1
    announcements: {entry: null, position_every: null}
  billing:
    ring_timeout: 5
    wrapup: 1
    announcements: {entry: null, position_every: null}
"""
XFER_AGENTS = """\
skills: [support]
agents:
  - {id: "1001", device: PJSIP/agent1001, skills: {support: 5}, queues: {support: 0}, login: true}
  - {id: "1002", device: PJSIP/agent1002, queues: {billing: 0}, login: true}
  - {id: "1003", device: PJSIP/agent1003, skills: {support: 5}, queues: {support: 1},
     login: false}
"""


async def test_an_agent_blind_transfers_the_caller_to_another_queue(
        acd: Callable[..., Awaitable[Rig]]) -> None:
    phones = {a: Endpoint(answer_after=0.5, talk_time=None) for a in
              ("agent1001", "agent1002", "agent1003")}
    rig = await acd(phones, queues=XFER_QUEUES, agents=XFER_AGENTS)
    assert rig.send("1001", "transfer", target="queue:billing") == "not on a call"
    ch = rig.call(patience=60)
    await until(lambda: rig.state("1001") == "on_call", 10, "the caller with 1001")
    first_leg = next(c for c in ch.bridge.channels if c is not ch)  # type: ignore[union-attr]
    assert rig.send("1001", "transfer", target="queue:nowhere") == "unknown queue 'nowhere'"
    assert rig.send("1001", "transfer", target="agent:1001") == "cannot transfer a call to yourself"
    assert rig.send("1001", "transfer", target="agent:1003") == "agent 1003 is not free (logged_out)"
    assert rig.send("1001", "transfer", target="voicemail:200") == \
        "unknown transfer target 'voicemail:200' (queue:NAME, agent:ID, ivr:NODE or external:NUMBER)"
    assert rig.send("1001", "transfer", target="ivr:nowhere") == "unknown IVR node 'nowhere'"
    assert rig.send("1001", "transfer", target="external:12") == "external number '12' is not a phone number"
    assert rig.send("1001", "transfer", target="queue:billing") is None
    assert rig.send("1001", "transfer", target="queue:billing") in ("not on a call", \
        "a transfer of this call is already under way")
    await until(lambda: ch.bridge is not None and first_leg.gone, 15, "the caller with 1002")
    second_leg = next(c for c in ch.bridge.channels if c is not ch)  # type: ignore[union-attr]
    assert second_leg.name.startswith("PJSIP/agent1002")
    [xfer] = [m for m in rig.server.received if m.get("Action") == "BlindTransfer"]
    assert (xfer.get("Channel"), xfer.get("Context"), xfer.get("Exten")) == (
        first_leg.name, "centralita-legs", "xfer")
    assert rig.state("1001") in ("wrapup", "ready")
    assert rig.state("1002") == "on_call"
    call_id = rig.engine.registry.call_of(ch.name).call_id  # type: ignore[union-attr]
    rig.pbx.request_hangup(ch)
    await until(lambda: rig.state("1002") in ("wrapup", "ready"), 10, "1002 wraps up")
    row = await rig.interaction(ch)
    assert (row.id, row.queue, row.agent, row.outcome) == (call_id, "billing", "1002", "answered")
    assert row.data["transferred"]["from"] == "1001"
    store = Store(rig.db)
    try:
        kinds = [e.kind for e in await store.events(call_id)]
    finally:
        await store.close()
    assert kinds.count("acd.connected") == 2 and "acd.transferred" in kinds
    assert kinds.index("acd.transferred") < len(kinds) - kinds[::-1].index("acd.connected") - 1
    assert "wrapup" in await rig.states("1001")


async def test_a_transfer_to_an_agent_rings_that_agent_only(
        acd: Callable[..., Awaitable[Rig]]) -> None:
    agents = XFER_AGENTS.replace("queues: {support: 1},\n     login: false}",
                                 "queues: {support: 1},\n     login: true}")
    phones = {"agent1001": Endpoint(answer_after=0.5, talk_time=None),
              "agent1002": Endpoint(answer_after=0.5, talk_time=None),
              "agent1003": Endpoint(answer_after=0.5, talk_time=None)}
    rig = await acd(phones, queues=XFER_QUEUES, agents=agents)
    rig.call(patience=60)
    await until(lambda: any(st.state == "on_call" for st in rig.statuses()), 10,
                "the caller with an agent")
    talking = next(a for a, st in rig.engine.pool.view.items() if st.state == "on_call")
    other = "1003" if talking == "1001" else "1001"
    assert rig.send(talking, "transfer", target=f"agent:{other}") is None
    await until(lambda: rig.state(other) == "on_call", 15, f"the caller with {other}")
    assert rig.state("1002") == "ready"  # billing's agent was never offered it
    rings = [m.get("Channel") for m in rig.server.received if m.get("Action") == "Originate"]
    assert rings == [f"PJSIP/agent{talking}", f"PJSIP/agent{other}"]


async def test_an_agent_sends_the_caller_back_to_a_menu_or_out_to_a_number(
        acd: Callable[..., Awaitable[Rig]]) -> None:
    phones = {"agent1001": Endpoint(answer_after=0.5, talk_time=None),
              "agent1002": Endpoint(answer_after=0.5, talk_time=None),
              "600123456@trunk": Endpoint(answer_after=0.5, talk_time=2.0)}
    rig = await acd(phones, queues=XFER_QUEUES, agents=XFER_AGENTS)
    ch = rig.call(patience=60)
    await until(lambda: rig.state("1001") == "on_call", 10, "the caller with 1001")
    call_id = rig.status("1001").call_id
    assert rig.send("1001", "transfer", target="ivr:main") is None
    await until(lambda: rig.state("1001") != "on_call", 10, "1001 let go of the caller")
    # the menu runs again; with no key it falls back to support, where 1001 (wrapping up)
    # is soon free again
    await until(lambda: rig.state("1001") == "on_call" and
                rig.status("1001").call_id == call_id, 20, "the caller back via the menu")
    await rig.engine.journal.drain()
    store = Store(rig.db)
    try:
        kinds = [e.kind for e in await store.events(call_id)]  # type: ignore[arg-type]
    finally:
        await store.close()
    assert kinds.count("ivr.started") == 2 and kinds.count("acd.queued") == 2
    assert rig.send("1001", "transfer", target="external:600123456") is None
    await until(lambda: ch.bridge is not None and any(
        c.name.startswith("PJSIP/600123456@trunk") for c in ch.bridge.channels), 15,
        "the caller through to the outside number")
    await until(lambda: ch.gone, 15, "the outside party hangs up")
    row = await rig.interaction(ch)
    assert row.outcome == "transferred_out" and row.data["external"] == "600123456"

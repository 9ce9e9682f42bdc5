"""The thin end-to-end slice: a caller arrives, the engine answers over AsyncAGI, plays a
prompt and hangs up; the interaction and its events land in SQL and on a real Mosquitto."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from structlog.testing import capture_logs

from app.engine import Engine
from core.settings import AmiSettings, DatabaseSettings, GreetingSettings, MqttSettings, Settings
from core.store import Store
from sim.endpoints import caller
from sim.pbx import Pbx
from sim.server import AmiServer
from tests.conftest import free_port, start_mosquitto, until
from tests.integration.conftest import Subscriber

Sim = tuple[Pbx, AmiServer]
KINDS = ["call.started", "call.answered", "prompt.played", "call.ended"]


def settings_for(server: AmiServer, database_url: str, mqtt_url: str, prefix: str,
                 prompt: str = "hello-world") -> Settings:
    return Settings(
        ami=AmiSettings(url=f"ami://centralita:centralita-secret@127.0.0.1:{server.port}",
                        ping_interval=1.0),
        database=DatabaseSettings(url=database_url),
        mqtt=MqttSettings(url=mqtt_url, prefix=prefix, client_id=f"c-{uuid.uuid4().hex[:8]}",
                          retry_max=0.3),
        greeting=GreetingSettings(prompt=prompt),
    )


async def stored(database_url: str, call_id: str) -> tuple[Any, list[Any]]:
    store = Store(database_url)
    try:
        return await store.interaction(call_id), await store.events(call_id)
    finally:
        await store.close()


async def test_a_caller_is_answered_greeted_and_recorded_in_sql_and_mqtt(
        sim: Sim, database_url: str, mqtt_url: str) -> None:
    pbx, server = sim
    prefix = f"t{uuid.uuid4().hex[:8]}/"
    engine = Engine(settings_for(server, database_url, mqtt_url, prefix))
    async with Subscriber(mqtt_url, prefix, topic="calls/#") as sub:
        task = asyncio.ensure_future(engine.run(install_signals=False))
        await engine.ami.wait_ready(10)
        ch = pbx.incoming_call(trunk="trunk", context="centralita-in", dnis="100",
                               caller_num="+34911234567", caller_name="Ana",
                               endpoint=caller(patience=60))
        await until(lambda: ch.gone, what="the call to end")
        await until(lambda: len(sub.messages) >= len(KINDS), what="MQTT messages")
        engine.stop.set()
        await task

    # What the simulated PBX received: exactly the greeting's AGI commands on that channel.
    agi = [(m.get("Command")) for m in server.received
           if m.get("Action") == "AGI" and m.get("Channel") == ch.name]
    assert agi == ["ANSWER", 'STREAM FILE hello-world ""', "HANGUP"]

    topic, first = sub.messages[0]
    call_id = first["call_id"]
    assert topic == f"{prefix}calls/{call_id}/events"
    assert [p["kind"] for _, p in sub.messages] == KINDS
    assert [p["seq"] for _, p in sub.messages] == [1, 2, 3, 4]
    assert all(p["v"] == 2 and isinstance(p["at"], float) for _, p in sub.messages)
    assert first["data"]["caller_num"] == "+34911234567"

    row, events = await stored(database_url, call_id)
    assert row is not None and row.caller_num == "+34911234567" and row.customer_id is not None
    assert row.answered_at is not None and row.ended_at is not None
    assert row.outcome == "completed" and row.wait_s is not None and row.talk_s is not None
    assert [e.kind for e in events] == KINDS
    assert events[2].data == {"prompt": "hello-world", "endpos": 11360}


async def test_outbox_holds_events_while_the_broker_is_down_and_across_a_restart(
        sim: Sim, database_url: str) -> None:
    pbx, server = sim
    port = free_port()  # nothing listens here yet: the broker is "down"
    url = f"mqtt://127.0.0.1:{port}"
    prefix = f"t{uuid.uuid4().hex[:8]}/"

    first = Engine(settings_for(server, database_url, url, prefix))
    task = asyncio.ensure_future(first.run(install_signals=False))
    await first.ami.wait_ready(10)
    calls = []
    for n in range(3):
        calls.append(pbx.incoming_call(trunk="trunk", context="centralita-in", dnis="100",
                                       caller_num=f"60010{n}", endpoint=caller(patience=60)))
        await asyncio.sleep(0.05)
    await until(lambda: all(c.gone for c in calls), what="calls to end")
    await first.journal.drain()
    assert len(await first.store.pending_outbox(1000)) == 3 * len(KINDS)
    first.stop.set()
    await task  # the engine stops with the messages still in its outbox

    broker = start_mosquitto(port)
    try:
        async with Subscriber(url, prefix, topic="calls/#") as sub:
            second = Engine(settings_for(server, database_url, url, prefix))
            task = asyncio.ensure_future(second.run(install_signals=False))
            await until(lambda: len(sub.messages) >= 3 * len(KINDS), timeout=15,
                        what="the outbox to drain")
            second.stop.set()
            await task
    finally:
        broker.terminate()
        broker.wait(5)
    by_call: dict[str, list[int]] = {}
    for _, payload in sub.messages:
        by_call.setdefault(payload["call_id"], []).append(payload["seq"])
    assert len(by_call) == 3
    assert all(seqs == [1, 2, 3, 4] for seqs in by_call.values())  # in order, none lost


async def test_a_caller_parked_while_the_engine_was_down_is_adopted_on_connect(
        sim: Sim, database_url: str, mqtt_url: str) -> None:
    pbx, server = sim
    ch = pbx.incoming_call(trunk="trunk", context="centralita-in", dnis="100",
                           caller_num="600200", endpoint=caller(patience=60))
    await until(lambda: ch.agi_queue is not None, what="the caller to park in AsyncAGI")
    engine = Engine(settings_for(server, database_url, mqtt_url, "adopt/"))
    with capture_logs() as logs:
        task = asyncio.ensure_future(engine.run(install_signals=False))
        await until(lambda: ch.gone, what="the adopted caller to be greeted and hung up")
        engine.stop.set()
        await task
    assert any(e["event"] == "engine.resynced" and e["adopted"] == 1 for e in logs)
    call_ids = {m.get("Channel") for m in server.received if m.get("Action") == "AGI"}
    assert call_ids == {ch.name}


async def test_a_call_that_ends_while_the_link_is_down_is_closed_as_lost(
        sim: Sim, database_url: str, mqtt_url: str) -> None:
    pbx, server = sim
    engine = Engine(settings_for(server, database_url, mqtt_url, "lost/", prompt="tt-monkeys"))
    task = asyncio.ensure_future(engine.run(install_signals=False))
    await engine.ami.wait_ready(10)
    ch = pbx.incoming_call(trunk="trunk", context="centralita-in", dnis="100",
                           caller_num="600300", endpoint=caller(patience=60))
    await until(lambda: bool(engine.registry.calls), what="the call to start")
    call_id = next(iter(engine.registry.calls))
    server.drop_connections()
    pbx.request_hangup(ch, 16)  # Asterisk's Hangup events go nowhere: nobody is connected
    await until(lambda: engine.resync.count >= 2 and not engine.registry.calls, what="resync")
    await engine.journal.drain()
    engine.stop.set()
    await task
    row, events = await stored(database_url, call_id)
    assert row.outcome == "lost" and row.ended_at is not None
    assert events[-1].kind == "call.ended" and events[-1].data["outcome"] == "lost"


async def test_a_locked_database_delays_call_records_but_loses_none(
        sim: Sim, tmp_path: object, mqtt_url: str) -> None:
    import sqlite3

    pbx, server = sim
    path = f"{tmp_path}/locked.db"
    url = f"sqlite+aiosqlite:///{path}"
    settings = settings_for(server, url, mqtt_url, "locked/")
    settings = settings.model_copy(update={"database": DatabaseSettings(url=url, busy_timeout=0.1)})
    engine = Engine(settings)
    with capture_logs() as logs:
        task = asyncio.ensure_future(engine.run(install_signals=False))
        await engine.ami.wait_ready(10)
        blocker = sqlite3.connect(path, timeout=0.1, isolation_level=None)
        blocker.execute("BEGIN EXCLUSIVE")  # an admin's long transaction, a backup, ...
        ch = pbx.incoming_call(trunk="trunk", context="centralita-in", dnis="100",
                               caller_num="600400", endpoint=caller(patience=60))
        await until(lambda: ch.gone, what="the call to end")
        await asyncio.sleep(0.5)
        assert engine.journal.failures > 0  # it tried, met the lock, and backed off
        blocker.execute("COMMIT")
        blocker.close()
        await engine.journal.drain()
        engine.stop.set()
        await task
    assert any(e["event"] == "store.write_retry" for e in logs)
    store = Store(url)
    try:
        from sqlalchemy import select

        from core.models import Interaction

        async with store.session() as s:
            rows = list(await s.scalars(select(Interaction)))
        assert len(rows) == 1 and rows[0].ended_at is not None
        assert [e.kind for e in await store.events(rows[0].id)] == KINDS
    finally:
        await store.close()

"""The end-to-end slice against a real Asterisk (opt-in).

Set AMI_URL=ami://user:secret@host:5038 for an Asterisk that loads the project's
asterisk/etc/extensions.conf and manager.conf (and the core sounds: hello-world).
The caller is a Local channel originated into [centralita-in].
"""

from __future__ import annotations

import asyncio
import os
import uuid

import pytest

from app.engine import Engine
from asterisk.client import AmiClient, AmiUrl
from asterisk.events import AmiEvent, AsyncAGIStart, Hangup
from core.settings import AmiSettings, DatabaseSettings, MqttSettings, Settings
from core.store import Store
from tests.asterisk.conftest import IVR, Lab

AMI_URL = os.environ.get("AMI_URL")
pytestmark = pytest.mark.skipif(not AMI_URL, reason="AMI_URL not set: no real Asterisk")


async def test_real_asterisk_answers_ping_and_lists_channels() -> None:
    assert AMI_URL
    c = AmiClient(AmiUrl.parse(AMI_URL))
    await c.connect(ready=True)
    assert (await c.send("Ping")).get("Ping") == "Pong"
    listing = await c.send_list("CoreShowChannels")
    assert listing.complete.event == "CoreShowChannelsComplete"
    await c.close()


async def test_slice_on_real_asterisk(tmp_path: object, mqtt_url: str) -> None:
    assert AMI_URL
    db = f"sqlite+aiosqlite:///{tmp_path}/real.db"
    settings = Settings(ami=AmiSettings(url=AMI_URL), database=DatabaseSettings(url=db),
                        mqtt=MqttSettings(url=mqtt_url, prefix=f"real{uuid.uuid4().hex[:6]}/"))
    engine = Engine(settings)
    task = asyncio.ensure_future(engine.run(install_signals=False))
    await engine.ami.wait_ready(10)

    seen: list[AmiEvent] = []
    watcher = AmiClient(AmiUrl.parse(AMI_URL), on_event=seen.append)
    await watcher.connect(ready=True)
    outcome = await watcher.originate({
        "Channel": "Local/100@centralita-in", "Application": "Wait", "Data": "20",
        "CallerID": "Real Test <600999>"})
    response = await asyncio.wait_for(outcome, 15)
    assert response.success
    loop = asyncio.get_running_loop()
    end = loop.time() + 20
    agi_channel = None
    while loop.time() < end:
        agi_channel = next((e.channel for e in seen if isinstance(e, AsyncAGIStart)), None)
        if agi_channel and any(isinstance(e, Hangup) and e.channel == agi_channel for e in seen):
            break
        await asyncio.sleep(0.1)
    assert agi_channel is not None, "the caller never reached AGI(agi:async)"
    assert any(isinstance(e, Hangup) and e.channel == agi_channel for e in seen)
    await engine.journal.drain()
    engine.stop.set()
    await task
    await watcher.close()

    store = Store(db)
    try:
        from sqlalchemy import select

        from core.models import Interaction

        async with store.session() as s:
            rows = list(await s.scalars(select(Interaction)
                                        .where(Interaction.channel == agi_channel)))
        assert len(rows) == 1 and rows[0].ended_at is not None
        kinds = [e.kind for e in await store.events(rows[0].id)]
        assert kinds == ["call.started", "call.answered", "prompt.played", "call.ended"]
    finally:
        await store.close()


async def test_one_menu_path_on_real_asterisk(tmp_path: object) -> None:
    """A caller presses 1 during the menu (DTMF played on the other half of the Local
    pair, as in ivr_asyncagi.ami.txt) and is parked on music on hold for the support queue."""
    from pathlib import Path

    from core.events import CallRouted
    from core.settings import IvrSettings

    assert AMI_URL
    ivr = Path(str(tmp_path)) / "ivr.yaml"
    ivr.write_text(IVR)
    settings = Settings(ami=AmiSettings(url=AMI_URL),
                        database=DatabaseSettings(url=f"sqlite+aiosqlite:///{tmp_path}/ivr.db"),
                        mqtt=MqttSettings(enabled=False), ivr=IvrSettings(file=str(ivr)))
    engine = Engine(settings)
    routed: list[CallRouted] = []
    engine.bus.subscribe(CallRouted, routed.append)
    task = asyncio.ensure_future(engine.run(install_signals=False))
    await engine.ami.wait_ready(10)
    seen: list[AmiEvent] = []
    watcher = AmiClient(AmiUrl.parse(AMI_URL), on_event=seen.append)
    await watcher.connect(ready=True)
    await watcher.originate({"Channel": "Local/100@centralita-in", "Application": "Wait",
                             "Data": "30", "CallerID": "IVR Test <600998>"})
    loop = asyncio.get_running_loop()
    end = loop.time() + 20
    while loop.time() < end and not any(
            e.name == "AGIExecStart" and "GET DATA vm-enter-num-to-call" in e.message.get("Command")
            for e in seen):
        await asyncio.sleep(0.05)
    agi_channel = next(e.channel for e in seen if isinstance(e, AsyncAGIStart))
    await asyncio.sleep(0.5)
    await watcher.send("PlayDTMF", {"Channel": agi_channel[:-1] + "1", "Digit": "1",
                                    "Duration": "120"})
    while loop.time() < end and not any(e.name == "MusicOnHoldStart" for e in seen):
        await asyncio.sleep(0.05)
    assert routed and (routed[0].kind, routed[0].target) == ("queue", "support")
    assert any(e.name == "MusicOnHoldStart" and e.message.get("Channel") == agi_channel
               for e in seen)
    await watcher.send("Hangup", {"Channel": agi_channel[:-1] + "1"})
    await asyncio.sleep(0.5)
    await engine.journal.drain()
    engine.stop.set()
    await task
    await watcher.close()



async def test_acd_connects_a_queued_caller_to_an_agent_on_real_asterisk(tmp_path: object) -> None:
    async with Lab(tmp_path, login=True) as lab:
        caller = await lab.caller_in_queue("600996")
        await lab.until("caller and agent bridged", lambda: sum(
            1 for e in lab.seen if e.name == "BridgeEnter") >= 2)
        entered = [e.message.get("Channel") for e in lab.seen if e.name == "BridgeEnter"]
        assert caller in entered
        assert any(c.startswith("Local/agent1001@centralita-lab") for c in entered)
        await lab.until("agent on the call", lambda: lab.state("1001") == "on_call")
        await lab.watcher.send("Hangup", {"Channel": caller})
        await lab.until("wrap-up", lambda: lab.state("1001") in ("wrapup", "ready"))
        await lab.until("agent's leg hung up", lambda: any(
            isinstance(e, Hangup) and e.channel.startswith("Local/agent1001@centralita-lab")
            for e in lab.seen))
        [row] = await lab.interactions()
    assert (row.queue, row.agent, row.outcome) == ("support", "1001", "answered")  # type: ignore[attr-defined]
    assert row.connected_at is not None and row.ended_at is not None  # type: ignore[attr-defined]


async def test_a_callback_keeps_the_place_and_dials_back_on_real_asterisk(tmp_path: object) -> None:
    async with Lab(tmp_path, login=False) as lab:
        caller = await lab.caller_in_queue("600995")
        await asyncio.sleep(1.0)
        await lab.watcher.send("PlayDTMF", {"Channel": caller[:-1] + "1", "Digit": "1",
                                            "Duration": "120"})
        await lab.until("the number prompt", lambda: any(
            c.startswith("GET DATA vm-enter-num-to-call") for c in lab.commands(caller)))
        await asyncio.sleep(0.5)
        await lab.watcher.send("PlayDTMF", {"Channel": caller[:-1] + "1", "Digit": "#",
                                            "Duration": "120"})  # '#': this number
        await lab.until("the caller thanked and gone", lambda: any(
            isinstance(e, Hangup) and e.channel == caller for e in lab.seen))
        assert 'SAY DIGITS 600995 ""' in lab.commands(caller)
        assert lab.send("1001", "login") is None
        await lab.until("the customer called back and bridged", lambda: any(
            e.name == "BridgeEnter" and e.message.get("Channel", "").startswith(
                "Local/cust600995@centralita-lab") for e in lab.seen), 30)
        customer = next(e.message.get("Channel") for e in lab.seen if e.name == "BridgeEnter"
                        and e.message.get("Channel", "").startswith("Local/cust600995"))
        await lab.watcher.send("Hangup", {"Channel": customer})
        await lab.until("wrap-up", lambda: lab.state("1001") in ("wrapup", "ready"))
        rows = await lab.interactions()
    origin, back = rows
    assert origin.outcome == "callback"  # type: ignore[attr-defined]
    assert (back.kind, back.agent, back.caller_num) == ("callback", "1001", "600995")  # type: ignore[attr-defined]
    assert back.connected_at is not None  # type: ignore[attr-defined]


async def test_a_real_call_is_recorded_and_indexed(tmp_path: object) -> None:
    """MixMonitor on a real Asterisk: the file exists once the call ends, and its row is
    complete with size and checksum (the engine runs on the Asterisk box here)."""
    from pathlib import Path

    from recorder.index import Filters, RecordingIndex

    directory = Path(str(tmp_path)) / "monitor"
    lab = Lab(tmp_path, login=True, recording=f"directory: {directory}\n"
              "policies:\n  all: {mode: always}\ndefault: all\n")
    assert lab.engine.recorder is not None
    async with lab:
        caller = await lab.caller_in_queue("600994")
        await lab.until("recording", lambda: any(e.name == "MixMonitorStart" for e in lab.seen))
        await asyncio.sleep(2.0)
        await lab.watcher.send("Hangup", {"Channel": caller})
        await lab.until("the caller gone", lambda: any(
            isinstance(e, Hangup) and e.channel == caller for e in lab.seen))
        store = Store(lab.db)
        try:
            index = RecordingIndex(store)
            loop = asyncio.get_running_loop()
            end = loop.time() + 15
            rows = []
            while loop.time() < end:
                await lab.engine.journal.drain()
                rows = await index.find(Filters())
                if rows and rows[0].status != "recording":
                    break
                await asyncio.sleep(0.2)
        finally:
            await store.close()
    [row] = rows
    assert row.status == "complete", row.note
    assert row.size is not None and row.size > 1000 and row.checksum
    assert Path(row.path).exists() and Path(row.path).stat().st_size == row.size
    assert row.agent == "1001" and row.duration_s and row.duration_s >= 1.5
    # app_mixmonitor.c: no MixMonitorStop when the channel hangs up (only StopMixMonitor)
    assert not any(e.name == "MixMonitorStop" for e in lab.seen)


async def test_a_blind_transfer_to_another_queue_on_real_asterisk(tmp_path: object) -> None:
    """BlindTransfer on the agent's leg: that leg hangs up, the caller starts a new AsyncAGI
    session in [centralita-legs] `xfer`, and the engine queues them for billing."""
    async with Lab(tmp_path, login=True) as lab:
        caller = await lab.caller_in_queue("600993")
        await lab.until("agent 1001 on the call", lambda: lab.state("1001") == "on_call")
        assert lab.send("1001", "transfer", target="queue:billing") is None
        await lab.until("the caller with 1002", lambda: lab.state("1002") == "on_call")
        starts = [e.channel for e in lab.seen if isinstance(e, AsyncAGIStart)]
        assert starts.count(caller) == 2  # a new AGI session after the transfer
        assert any(isinstance(e, Hangup) and e.channel.startswith("Local/agent1001@centralita-lab")
                   and e.channel.endswith(";1") for e in lab.seen)
        await lab.watcher.send("Hangup", {"Channel": caller})
        await lab.until("wrap-up", lambda: lab.state("1002") in ("wrapup", "ready"))
        [row] = await lab.interactions()
    assert (row.queue, row.agent, row.outcome) == ("billing", "1002", "answered")  # type: ignore[attr-defined]


async def test_consult_then_conference_then_complete_on_real_asterisk(tmp_path: object) -> None:
    """A dual Redirect puts the caller on hold and the agent in a new AGI session; the
    colleague's leg is bridged to the agent; a conference adds them to the caller's bridge
    with BridgeAdd."""
    async with Lab(tmp_path, login=True) as lab:
        caller = await lab.consulting("600991")
        assert any(e.name == "MusicOnHoldStart" and e.message.get("Channel") == caller
                   for e in lab.seen[-200:])
        assert lab.send("1001", "conference") is None
        await lab.until("three in one bridge", lambda: any(
            e.name == "BridgeEnter" and e.message.get("Channel", "").startswith(
                "Local/agent1002") and e.message.get("BridgeNumChannels") == "3"
            for e in lab.seen))
        await lab.watcher.send("Hangup", {"Channel": caller})
        await lab.until("everyone gone", lambda: sum(
            1 for e in lab.seen if isinstance(e, Hangup)
            and e.channel.startswith(("Local/agent1001", "Local/agent1002"))
            and e.channel.endswith(";1")) >= 2)
        await lab.until("1002 free", lambda: lab.state("1002") == "ready")


async def test_consult_then_complete_on_real_asterisk(tmp_path: object) -> None:
    async with Lab(tmp_path, login=True) as lab:
        caller = await lab.consulting("600990")
        assert lab.send("1001", "consult_complete") is None
        await lab.until("1001 done", lambda: lab.state("1001") in ("wrapup", "ready"))
        await asyncio.sleep(1.0)
        assert lab.state("1002") == "on_call"  # the caller stays with 1002
        assert not any(isinstance(e, Hangup) and e.channel == caller for e in lab.seen)
        await lab.watcher.send("Hangup", {"Channel": caller})
        await lab.until("1002 done", lambda: lab.state("1002") in ("wrapup", "ready"))
        [row] = await lab.interactions()
    assert (row.agent, row.outcome) == ("1002", "answered")  # type: ignore[attr-defined]


async def test_an_internal_call_to_a_colleague_on_real_asterisk(tmp_path: object) -> None:
    """A desk phone (a Local channel into [centralita-agents]) dials agent 1002."""
    async with Lab(tmp_path, login=True) as lab:
        await lab.watcher.originate({"Channel": "Local/1002@centralita-agents", "Application": "Wait",
                                     "Data": "30", "CallerID": "Desk <1001>"})
        await lab.until("1002 talking", lambda: lab.state("1002") == "on_call")
        await lab.until("the two bridged", lambda: any(
            e.name == "BridgeEnter" and e.message.get("Channel", "").startswith("Local/agent1002")
            for e in lab.seen))
        phone = next(e.channel for e in lab.seen if isinstance(e, AsyncAGIStart)
                     and e.channel.startswith("Local/1002@centralita-agents"))
        await lab.watcher.send("Hangup", {"Channel": phone})
        await lab.until("1002 free", lambda: lab.state("1002") == "ready")
        [row] = await lab.interactions()
    assert (row.kind, row.agent, row.outcome) == ("internal", "1002", "answered")  # type: ignore[attr-defined]

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

from asterisk.client import AmiClient, AmiUrl
from asterisk.events import AmiEvent, AsyncAGIStart, Hangup
from core.app import Engine
from core.settings import AmiSettings, DatabaseSettings, MqttSettings, Settings
from core.store import Store

AMI_URL = os.environ.get("AMI_URL")
pytestmark = pytest.mark.skipif(not AMI_URL, reason="AMI_URL not set: no real Asterisk")


async def test_real_asterisk_answers_ping_and_lists_channels() -> None:
    assert AMI_URL
    c = AmiClient(AmiUrl.parse(AMI_URL))
    await c.connect()
    c._ready.set()
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
    await watcher.connect()
    watcher._ready.set()
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


IVR = """\
default_menu: main
nodes:
  main:
    type: menu
    prompts: [hello-world, vm-enter-num-to-call]
    options:
      "1": {queue: support, skills: {support: 2}}
      "2": {message: [goodbye]}
    timeout: 5
    retries: 1
    fallback: {hangup: true}
"""


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
    await watcher.connect()
    watcher._ready.set()
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

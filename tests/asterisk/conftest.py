"""What the real-Asterisk tests share: the lab (the engine with the IVR, the ACD and,
when asked, campaigns on a real Asterisk whose phones and customers are Local channels of
asterisk/etc/extensions-lab.conf) and an AMI watcher."""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import Callable

from app.engine import Engine
from asterisk.client import AmiClient, AmiUrl
from asterisk.errors import AmiError
from asterisk.events import AmiEvent, AsyncAGIStart
from core.settings import AmiSettings, DatabaseSettings, MqttSettings, Settings
from core.store import Store
from tests.conftest import until
from tests.integration.conftest import send

AMI_URL = os.environ.get("AMI_URL")

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

LAB_QUEUES = """\
queues:
  support:
    skills: {support: 1}
    ring_timeout: 10
    wrapup: 1
    announcements: {entry: null, position_every: null}
    keys:
      "1": {callback: true}
    callback: {dial: "Local/cust{number}@centralita-lab/n", ring_timeout: 10}
  billing:
    ring_timeout: 10
    wrapup: 1
    announcements: {entry: null, position_every: null}
"""
LAB_AGENTS = """\
skills: [support]
agents:
  - {id: "1001", device: Local/agent1001@centralita-lab/n, skills: {support: 5},
     queues: {support: 0}, login: LOGIN}
  - {id: "1002", device: Local/agent1002@centralita-lab/n, queues: {billing: 0}, login: LOGIN}
"""


class Lab:
    """The engine with the IVR and the ACD on a real Asterisk whose agent phones are the
    lab's Local channels (asterisk/etc/extensions-lab.conf), plus an AMI watcher."""

    def __init__(self, tmp: object, *, login: bool, recording: str | None = None,
                 campaigns: str | None = None) -> None:
        from pathlib import Path

        from core.settings import AcdSettings, DialerSettings, IvrSettings, RecordingSettings

        assert AMI_URL
        d = Path(str(tmp))
        (d / "ivr.yaml").write_text(IVR)
        (d / "queues.yaml").write_text(LAB_QUEUES)
        (d / "agents.yaml").write_text(LAB_AGENTS.replace("LOGIN", str(login).lower()))
        if recording is not None:
            (d / "recording.yaml").write_text(recording)
        if campaigns is not None:
            (d / "campaigns.yaml").write_text(campaigns)
        self.db = f"sqlite+aiosqlite:///{d}/lab.db"
        self.engine = Engine(Settings(
            ami=AmiSettings(url=AMI_URL), database=DatabaseSettings(url=self.db),
            mqtt=MqttSettings(enabled=False), ivr=IvrSettings(file=str(d / "ivr.yaml")),
            acd=AcdSettings(queues=str(d / "queues.yaml"), agents=str(d / "agents.yaml")),
            recording=RecordingSettings(file=str(d / "recording.yaml") if recording else None),
            dialer=DialerSettings(campaigns=str(d / "campaigns.yaml") if campaigns else None)))
        self.seen: list[AmiEvent] = []
        self.watcher = AmiClient(AmiUrl.parse(AMI_URL), on_event=self.seen.append)
        self.task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> Lab:
        await self.watcher.connect(ready=True)
        listing = await self.watcher.send_list("CoreShowChannels")  # a clean PBX to start
        for item in listing.items:
            with contextlib.suppress(AmiError):  # its other half may have taken it along
                await self.watcher.send("Hangup", {"Channel": item.get("Channel")})
        await asyncio.sleep(0.5)
        self.seen.clear()
        self.task = asyncio.ensure_future(self.engine.run(install_signals=False))
        await self.engine.ami.wait_ready(10)
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.engine.journal.drain()
        self.engine.stop.set()
        assert self.task is not None
        await self.task
        await self.watcher.close()

    async def until(self, what: str, check: Callable[[], bool], timeout: float = 20) -> None:
        await until(check, timeout, what)  # a real Asterisk is slower: a longer default

    def state(self, agent: str) -> str:
        return self.engine.pool.state(agent)

    def send(self, agent: str, action: str, **fields: object) -> str | None:
        return send(self.engine, agent, action, **fields)

    def commands(self, channel: str) -> list[str]:
        return [e.message.get("Command") for e in self.seen
                if e.name == "AGIExecStart" and e.message.get("Channel") == channel]

    async def caller_in_queue(self, number: str) -> str:
        """A caller (Local pair; its ;2 half in [centralita-in]) who presses 1 for support."""
        await self.watcher.originate({"Channel": "Local/100@centralita-in", "Application": "Wait",
                                      "Data": "120", "CallerID": f"Lab <{number}>"})
        await self.until("the menu", lambda: any(
            "GET DATA vm-enter-num-to-call" in c for e in self.seen if isinstance(e, AsyncAGIStart)
            for c in self.commands(e.channel)))
        agi = next(e.channel for e in self.seen if isinstance(e, AsyncAGIStart))
        await asyncio.sleep(0.5)
        await self.watcher.send("PlayDTMF", {"Channel": agi[:-1] + "1", "Digit": "1",
                                             "Duration": "120"})
        await self.until("music on hold", lambda: any(
            e.name == "MusicOnHoldStart" and e.message.get("Channel") == agi for e in self.seen))
        return agi

    async def consulting(self, number: str) -> str:
        """A caller with agent 1001, who has put them on hold to talk to 1002."""
        caller = await self.caller_in_queue(number)
        await self.until("agent 1001 on the call", lambda: self.state("1001") == "on_call")
        assert self.send("1001", "consult", target="1002") is None
        await self.until("1001 talking to 1002", lambda: self.state("1002") == "on_call")
        return caller

    async def interactions(self) -> list[object]:
        from sqlalchemy import select

        from core.models import Interaction

        await self.engine.journal.drain()
        store = Store(self.db)
        try:
            async with store.session() as s:
                return list(await s.scalars(select(Interaction).order_by(Interaction.entered_at)))
        finally:
            await store.close()

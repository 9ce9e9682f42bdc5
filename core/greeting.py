"""The foundation's call flow: answer, play the configured prompt, hang up.

It stands in until the IVR (ivr/) takes over inbound calls; every step is recorded
as a call event.
"""

from __future__ import annotations

import asyncio
import time

import structlog

from asterisk.client import AmiClient
from asterisk.errors import AgiChannelGone, AmiError
from core.bus import Bus
from core.events import CallStarted, CallStepped
from core.settings import GreetingSettings


class Greeter:
    def __init__(self, bus: Bus, ami: AmiClient, settings: GreetingSettings) -> None:
        self.bus = bus
        self.ami = ami
        self.settings = settings
        self.tasks: set[asyncio.Task[None]] = set()
        self.log = structlog.get_logger("greeting")
        bus.subscribe(CallStarted, self._started)

    def _started(self, ev: CallStarted) -> None:
        if ev.context not in self.settings.contexts:
            return
        task = asyncio.ensure_future(self._greet(ev))
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def _greet(self, ev: CallStarted) -> None:
        log = self.log.bind(call_id=ev.call_id, channel=ev.channel)
        prompt = self.settings.prompt
        try:
            await self.ami.agi(ev.channel, "ANSWER", timeout=15)
            result = await self.ami.agi(ev.channel, f'STREAM FILE {prompt} ""', timeout=120)
            played = result.value == 0 and (result.endpos or 0) > 0
            self.bus.publish(CallStepped(ev.call_id, "prompt.played" if played
                                         else "prompt.missing", time.time(),
                                         {"prompt": prompt, "endpos": result.endpos}))
            if not played:
                log.warning("greeting.prompt_missing", prompt=prompt)
            await self.ami.agi(ev.channel, "HANGUP", timeout=15)
        except AgiChannelGone:
            log.info("greeting.caller_left")
        except AmiError as exc:
            log.warning("greeting.failed", error=str(exc))

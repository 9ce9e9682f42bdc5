"""The call flow when no IVR is configured: answer, play the configured prompt, hang up.

Every step is recorded as a call event. The prompt is played with STREAM FILE, so a
missing file ends the call (Asterisk ends the AGI session); the IVR uses GET DATA.
"""

from __future__ import annotations

import asyncio
import time

import structlog

from asterisk.agi import AgiSession
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
        agi = AgiSession(self.ami, ev.channel)
        try:
            await agi.answer(timeout=15)
            result = await agi.stream(prompt, timeout=120)
            played = result.value == 0 and (result.endpos or 0) > 0
            self.bus.publish(CallStepped(ev.call_id, "prompt.played" if played
                                         else "prompt.missing", time.time(),
                                         {"prompt": prompt, "endpos": result.endpos}))
            if not played:
                log.warning("greeting.prompt_missing", prompt=prompt)
            await agi.hangup(timeout=15)
        except AgiChannelGone:
            log.info("greeting.caller_left")
        except AmiError as exc:
            log.warning("greeting.failed", error=str(exc))

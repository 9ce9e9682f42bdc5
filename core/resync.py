"""Learning what Asterisk has after every (re)connect, and naming calls on their channels
so that they are found again after a restart.

Each call's id is set on its channel (`CENTRALITA_CALL_ID`); agents' legs carry
`CENTRALITA_AGENT`. On a (re)connect, before anything else runs, `CoreShowChannels`
lists the channels; those parked in the engine's contexts that the registry does not
know are read for those variables and adopted (or joined to their call), calls whose
channels are gone are closed, and then the services that asked are told (`after`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence

import structlog

from asterisk import actions
from asterisk import dialplan as dp
from asterisk.client import AmiClient
from asterisk.errors import AmiError
from asterisk.events import CoreShowChannel, decode_event
from core.bus import Bus
from core.events import CallStarted
from core.registry import Registry
from core.tasks import Tasks

#: how a kept line's owner is named (dialer/keeper.py holds lines as `line:<agent>`)
LINE_OWNER_PREFIX = "line:"
#: told after each resync: the agents' legs found in a bridge (channel -> agent id)
AfterResync = Callable[[Mapping[str, str]], Awaitable[None]]


class Resync:
    def __init__(self, registry: Registry, *, after: Sequence[AfterResync] = ()) -> None:
        self.registry = registry
        self.after = list(after)
        self.count = 0
        self.log = structlog.get_logger("engine")

    async def run(self, ami: AmiClient) -> None:
        listing = await ami.send_list_now(actions.core_show_channels(), timeout=ami.action_timeout)
        items = [ev for ev in map(decode_event, listing.items) if isinstance(ev, CoreShowChannel)]
        known: dict[str, str] = {}
        talking: dict[str, str] = {}  # agent legs found in a bridge: channel -> agent id
        held: dict[str, str] = {}  # agents' kept lines: channel -> owner
        for item in items:  # calls parked before a restart carry their id on the channel
            if item.channel in self.registry.channels or item.context not in dp.ENGINE_CONTEXTS:
                continue
            if item.context == dp.LEGS and item.exten == dp.NAILED:
                agent = await _getvar(ami, item.channel, dp.AGENT)
                if agent:
                    held[item.channel] = f"{LINE_OWNER_PREFIX}{agent}"
                continue
            value = await _getvar(ami, item.channel, dp.CALL_ID)
            if value:
                known[item.channel] = value
            if item.context == dp.LEGS and item.bridge_id:
                agent = await _getvar(ami, item.channel, dp.AGENT)
                if agent:
                    talking[item.channel] = agent
        closed, adopted = self.registry.reconcile(items, known, held)
        self.count += 1
        self.log.info("engine.resynced", channels=len(items), closed=closed, adopted=adopted)
        for hook in self.after:
            await hook(talking)


async def _getvar(ami: AmiClient, channel: str, name: str) -> str:
    try:
        reply = await ami.send_now(actions.getvar(channel, name))
    except AmiError:
        return ""
    return reply.get("Value") or ""


class CallTagger:
    """Sets each new call's id on its channel (CENTRALITA_CALL_ID)."""

    def __init__(self, bus: Bus, ami: AmiClient) -> None:
        self.ami = ami
        self.tasks = Tasks(structlog.get_logger("engine"), "engine.task_failed")
        self.log = structlog.get_logger("engine")
        bus.subscribe(CallStarted, self._tag)

    def _tag(self, ev: CallStarted) -> None:
        # A dialled customer's id is set by its Originate (its channel is not known yet).
        if not ev.adopted and ev.kind != "outbound":
            self.tasks.spawn(self._set(ev))

    async def _set(self, ev: CallStarted) -> None:
        try:
            await self.ami.send(actions.setvar(ev.channel, dp.CALL_ID, ev.call_id), timeout=5)
        except AmiError as exc:
            self.log.info("engine.tag_failed", call_id=ev.call_id, error=str(exc))

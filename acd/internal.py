"""Internal calls: an agent dials a colleague's extension (or id), a supervisor, or a
queue's extension from their desk phone ([centralita-agents]).

A free colleague's phone rings (the engine originates it, as for queue calls) and the
two are bridged; both count as busy for the ACD while they talk and are ready again
after. A colleague who is not free gets the configured treatment: busy tone, their
voicemail, or "please try later". A queue's extension queues the agent like a caller.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from typing import TYPE_CHECKING

import structlog

from acd.agents import AgentStatus
from acd.model import Agent
from asterisk.errors import AmiError
from asterisk.events import OriginateResponse
from core.events import CallConnected, CallDataUpdated, CallRouted, CallStarted, CallStepped

if TYPE_CHECKING:
    from acd.service import AcdService


class InternalCalls:
    def __init__(self, acd: AcdService) -> None:
        self.acd = acd
        self.talking: dict[str, list[str]] = {}  # call_id -> agents made busy by it
        self.bridged: set[str] = set()
        self.log = structlog.get_logger("acd.internal")

    def started(self, ev: CallStarted) -> None:
        self.acd.spawn(self._run(ev))

    async def _run(self, ev: CallStarted) -> None:
        acd = self.acd
        caller = acd.agent_of_phone(ev.caller_num, ev.channel)
        dnis = ev.dnis
        target = next((a for a in acd.config.agents if dnis in (a.extension, a.id)), None)
        queue = next((name for name, q in acd.config.queues.items() if q.extension == dnis), None)
        now = acd.clock()
        acd.bus.publish(CallStepped(ev.call_id, "internal.dialled", now, {
            "from": caller.id if caller else None, "to": dnis,
            "target": target.id if target else (f"queue:{queue}" if queue else None)}))
        agi = acd.ami.agi
        try:
            if queue is not None:
                await agi(ev.channel, "ANSWER", timeout=10)
                acd.bus.publish(CallRouted(ev.call_id, ev.channel, acd.clock(), "queue", queue,
                                           data={"internal_from": caller.id if caller else None}))
                return
            if target is None or (caller is not None and target.id == caller.id):
                await self._refuse(ev, "ss-noservice", "no such extension" if target is None
                                   else "dialled themselves")
                return
            status = acd.status[target.id]
            if status.state != "ready":
                await self._unavailable(ev, target, f"{status.state} {status.reason}".strip())
                return
            await self._connect(ev, caller, target)
        except AmiError as exc:
            self.log.info("acd.internal_call_failed", call_id=ev.call_id, error=str(exc))

    async def _refuse(self, ev: CallStarted, prompt: str, why: str) -> None:
        agi = self.acd.ami.agi
        self.acd.bus.publish(CallStepped(ev.call_id, "internal.refused", self.acd.clock(),
                                         {"why": why}))
        await agi(ev.channel, "ANSWER", timeout=10)
        await agi(ev.channel, f"EXEC Playback {prompt}", timeout=30)
        await agi(ev.channel, "HANGUP", timeout=10)

    async def _unavailable(self, ev: CallStarted, target: Agent, why: str) -> None:
        """The colleague cannot take it: the configured treatment."""
        rules = self.acd.config.internal
        agi = self.acd.ami.agi
        self.acd.bus.publish(CallStepped(ev.call_id, "internal.unavailable", self.acd.clock(),
                                         {"agent": target.id, "why": why,
                                          "treatment": rules.busy}))
        self.acd.bus.publish(CallDataUpdated(ev.call_id, self.acd.clock(),
                                             {"internal": {"to": target.id, "why": why}},
                                             outcome="agent_unavailable"))
        if rules.busy == "busy_tone":
            await agi(ev.channel, "EXEC Busy 10", timeout=30)
        elif rules.busy == "voicemail":
            box = rules.voicemail.format(extension=target.extension or target.id)
            await agi(ev.channel, "ANSWER", timeout=10)
            await agi(ev.channel, f"EXEC VoiceMail {box},b", timeout=600)
        else:
            await agi(ev.channel, "ANSWER", timeout=10)
            await agi(ev.channel, "EXEC Playback please-try-call-later", timeout=30)
        await agi(ev.channel, "HANGUP", timeout=10)

    async def _connect(self, ev: CallStarted, caller: Agent | None, target: Agent) -> None:
        acd = self.acd
        now = acd.clock()
        busy = [target.id]
        acd.set_state(target.id, "reserved", now, call_id=ev.call_id)
        if caller is not None and acd.status[caller.id].state == "ready":
            acd.set_state(caller.id, "on_call", now, call_id=ev.call_id)  # no queue call meanwhile
            busy.append(caller.id)
        self.talking[ev.call_id] = busy
        leg = f"int-{uuid.uuid4().hex[:12]}"
        acd.registry.expect(leg, ev.call_id)
        rules = acd.config.internal
        agi = acd.ami.agi
        await agi(ev.channel, "EXEC Ringing", timeout=10)
        response: OriginateResponse | None = None
        try:
            name = caller.name or caller.id if caller else ev.caller_name or ev.caller_num
            number = (caller.extension or caller.id) if caller else ev.caller_num
            outcome = await acd.ami.originate({
                "Channel": target.device, "Context": "centralita-legs",
                "Exten": target.extension or target.id, "Priority": "1", "ChannelId": leg,
                "Timeout": str(int(rules.ring_timeout * 1000)),
                "CallerID": f"{name} <{number}>",
                "Variable": [f"CENTRALITA_CALL_ID={ev.call_id}", f"CENTRALITA_AGENT={target.id}"]})
            response = await asyncio.wait_for(outcome, rules.ring_timeout + 30)
        except (AmiError, TimeoutError) as exc:
            self.log.info("acd.internal_originate_failed", call_id=ev.call_id, error=str(exc))
        if ev.call_id not in acd.registry.calls:  # the caller hung up while it rang
            if response is not None and response.success:
                await acd._hangup(response.channel)
            self._release(ev.call_id)
            return
        if response is None or not response.success:
            self._release(ev.call_id)
            await self._unavailable(ev, target, "no answer")
            return
        try:
            await agi(ev.channel, "ANSWER", timeout=10)
            await acd.ami.send("Bridge", {"Channel1": ev.channel, "Channel2": response.channel,
                                          "Tone": "no"})
        except AmiError as exc:
            self.log.warning("acd.internal_bridge_failed", call_id=ev.call_id, error=str(exc))
            with contextlib.suppress(AmiError):
                await acd.ami.send("Hangup", {"Channel": response.channel})
            self._release(ev.call_id)
            return
        now = acd.clock()
        self.bridged.add(ev.call_id)
        acd.set_state(target.id, "on_call", now, call_id=ev.call_id)
        acd.bus.publish(CallConnected(ev.call_id, target.id, response.channel, now))
        acd.bus.publish(CallStepped(ev.call_id, "internal.connected", now, {
            "from": caller.id if caller else None, "to": target.id}))
        acd._update(ev.call_id, agent=target.id, connected_at=now)

    def _release(self, call_id: str) -> None:
        """Everyone this call made busy is ready again."""
        for agent_id in self.talking.pop(call_id, []):
            st = self.acd.status[agent_id]
            if st.state in ("on_call", "reserved") and st.call_id == call_id:
                self.acd._apply(agent_id, AgentStatus("ready", "", self.acd.clock()))

    def ended(self, call_id: str) -> None:
        if call_id in self.bridged:
            self.bridged.discard(call_id)
            self.acd.bus.publish(CallDataUpdated(call_id, self.acd.clock(), {}, outcome="answered"))
        self._release(call_id)

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

import structlog

from acd.intake import Intake
from acd.model import AcdConfig
from acd.state import Needs
from asterisk import actions
from asterisk import dialplan as dp
from asterisk.errors import AmiError
from asterisk.events import OriginateResponse
from core.events import CallConnected, CallStarted
from core.people import Agent, Directory
from core.ports import Ports

OWNER = "acd"


class InternalCalls:
    def __init__(self, ports: Ports, config: AcdConfig, directory: Directory,
                 intake: Intake) -> None:
        self.ports = ports
        self.config = config
        self.directory = directory
        self.intake = intake
        self.queue_extensions = {q.extension: name for name, q in config.queues.items()
                                 if q.extension}
        self.talking: dict[str, list[str]] = {}  # call_id -> agents made busy by it
        self.bridged: set[str] = set()
        self.log = structlog.get_logger("acd.internal")

    def started(self, ev: CallStarted) -> None:
        self.ports.spawn(self._run(ev))

    async def _run(self, ev: CallStarted) -> None:
        caller = self.directory.of_phone(ev.caller_num, ev.channel)
        dnis = ev.dnis
        target = self.directory.find(dnis)
        queue = self.queue_extensions.get(dnis)
        self.ports.step(ev.call_id, "internal.dialled", {
            "from": caller.id if caller else None, "to": dnis,
            "target": target.id if target else (f"queue:{queue}" if queue else None)})
        agi = self.ports.agi(ev.channel)
        try:
            if queue is not None:
                await agi.answer()
                self.intake.enqueue(ev.call_id, ev.channel, "queue", queue, self.ports.clock(),
                                    Needs(data={"internal_from": caller.id if caller else None}),
                                    record_route=True)
                return
            if target is None or (caller is not None and target.id == caller.id):
                await self._refuse(ev, "ss-noservice", "no such extension" if target is None
                                   else "dialled themselves")
                return
            status = self.ports.pool.status(target.id)
            if status.state != "ready":
                await self._unavailable(ev, target, f"{status.state} {status.reason}".strip())
                return
            await self._connect(ev, caller, target)
        except AmiError as exc:
            self.log.info("acd.internal_call_failed", call_id=ev.call_id, error=str(exc))

    async def _refuse(self, ev: CallStarted, prompt: str, why: str) -> None:
        agi = self.ports.agi(ev.channel)
        self.ports.step(ev.call_id, "internal.refused", {"why": why})
        await agi.answer()
        await agi.play(prompt, timeout=30)
        await agi.hangup()

    async def _unavailable(self, ev: CallStarted, target: Agent, why: str) -> None:
        """The colleague cannot take it: the configured treatment."""
        rules = self.config.internal
        agi = self.ports.agi(ev.channel)
        self.ports.step(ev.call_id, "internal.unavailable",
                        {"agent": target.id, "why": why, "treatment": rules.busy})
        self.ports.data(ev.call_id, {"internal": {"to": target.id, "why": why}},
                        outcome="agent_unavailable")
        if rules.busy == "busy_tone":
            await agi.exec("Busy", "10", timeout=30)
        elif rules.busy == "voicemail":
            await agi.answer()
            await agi.voicemail(rules.voicemail.format(extension=target.extension or target.id),
                                "b")
        else:
            await agi.answer()
            await agi.play("please-try-call-later", timeout=30)
        await agi.hangup()

    async def _connect(self, ev: CallStarted, caller: Agent | None, target: Agent) -> None:
        pool = self.ports.pool
        busy = []
        if pool.reserve(target.id, ev.call_id, OWNER):
            busy.append(target.id)
        if caller is not None and pool.state(caller.id) == "ready" \
                and pool.connect(caller.id, ev.call_id, OWNER):
            busy.append(caller.id)  # no queue call for them meanwhile
        self.talking[ev.call_id] = busy
        leg = f"int-{uuid.uuid4().hex[:12]}"
        self.ports.registry.expect(leg, ev.call_id)
        rules = self.config.internal
        agi = self.ports.agi(ev.channel)
        await agi.exec("Ringing", timeout=10)
        response: OriginateResponse | None = None
        try:
            name = caller.name or caller.id if caller else ev.caller_name or ev.caller_num
            number = (caller.extension or caller.id) if caller else ev.caller_num
            outcome = await self.ports.ami.originate(actions.originate(
                channel=target.device, context=dp.LEGS, exten=target.extension or target.id,
                channel_id=leg, ring_timeout=rules.ring_timeout, caller_id=f"{name} <{number}>",
                variables={dp.CALL_ID: ev.call_id, dp.AGENT: target.id}))
            response = await asyncio.wait_for(outcome, rules.ring_timeout + 30)
        except (AmiError, TimeoutError) as exc:
            self.log.info("acd.internal_originate_failed", call_id=ev.call_id, error=str(exc))
        if ev.call_id not in self.ports.registry.calls:  # the caller hung up while it rang
            if response is not None and response.success:
                await self.ports.hangup(response.channel)
            self._release(ev.call_id)
            return
        if response is None or not response.success:
            self._release(ev.call_id)
            await self._unavailable(ev, target, "no answer")
            return
        try:
            await agi.answer()
            await self.ports.ami.send(actions.bridge(ev.channel, response.channel))
        except AmiError as exc:
            self.log.warning("acd.internal_bridge_failed", call_id=ev.call_id, error=str(exc))
            with contextlib.suppress(AmiError):
                await self.ports.ami.send(actions.hangup(response.channel))
            self._release(ev.call_id)
            return
        now = self.ports.clock()
        self.bridged.add(ev.call_id)
        pool.connect(target.id, ev.call_id, OWNER)
        self.ports.bus.publish(CallConnected(ev.call_id, target.id, response.channel, now))
        self.ports.step(ev.call_id, "internal.connected",
                        {"from": caller.id if caller else None, "to": target.id}, at=now)
        self.ports.update(ev.call_id, agent=target.id, connected_at=now)

    def _release(self, call_id: str) -> None:
        """Everyone this call made busy is ready again."""
        for agent_id in self.talking.pop(call_id, []):
            self.ports.pool.release(agent_id, call_id)

    def ended(self, call_id: str) -> None:
        if call_id in self.bridged:
            self.bridged.discard(call_id)
            self.ports.data(call_id, {}, outcome="answered")
        self._release(call_id)

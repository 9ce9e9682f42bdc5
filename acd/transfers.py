"""Blind transfers: an agent sends their caller to a queue, a colleague, an IVR menu or an
outside number.

As observed on Asterisk 20.20.1: `BlindTransfer` on the agent's leg (of a Bridge-action
bridge) hangs that leg up and starts the caller on a new AsyncAGI session at
[centralita-legs] `xfer`, where the engine picks them up (`parked`).
"""

from __future__ import annotations

from dataclasses import replace

import structlog

from acd.desk import Desk
from acd.intake import Intake
from acd.model import AcdConfig
from acd.state import AcdState, Needs, Transfer
from acd.targets import TransferTo, transfer_target
from asterisk import actions
from asterisk import dialplan as dp
from asterisk.errors import AmiError
from core.events import CallParked, CallSentToMenu
from core.people import Directory
from core.ports import Ports

DEFAULT_DIAL = "PJSIP/{number}@trunk"


class Transfers:
    def __init__(self, state: AcdState, ports: Ports, config: AcdConfig, directory: Directory,
                 desk: Desk, intake: Intake, *, ivr_nodes: frozenset[str]) -> None:
        self.state = state
        self.ports = ports
        self.config = config
        self.directory = directory
        self.desk = desk
        self.intake = intake
        self.ivr_nodes = ivr_nodes  # where agents may send callers back to
        self.log = structlog.get_logger("acd")

    def transfer(self, agent_id: str, target: str, *, keep_priority: bool = True) -> str | None:
        """The caller keeps their data (and their priority unless told otherwise). None when
        under way, else why not; a refused transfer changes nothing."""
        if agent_id not in self.directory:
            return f"unknown agent {agent_id!r}"
        call_id = self.state.call_of_agent(agent_id)
        leg = self.state.leg_of(call_id) if call_id is not None else None
        if call_id is None or leg is None:
            return "not on a call"
        if call_id in self.state.transfers:
            return "a transfer of this call is already under way"
        call = self.ports.registry.calls.get(call_id)
        if call is None or call.channel == leg:
            return "this call cannot be transferred (a dial-back: the agent's leg carries it)"
        to = transfer_target(target, me=agent_id, queues=self.config.queues,
                             agents=self.directory, ivr_nodes=self.ivr_nodes,
                             state_of=self.ports.pool.state, may_dial=self.config.may_dial)
        if isinstance(to, str):
            return to
        self.state.transfers[call_id] = Transfer(to.kind, to.name, agent_id)
        self.ports.spawn(self._blind_transfer(call_id, agent_id, leg, to, keep_priority))
        return None

    async def _blind_transfer(self, call_id: str, agent_id: str, leg: str, to: TransferTo,
                              keep_priority: bool) -> None:
        now = self.ports.clock()
        try:  # the caller leaves for [centralita-legs] `xfer`, the agent's leg hangs up
            await self.ports.ami.send(actions.blind_transfer(leg, dp.LEGS, dp.XFER))
        except AmiError as exc:
            self.state.transfers.pop(call_id, None)
            self.log.warning("acd.transfer_failed", call_id=call_id, agent=agent_id, error=str(exc))
            self.ports.step(call_id, "acd.transfer_failed", {
                "agent": agent_id, "to": to.label, "error": str(exc)[:200]}, at=now)
            return
        before = self.state.needs.get(call_id)
        self.ports.step(call_id, "acd.transferred", {
            "from": agent_id, "to": to.label, "keep_priority": keep_priority}, at=now)
        self.ports.data(call_id, {"transferred": {"from": agent_id, "to": to.label, "at": now}},
                        at=now)
        self.state.closed.add(call_id)  # the agent who ends the call gives the disposition
        self.desk.agent_done(call_id, now)
        if not keep_priority and before is not None:
            self.state.needs[call_id] = replace(before, priority=0)

    def parked(self, ev: CallParked) -> bool:
        """The transferred caller is back in AsyncAGI: into the queue, to the agent, back to
        the IVR, or out to a number. False if no transfer of this call was under way."""
        t = self.state.transfers.pop(ev.call_id, None)
        if t is None:
            return False
        before = self.state.needs.get(ev.call_id)
        language = before.language if before else "en"
        if t.kind == "ivr":
            number = self.state.numbers.get(ev.call_id) or (
                str(before.data.get("caller_num", "")) if before else "")
            self.ports.bus.publish(CallSentToMenu(
                ev.call_id, ev.channel, ev.at, t.name, language,
                {"caller_num": number, "transferred_by": t.by}))
            return True
        if t.kind == "external":
            self.ports.spawn(self._dial_out(ev.call_id, ev.channel, t.name, t.by))
            return True
        data = dict(before.data) if before is not None else {}
        data["transferred_by"] = t.by
        # The new queue's own requirements apply (as on overflow); an agent is just that agent.
        needs = replace(before, skills={}, data=data) if before is not None else Needs(data=data)
        self.intake.enqueue(ev.call_id, ev.channel, t.kind, t.name, ev.at, needs,
                            record_route=True)
        return True

    async def _dial_out(self, call_id: str, channel: str, number: str, by: str) -> None:
        """Transferred to an outside number: the caller is dialled through to it, with the
        dial string of the transferring agent's queue."""
        queue = self.config.queues.get(self.state.queue_of(by))
        dial = (queue.callback.dial if queue else DEFAULT_DIAL).format(number=number)
        self.ports.data(call_id, {"external": number}, outcome="transferred_out")
        agi = self.ports.agi(channel)
        try:
            await agi.dial(dial, 60)
            await agi.hangup()
        except AmiError:
            pass

    def forget(self, call_id: str) -> None:
        self.state.transfers.pop(call_id, None)
        self.state.needs.pop(call_id, None)

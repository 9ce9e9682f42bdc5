"""Consultations (attended transfers): the agent puts the caller on hold, talks to a
colleague or supervisor, then completes the transfer, returns to the caller, or makes it a
three-way conference.

As observed on Asterisk 20.20.1: a dual `Redirect` takes caller and agent out of their
bridge into [centralita-legs] (`hold`, `consult`), where each starts a new AsyncAGI
session; the `Bridge` action joins any two of them again; `BridgeAdd` (run on the
colleague's leg) adds a third party to the caller's bridge.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING

import structlog

from acd.agents import AgentStatus
from asterisk.errors import AgiChannelGone, AmiError
from asterisk.events import OriginateResponse
from core.events import CallConnected, CallParked, CallStepped

if TYPE_CHECKING:
    from acd.service import AcdService

LEGS = "centralita-legs"


@dataclass(slots=True)
class Consult:
    call_id: str
    agent: str  # who consults
    agent_leg: str
    caller: str  # the caller's channel
    colleague: str
    colleague_leg: str | None = None
    stage: str = "holding"  # holding, ringing, talking, conference
    hold: asyncio.Task[None] | None = None


class Consults:
    def __init__(self, acd: AcdService) -> None:
        self.acd = acd
        self.active: dict[str, Consult] = {}  # call_id -> its consultation
        self.conferences: dict[str, dict[str, str]] = {}  # call_id -> colleague -> their leg
        self.log = structlog.get_logger("acd.consult")

    def _find(self, agent_id: str) -> Consult | None:
        return next((c for c in self.active.values() if c.agent == agent_id), None)

    # --- starting ---------------------------------------------------------------------

    def consult(self, agent_id: str, target: str) -> str | None:
        acd = self.acd
        if agent_id not in acd.agents:
            return f"unknown agent {agent_id!r}"
        call_id = next((c for c, (a, _) in acd.connected.items() if a == agent_id), None)
        if call_id is None or call_id not in acd.agent_legs:
            return "not on a call"
        if call_id in self.active or call_id in acd.transfers:
            return "this call is already being transferred or consulted"
        call = acd.registry.calls.get(call_id)
        if call is None or call.channel == acd.agent_legs[call_id]:
            return "this call cannot be consulted on (a dial-back: the agent's leg carries it)"
        colleague = target.removeprefix("agent:")
        person = next((a for a in acd.config.agents if colleague in (a.id, a.extension)), None)
        if person is None:
            return f"unknown agent {colleague!r}"
        if person.id == agent_id:
            return "cannot consult yourself"
        if acd.status[person.id].state != "ready":
            return f"agent {person.id} is not free ({acd.status[person.id].state})"
        c = Consult(call_id, agent_id, acd.agent_legs[call_id], call.channel, person.id)
        self.active[call_id] = c
        acd.set_state(person.id, "reserved", acd.clock(), call_id=call_id)
        acd.spawn(self._start(c))
        return None

    async def _start(self, c: Consult) -> None:
        acd = self.acd
        parked = acd.expect_parked(c.agent_leg)
        try:
            await acd.ami.send("Redirect", {
                "Channel": c.caller, "Context": LEGS, "Exten": "hold", "Priority": "1",
                "ExtraChannel": c.agent_leg, "ExtraContext": LEGS, "ExtraExten": "consult",
                "ExtraPriority": "1"})
            await asyncio.wait_for(parked, 10)
        except (AmiError, TimeoutError) as exc:
            self.log.warning("acd.consult_failed", call_id=c.call_id, error=str(exc))
            self._end(c, "failed")
            return
        acd.bus.publish(CallStepped(c.call_id, "acd.consult_started", acd.clock(),
                                    {"agent": c.agent, "colleague": c.colleague}))
        c.stage = "ringing"
        person = acd.agents[c.colleague]
        leg = f"cns-{uuid.uuid4().hex[:12]}"
        acd.registry.expect(leg, c.call_id)
        response: OriginateResponse | None = None
        with contextlib.suppress(AmiError):
            await acd.ami.agi(c.agent_leg, "SET MUSIC ON default", timeout=10)  # ringback
        try:
            outcome = await acd.ami.originate({
                "Channel": person.device, "Context": LEGS, "Exten": person.extension or person.id,
                "Priority": "1", "ChannelId": leg,
                "Timeout": str(int(acd.config.internal.ring_timeout * 1000)),
                "CallerID": f"consult {c.agent} <{acd.agents[c.agent].extension or c.agent}>",
                "Variable": [f"CENTRALITA_CALL_ID={c.call_id}",
                             f"CENTRALITA_AGENT={person.id}"]})
            response = await asyncio.wait_for(outcome, acd.config.internal.ring_timeout + 30)
        except (AmiError, TimeoutError) as exc:
            self.log.info("acd.consult_originate_failed", call_id=c.call_id, error=str(exc))
        if c.call_id not in self.active:  # cancelled, or the caller left, while it rang
            if response is not None and response.success:
                await acd._hangup(response.channel)
            return
        if response is None or not response.success:
            acd.bus.publish(CallStepped(c.call_id, "acd.consult_unanswered", acd.clock(),
                                        {"colleague": c.colleague}))
            await self._rejoin(c, "unanswered")
            return
        c.colleague_leg, c.stage = response.channel, "talking"
        try:
            await acd.ami.send("Bridge", {"Channel1": c.agent_leg, "Channel2": response.channel,
                                          "Tone": "no"})
        except AmiError as exc:
            self.log.warning("acd.consult_bridge_failed", call_id=c.call_id, error=str(exc))
            await acd._hangup(response.channel)
            await self._rejoin(c, "bridge_failed")
            return
        acd.set_state(c.colleague, "on_call", acd.clock(), call_id=c.call_id)
        acd.bus.publish(CallStepped(c.call_id, "acd.consulting", acd.clock(),
                                    {"agent": c.agent, "colleague": c.colleague}))

    def caller_parked(self, ev: CallParked) -> None:
        """The caller waits on hold (music) while the agent consults."""
        c = self.active.get(ev.call_id)
        if c is not None:
            c.hold = self.acd.spawn(self._hold(c))

    async def _hold(self, c: Consult) -> None:
        agi = self.acd.ami.agi
        try:
            await agi(c.caller, "SET MUSIC ON default", timeout=10)
            while c.call_id in self.active and c.stage != "done":
                await agi(c.caller, "WAIT FOR DIGIT 1000", timeout=30)
        except (AgiChannelGone, AmiError):
            return

    # --- ending -----------------------------------------------------------------------

    def finish(self, agent_id: str, how: str) -> str | None:
        """complete (the colleague keeps the caller), cancel (back to the caller) or
        conference (all three)."""
        c = self._find(agent_id)
        if c is None:
            return "no consultation under way"
        if how in ("complete", "conference") and c.stage != "talking":
            return f"the colleague is not on the line yet ({c.stage})"
        if how not in ("complete", "cancel", "conference"):
            return f"unknown consult step {how!r}"
        self.acd.spawn(self._finish(c, how))
        return None

    async def _finish(self, c: Consult, how: str) -> None:
        acd = self.acd
        c.stage = "done"
        if c.hold is not None:
            c.hold.cancel()
        if how == "cancel":
            # Move the agent out first: a leg left alone in a Bridge-action bridge goes on
            # in its dialplan (Hangup), so the colleague's is hung up only after.
            await self._rejoin(c, "cancelled")
            if c.colleague_leg is not None:
                await acd._hangup(c.colleague_leg)
            return
        assert c.colleague_leg is not None
        if how == "complete":
            try:
                await acd.ami.send("Bridge", {"Channel1": c.caller, "Channel2": c.colleague_leg,
                                              "Tone": "no"})
            except AmiError as exc:
                self.log.warning("acd.consult_complete_failed", call_id=c.call_id, error=str(exc))
                await self._rejoin(c, "complete_failed")
                return
            await acd._hangup(c.agent_leg)  # alone in the consultation's bridge now
            now = acd.clock()
            self.active.pop(c.call_id, None)
            acd.after.closed.add(c.call_id)  # the colleague closes the call
            acd._agent_done(c.call_id, now)
            acd.connected[c.call_id] = (c.colleague, now)
            acd.set_agent_leg(c.call_id, c.colleague_leg)
            acd.bus.publish(CallStepped(c.call_id, "acd.transferred", now, {
                "from": c.agent, "to": f"agent:{c.colleague}", "consulted": True}))
            acd.bus.publish(CallConnected(c.call_id, c.colleague, c.colleague_leg, now))
            acd._update(c.call_id, agent=c.colleague)
            return
        # conference: both agents leave their bridge at once (one left alone would go on
        # in its dialplan and hang up), the agent rejoins the caller, the colleague is added
        parked = acd.expect_parked(c.colleague_leg)
        agent_back = acd.expect_parked(c.agent_leg)
        try:
            await acd.ami.send("Redirect", {
                "Channel": c.agent_leg, "Context": LEGS, "Exten": "consult", "Priority": "1",
                "ExtraChannel": c.colleague_leg, "ExtraContext": LEGS,
                "ExtraExten": "conference", "ExtraPriority": "1"})
            await asyncio.wait_for(asyncio.gather(parked, agent_back), 10)
            await acd.ami.send("Bridge", {"Channel1": c.caller, "Channel2": c.agent_leg,
                                          "Tone": "no"})
        except (AmiError, TimeoutError) as exc:
            self.log.warning("acd.conference_failed", call_id=c.call_id, error=str(exc))
            await acd._hangup(c.colleague_leg)
            self._end(c, "conference_failed")
            return
        self.active.pop(c.call_id, None)
        self.conferences.setdefault(c.call_id, {})[c.colleague] = c.colleague_leg
        acd.bus.publish(CallStepped(c.call_id, "acd.conference", acd.clock(), {
            "agent": c.agent, "colleague": c.colleague}))
        with contextlib.suppress(AmiError):  # runs until the colleague leaves the call
            await acd.ami.agi(c.colleague_leg, f"EXEC BridgeAdd {c.caller}",
                              timeout=14400)
        if self.conferences.get(c.call_id, {}).pop(c.colleague, None) is not None:
            self._free(c.colleague, c.call_id)  # they left; the other two talk on
        with contextlib.suppress(AmiError):
            await acd.ami.agi(c.colleague_leg, "HANGUP", timeout=10)

    async def _rejoin(self, c: Consult, why: str) -> None:
        """Back to the caller: agent and caller bridged again."""
        acd = self.acd
        c.stage = "done"
        if c.hold is not None:
            c.hold.cancel()
        try:
            await acd.ami.send("Bridge", {"Channel1": c.caller, "Channel2": c.agent_leg,
                                          "Tone": "no"})
        except AmiError as exc:
            self.log.warning("acd.consult_rejoin_failed", call_id=c.call_id, error=str(exc))
        self._end(c, why)

    def _end(self, c: Consult, why: str) -> None:
        self.active.pop(c.call_id, None)
        self._free(c.colleague, c.call_id)
        self.acd.bus.publish(CallStepped(c.call_id, "acd.consult_ended", self.acd.clock(),
                                         {"agent": c.agent, "colleague": c.colleague,
                                          "why": why}))

    def _free(self, agent_id: str, call_id: str) -> None:
        st = self.acd.status[agent_id]
        if st.state in ("reserved", "on_call") and st.call_id == call_id:
            self.acd._apply(agent_id, AgentStatus("ready", "", self.acd.clock()))

    def ended(self, call_id: str, agent_leg: str | None) -> None:
        """The caller hung up: a consultation under way ends; a conference ends for all
        (the agents' legs are hung up, the colleagues free again)."""
        c = self.active.pop(call_id, None)
        if c is not None:
            if c.hold is not None:
                c.hold.cancel()
            self._free(c.colleague, call_id)
            if c.colleague_leg is not None:
                self.acd.spawn(self.acd._hangup(c.colleague_leg))
        joined = self.conferences.pop(call_id, {})
        for colleague, leg in joined.items():
            self._free(colleague, call_id)
            self.acd.spawn(self.acd._hangup(leg))
        if joined and agent_leg is not None:
            self.acd.spawn(self.acd._hangup(agent_leg))

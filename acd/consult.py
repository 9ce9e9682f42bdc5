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

import structlog

from acd.desk import Desk
from acd.model import AcdConfig
from acd.state import AcdState, Cancellable
from asterisk import actions
from asterisk import dialplan as dp
from asterisk.errors import AgiChannelGone, AmiError
from asterisk.events import OriginateResponse
from core.events import CallConnected, CallParked
from core.people import Directory
from core.ports import Ports

OWNER = "acd"


@dataclass(slots=True)
class Consult:
    call_id: str
    agent: str  # who consults
    agent_leg: str
    caller: str  # the caller's channel
    colleague: str
    colleague_leg: str | None = None
    stage: str = "holding"  # holding, ringing, talking, done
    hold: Cancellable | None = None


class Consults:
    def __init__(self, state: AcdState, ports: Ports, config: AcdConfig, directory: Directory,
                 desk: Desk) -> None:
        self.state = state
        self.ports = ports
        self.config = config
        self.directory = directory
        self.desk = desk
        self.active: dict[str, Consult] = {}  # call_id -> its consultation
        self._of_agent: dict[str, str] = {}  # consulting agent -> call_id
        self.conferences: dict[str, dict[str, str]] = {}  # call_id -> colleague -> their leg
        #: channels waited for in AsyncAGI again, after a Redirect (channel -> its future)
        self._parked: dict[str, asyncio.Future[None]] = {}
        self.log = structlog.get_logger("acd.consult")

    def under_way(self, call_id: str) -> bool:
        return call_id in self.active

    # --- starting ---------------------------------------------------------------------

    def consult(self, agent_id: str, target: str) -> str | None:
        if agent_id not in self.directory:
            return f"unknown agent {agent_id!r}"
        call_id = self.state.call_of_agent(agent_id)
        leg = self.state.leg_of(call_id) if call_id is not None else None
        if call_id is None or leg is None:
            return "not on a call"
        if call_id in self.active or call_id in self.state.transfers:
            return "this call is already being transferred or consulted"
        call = self.ports.registry.calls.get(call_id)
        if call is None or call.channel == leg:
            return "this call cannot be consulted on (a dial-back: the agent's leg carries it)"
        person = self.directory.find(target.removeprefix("agent:"))
        if person is None:
            return f"unknown agent {target.removeprefix('agent:')!r}"
        if person.id == agent_id:
            return "cannot consult yourself"
        state = self.ports.pool.state(person.id)
        if state != "ready":
            return f"agent {person.id} is not free ({state})"
        c = Consult(call_id, agent_id, leg, call.channel, person.id)
        if not self.ports.pool.reserve(person.id, call_id, OWNER):
            return f"agent {person.id} is not free"
        self.active[call_id] = c
        self._of_agent[agent_id] = call_id
        self.ports.spawn(self._start(c))
        return None

    def _expect_parked(self, channel: str) -> asyncio.Future[None]:
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._parked[channel] = fut
        return fut

    def on_parked(self, ev: CallParked) -> bool:
        """A channel is in AsyncAGI again: a Redirect we waited for; the caller on hold.
        True when the consultation owns the caller's return."""
        waiter = self._parked.pop(ev.channel, None)
        if waiter is not None and not waiter.done():
            waiter.set_result(None)
        c = self.active.get(ev.call_id)
        call = self.ports.registry.calls.get(ev.call_id)
        if c is None or call is None or call.channel != ev.channel:
            return False
        c.hold = self.ports.spawn(self._hold(c))
        return True

    async def _start(self, c: Consult) -> None:
        parked = self._expect_parked(c.agent_leg)
        try:
            await self.ports.ami.send(actions.redirect_pair(
                c.caller, (dp.LEGS, dp.HOLD), c.agent_leg, (dp.LEGS, dp.CONSULT)))
            await asyncio.wait_for(parked, 10)
        except (AmiError, TimeoutError) as exc:
            self.log.warning("acd.consult_failed", call_id=c.call_id, error=str(exc))
            self._end(c, "failed")
            return
        self.ports.step(c.call_id, "acd.consult_started", {"agent": c.agent,
                                                           "colleague": c.colleague})
        c.stage = "ringing"
        person = self.directory[c.colleague]
        leg = f"cns-{uuid.uuid4().hex[:12]}"
        self.ports.registry.expect(leg, c.call_id)
        response: OriginateResponse | None = None
        with contextlib.suppress(AmiError):
            await self.ports.agi(c.agent_leg).music_on("default", timeout=10)  # ringback
        ring = self.config.internal.ring_timeout
        me = self.directory[c.agent]
        try:
            outcome = await self.ports.ami.originate(actions.originate(
                channel=person.device, context=dp.LEGS, exten=person.extension or person.id,
                channel_id=leg, ring_timeout=ring,
                caller_id=f"consult {c.agent} <{me.extension or c.agent}>",
                variables={dp.CALL_ID: c.call_id, dp.AGENT: person.id}))
            response = await asyncio.wait_for(outcome, ring + 30)
        except (AmiError, TimeoutError) as exc:
            self.log.info("acd.consult_originate_failed", call_id=c.call_id, error=str(exc))
        if c.call_id not in self.active:  # cancelled, or the caller left, while it rang
            if response is not None and response.success:
                await self.ports.hangup(response.channel)
            return
        if response is None or not response.success:
            self.ports.step(c.call_id, "acd.consult_unanswered", {"colleague": c.colleague})
            await self._rejoin(c, "unanswered")
            return
        c.colleague_leg, c.stage = response.channel, "talking"
        try:
            await self.ports.ami.send(actions.bridge(c.agent_leg, response.channel))
        except AmiError as exc:
            self.log.warning("acd.consult_bridge_failed", call_id=c.call_id, error=str(exc))
            await self.ports.hangup(response.channel)
            await self._rejoin(c, "bridge_failed")
            return
        self.ports.pool.connect(c.colleague, c.call_id, OWNER)
        self.ports.step(c.call_id, "acd.consulting", {"agent": c.agent, "colleague": c.colleague})

    async def _hold(self, c: Consult) -> None:
        """The caller waits on hold (music) while the agent consults."""
        agi = self.ports.agi(c.caller)
        try:
            await agi.music_on("default", timeout=10)
            while c.call_id in self.active and c.stage != "done":
                await agi.wait_for_digit(1000, timeout=30)
        except (AgiChannelGone, AmiError):
            return

    # --- ending -----------------------------------------------------------------------

    def finish(self, agent_id: str, how: str) -> str | None:
        """complete (the colleague keeps the caller), cancel (back to the caller) or
        conference (all three)."""
        call_id = self._of_agent.get(agent_id)
        c = self.active.get(call_id) if call_id is not None else None
        if c is None:
            return "no consultation under way"
        if how not in ("complete", "cancel", "conference"):
            return f"unknown consult step {how!r}"
        if how in ("complete", "conference") and c.stage != "talking":
            return f"the colleague is not on the line yet ({c.stage})"
        self.ports.spawn(self._finish(c, how))
        return None

    async def _finish(self, c: Consult, how: str) -> None:
        c.stage = "done"
        if c.hold is not None:
            c.hold.cancel()
        if how == "cancel":
            # Move the agent out first: a leg left alone in a Bridge-action bridge goes on
            # in its dialplan (Hangup), so the colleague's is hung up only after.
            await self._rejoin(c, "cancelled")
            if c.colleague_leg is not None:
                await self.ports.hangup(c.colleague_leg)
            return
        assert c.colleague_leg is not None
        if how == "complete":
            await self._complete(c, c.colleague_leg)
        else:
            await self._conference(c, c.colleague_leg)

    async def _complete(self, c: Consult, colleague_leg: str) -> None:
        try:
            await self.ports.ami.send(actions.bridge(c.caller, colleague_leg))
        except AmiError as exc:
            self.log.warning("acd.consult_complete_failed", call_id=c.call_id, error=str(exc))
            await self._rejoin(c, "complete_failed")
            return
        await self.ports.hangup(c.agent_leg)  # alone in the consultation's bridge now
        now = self.ports.clock()
        self._forget(c)
        self.state.closed.add(c.call_id)  # the colleague closes the call
        queue = self.state.connections[c.call_id].queue if c.call_id in self.state.connections \
            else ""
        self.desk.agent_done(c.call_id, now)
        self.state.connect(c.call_id, c.colleague, now, colleague_leg, queue)
        self.ports.step(c.call_id, "acd.transferred", {
            "from": c.agent, "to": f"agent:{c.colleague}", "consulted": True}, at=now)
        self.ports.bus.publish(CallConnected(c.call_id, c.colleague, colleague_leg, now))
        self.ports.update(c.call_id, agent=c.colleague)

    async def _conference(self, c: Consult, colleague_leg: str) -> None:
        # Both agents leave their bridge at once (one left alone would go on in its
        # dialplan and hang up); the agent rejoins the caller; the colleague is added.
        parked = self._expect_parked(colleague_leg)
        agent_back = self._expect_parked(c.agent_leg)
        try:
            await self.ports.ami.send(actions.redirect_pair(
                c.agent_leg, (dp.LEGS, dp.CONSULT), colleague_leg, (dp.LEGS, dp.CONFERENCE)))
            await asyncio.wait_for(asyncio.gather(parked, agent_back), 10)
            await self.ports.ami.send(actions.bridge(c.caller, c.agent_leg))
        except (AmiError, TimeoutError) as exc:
            self.log.warning("acd.conference_failed", call_id=c.call_id, error=str(exc))
            await self.ports.hangup(colleague_leg)
            self._end(c, "conference_failed")
            return
        self._forget(c)
        self.conferences.setdefault(c.call_id, {})[c.colleague] = colleague_leg
        self.ports.step(c.call_id, "acd.conference", {"agent": c.agent, "colleague": c.colleague})
        colleague = self.ports.agi(colleague_leg)
        with contextlib.suppress(AmiError):  # runs until the colleague leaves the call
            await colleague.exec("BridgeAdd", c.caller, timeout=14400)
        if self.conferences.get(c.call_id, {}).pop(c.colleague, None) is not None:
            self.ports.pool.release(c.colleague, c.call_id)  # they left; the others talk on
        with contextlib.suppress(AmiError):
            await colleague.hangup()

    async def _rejoin(self, c: Consult, why: str) -> None:
        """Back to the caller: agent and caller bridged again."""
        c.stage = "done"
        if c.hold is not None:
            c.hold.cancel()
        try:
            await self.ports.ami.send(actions.bridge(c.caller, c.agent_leg))
        except AmiError as exc:
            self.log.warning("acd.consult_rejoin_failed", call_id=c.call_id, error=str(exc))
        self._end(c, why)

    def _forget(self, c: Consult) -> None:
        self.active.pop(c.call_id, None)
        if self._of_agent.get(c.agent) == c.call_id:
            del self._of_agent[c.agent]

    def _end(self, c: Consult, why: str) -> None:
        self._forget(c)
        self.ports.pool.release(c.colleague, c.call_id)
        self.ports.step(c.call_id, "acd.consult_ended", {"agent": c.agent,
                                                         "colleague": c.colleague, "why": why})

    def ended(self, call_id: str, agent_leg: str | None) -> None:
        """The caller hung up: a consultation under way ends; a conference ends for all
        (the agents' legs are hung up, the colleagues free again)."""
        c = self.active.get(call_id)
        if c is not None:
            self._forget(c)
            if c.hold is not None:
                c.hold.cancel()
            self.ports.pool.release(c.colleague, call_id)
            if c.colleague_leg is not None:
                self.ports.spawn(self.ports.hangup(c.colleague_leg))
        joined = self.conferences.pop(call_id, {})
        for colleague, leg in joined.items():
            self.ports.pool.release(colleague, call_id)
            self.ports.spawn(self.ports.hangup(leg))
        if joined and agent_leg is not None:
            self.ports.spawn(self.ports.hangup(agent_leg))

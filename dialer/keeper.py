"""Keeping agents' lines connected between a campaign's calls.

An agent who serves a campaign gets one call to their phone when they are ready; once they
answer, the line waits in AsyncAGI at [centralita-legs] `nailed` (music or silence), is
bridged to each customer in a millisecond (the `Bridge` action), and comes back into
AsyncAGI when the customer hangs up: the loop recorded on Asterisk 20.20.1 in
../shared/ami-transcripts/dialer (nailed_bridge_loop: 0-2 ms per join, three calls on one
leg). The transcripts' other ways were slower (AGI EXEC Bridge: 17 ms) or lose the leg
after one call (no loop), or need a conference bridge per agent (ConfBridge).

An unanswered line pauses the agent (no_answer), as unanswered rings do; a line the
agent's phone hangs up pauses them (phone); logging out hangs the line up.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable

import structlog

from asterisk import actions
from asterisk import dialplan as dp
from asterisk.errors import AmiError
from core.agentstate import Pause, RingUnanswered
from core.events import LegEnded, LegParked
from core.people import Directory
from core.pool import AgentChanged
from core.ports import Ports
from core.resync import LINE_OWNER_PREFIX

PREFIX = LINE_OWNER_PREFIX  # the registry holds lines as `line:<agent>`
LINE_OWNER = "line"  # holds the agent in the pool while the line rings
RING = 30.0  # seconds the agent's phone rings for the line


def owner_of(agent: str) -> str:
    return f"{PREFIX}{agent}"


class LineKeeper:
    def __init__(self, ports: Ports, directory: Directory, *, wanted: Callable[[str], bool],
                 music: Callable[[str], bool], on_idle: Callable[[str], None]) -> None:
        self.ports = ports
        self.directory = directory
        self.wanted = wanted  # does the agent serve a campaign that is not stopped
        self.music = music  # do they hear music between calls (else silence)
        self.on_idle = on_idle  # their line is free for the next call
        self._opening: set[str] = set()
        self.log = structlog.get_logger("dialer")
        ports.bus.subscribe(LegParked, self._parked)
        ports.bus.subscribe(LegEnded, self._ended)

    # --- when lines open and close ------------------------------------------------------

    def agent_changed(self, change: AgentChanged) -> None:
        agent, after = change.agent_id, change.after
        if after.state == "logged_out":
            self.close(agent)
        elif after.state == "ready":
            self.ensure(agent)

    def ensure(self, agent: str) -> None:
        """A ready agent who serves a running campaign gets their line."""
        lines = self.ports.lines
        if agent in lines or agent in self._opening or not self.wanted(agent):
            return
        leg = f"line-{uuid.uuid4().hex[:12]}"
        # Held while their phone rings for the line, so that nothing else rings it.
        if not self.ports.pool.reserve(agent, leg, LINE_OWNER):
            return
        self._opening.add(agent)
        self.ports.spawn(self._open(agent, leg))

    def ensure_all(self) -> None:
        for agent in self.ports.pool:
            self.ensure(agent)

    async def _open(self, agent: str, leg: str) -> None:
        ports = self.ports
        now = ports.clock()
        try:
            ports.registry.hold(leg, owner_of(agent))
            ports.lines.opening(agent, leg, now)
            self.log.info("dialer.line_opening", agent=agent, leg=leg)
            device = self.directory[agent]
            try:
                outcome = await ports.ami.originate(actions.originate(
                    channel=device.device, context=dp.LEGS, exten=dp.NAILED, channel_id=leg,
                    ring_timeout=RING, caller_id="centralita <line>",
                    variables={dp.AGENT: agent}))
                response = await asyncio.wait_for(outcome, RING + 30)
            except (AmiError, TimeoutError) as exc:
                self.log.warning("dialer.line_failed", agent=agent, error=str(exc)[:200])
                response = None
        finally:
            self._opening.discard(agent)
        line = ports.lines.line(agent)
        if response is None or not response.success:
            if line is not None and line.leg == leg:
                ports.lines.forget(agent)
            self.log.info("dialer.line_unanswered", agent=agent,
                          reason=response.reason if response is not None else None)
            ports.pool.try_apply(agent, RingUnanswered(1), why="no_answer")
            return
        if line is None or line.leg != leg or not self.wanted(agent):
            await ports.hangup(response.channel)  # not wanted any more
            ports.pool.release(agent, leg)
            return
        ports.lines.answered(agent, response.channel)
        ports.pool.release(agent, leg)  # ready: the line is theirs

    def close(self, agent: str) -> None:
        line = self.ports.lines.forget(agent)
        if line is None:
            return
        self.log.info("dialer.line_closed", agent=agent, channel=line.channel)
        if line.channel is not None:
            self.ports.spawn(self.ports.hangup(line.channel))
        else:
            self.ports.spawn(self.ports.hangup_leg(line.leg))

    def close_unwanted(self) -> None:
        """After a campaign stops (or a reload): lines of agents it no longer needs."""
        for agent in list(self.ports.pool):
            line = self.ports.lines.line(agent)
            if line is not None and line.state == "idle" and not self.wanted(agent):
                self.close(agent)

    # --- what the line does -------------------------------------------------------------

    def _parked(self, ev: LegParked) -> None:
        if not ev.owner.startswith(PREFIX):
            return
        agent = ev.owner[len(PREFIX):]
        lines = self.ports.lines
        line = lines.line(agent)
        if line is None:  # found after a restart, or opened before the answer came back
            lines.opening(agent, "", ev.at)
            line = lines.line(agent)
        if line is not None and line.channel != ev.channel:
            lines.answered(agent, ev.channel)
        lines.parked(ev.channel, ev.at)
        if agent not in self.ports.pool or self.ports.pool.state(agent) == "logged_out":
            self.close(agent)
            return
        if self.music(agent):
            self.ports.spawn(self._music(ev.channel))
        self.on_idle(agent)

    async def _music(self, channel: str) -> None:
        try:
            await self.ports.agi(channel).music_on(timeout=10)
        except AmiError as exc:  # silence instead: the line still works
            self.log.info("dialer.line_music_failed", channel=channel, error=str(exc)[:200])

    def _ended(self, ev: LegEnded) -> None:
        if not ev.owner.startswith(PREFIX):
            return
        agent = ev.owner[len(PREFIX):]
        line = self.ports.lines.ended(ev.channel)
        if line is None or agent not in self.ports.pool:
            return
        self.log.info("dialer.line_ended", agent=agent, channel=ev.channel, cause=ev.cause)
        if self.ports.pool.state(agent) in ("ready", "reserved", "wrapup"):
            self.ports.pool.try_apply(agent, Pause("phone"), why="phone")

    # --- the agent's command ------------------------------------------------------------

    def hang_up(self, agent: str) -> str | None:
        """End the call on the agent's line (the `hangup` command); the line stays."""
        if agent not in self.directory:
            return f"unknown agent {agent!r}"
        line = self.ports.lines.line(agent)
        if line is None or line.channel is None:
            return "you have no kept line (hang up your phone to end a call)"
        st = self.ports.pool.status(agent)
        call = self.ports.registry.calls.get(st.call_id or "") if st.state == "on_call" else None
        # The call's own channel (the customer, the caller), even before its BridgeEnter
        # is seen; else whoever shares the line's bridge.
        ends = {call.channel} if call is not None else self.ports.registry.peers(line.channel)
        if not ends:
            return "there is no call on your line"
        for channel in ends:
            self.ports.spawn(self.ports.hangup(channel))
        return None

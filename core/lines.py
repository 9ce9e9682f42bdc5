"""Agents' lines kept connected between calls ("nailed up"): the agent's phone answered
once, then parked in AsyncAGI at [centralita-legs] `nailed`, bridged to each customer or
caller in a millisecond and back in AsyncAGI when the call lets it go (as recorded on
Asterisk 20.20.1: ../shared/ami-transcripts/dialer, nailed_bridge_loop).

The dialer opens and keeps them; whoever connects a call to an agent (the dialer, and the
ACD for blended agents) takes the agent's idle line instead of ringing the phone.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

LineState = Literal["ringing", "idle", "busy"]


@dataclass(slots=True)
class Line:
    agent: str
    leg: str  # the ChannelId the engine gave it
    channel: str | None = None  # known once the phone answered
    state: LineState = "ringing"
    since: float = 0.0


class AgentLines:
    def __init__(self) -> None:
        self._by_agent: dict[str, Line] = {}
        self._by_channel: dict[str, Line] = {}

    def __contains__(self, agent: object) -> bool:
        return agent in self._by_agent

    def line(self, agent: str) -> Line | None:
        return self._by_agent.get(agent)

    def of_channel(self, channel: str) -> Line | None:
        return self._by_channel.get(channel)

    def idle(self, agent: str) -> str | None:
        """The agent's line when it waits for a call; None otherwise."""
        line = self._by_agent.get(agent)
        return line.channel if line is not None and line.state == "idle" else None

    def opening(self, agent: str, leg: str, at: float) -> Line:
        line = Line(agent, leg, since=at)
        self._by_agent[agent] = line
        return line

    def answered(self, agent: str, channel: str) -> None:
        line = self._by_agent.get(agent)
        if line is not None:
            line.channel = channel
            self._by_channel[channel] = line

    def take(self, agent: str, at: float) -> str | None:
        """The agent's idle line, now busy with a call; None if there is none."""
        line = self._by_agent.get(agent)
        if line is None or line.state != "idle" or line.channel is None:
            return None
        line.state, line.since = "busy", at
        return line.channel

    def parked(self, channel: str, at: float) -> Line | None:
        """The line is in AsyncAGI again (answered, or a call let it go)."""
        line = self._by_channel.get(channel)
        if line is not None:
            line.state, line.since = "idle", at
        return line

    def ended(self, channel: str) -> Line | None:
        line = self._by_channel.pop(channel, None)
        if line is not None and self._by_agent.get(line.agent) is line:
            del self._by_agent[line.agent]
        return line

    def forget(self, agent: str) -> Line | None:
        """A line that never answered (or is dropped on purpose)."""
        line = self._by_agent.pop(agent, None)
        if line is not None and line.channel is not None:
            self._by_channel.pop(line.channel, None)
        return line

    def count(self, state: LineState) -> int:
        return sum(1 for line in self._by_agent.values() if line.state == state)

"""Asterisk's queue_log, written from centralita's own events, so the tools people
already run on Asterisk (QueueMetrics, Asternic and the like) can read its calls.

Lines are `epoch|callid|queue|agent|EVENT|data...` with the fields and their order as
Asterisk's documentation gives them (docs.asterisk.org, Operation/Logging/Queue-Logs):

  ENTERQUEUE      url|callerid
  CONNECT         holdtime|bridgedchanneluniqueid|ringtime
  COMPLETECALLER  holdtime|calltime|origposition   (the caller hung up)
  COMPLETEAGENT   holdtime|calltime|origposition   (the agent hung up)
  ABANDON         position|origposition|waittime
  EXITWITHTIMEOUT position|origposition|waittime   (max_wait and other overflows)
  EXITEMPTY       position|origposition|waittime   (the queue emptied of agents)
  EXITWITHKEY     key|position|origposition|waittime
  RINGNOANSWER    ringtime (milliseconds)
  TRANSFER        extension|context|holdtime|calltime|origposition
  AGENTLOGIN      channel                     (queue NONE)
  AGENTLOGOFF     channel|logintime           (queue NONE)
  PAUSE / UNPAUSE reason                      (queue NONE)

Agents are written `Agent/<id>`, the way QueueMetrics expects agents. The call id is the
engine's call_id (the interactions row). Who ended a call: COMPLETEAGENT when the agent
left the call (their state moved on) before the caller's channel ended, else
COMPLETECALLER. `QueueLogBook` is pure (events in, lines out); `QueueLogFile` writes."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from core.agentstate import AgentStatus
from core.bus import Bus
from core.events import CallEnded, CallStarted, CallStepped
from core.pool import AgentChanged, AgentPool


@dataclass(slots=True)
class _Call:
    queue: str
    entered: float
    position: int
    offered: float | None = None
    agent: str | None = None
    connected: float | None = None
    agent_left: bool = False


@dataclass(slots=True)
class QueueLogBook:
    """What is needed between events (a call's queue, times, position); pure."""

    devices: dict[str, str] = field(default_factory=dict)  # agent id -> device
    callers: dict[str, str] = field(default_factory=dict)  # call id -> caller number
    calls: dict[str, _Call] = field(default_factory=dict)
    logins: dict[str, float] = field(default_factory=dict)

    def started(self, call_id: str, caller: str) -> None:
        self.callers[call_id] = caller

    def step(self, call_id: str, kind: str, at: float, data: dict[str, object]) -> list[str]:
        c = self.calls.get(call_id)
        if kind == "acd.queued":
            queue = str(data.get("queue", ""))
            position = _int(data.get("position"), 1)
            self.calls[call_id] = _Call(queue, at, position)
            return [_line(at, call_id, queue, None, "ENTERQUEUE", "", self.callers.get(call_id, ""))]
        if c is None:
            return []
        if kind == "acd.offered":
            c.offered, c.agent = at, str(data.get("agent") or "") or c.agent
            return []
        if kind == "acd.no_answer":
            ring = round(1000 * (at - c.offered)) if c.offered is not None else 0
            c.offered = None
            return [_line(at, call_id, c.queue, str(data.get("agent", "")), "RINGNOANSWER", ring)]
        if kind == "acd.connected":
            c.agent, c.connected = str(data.get("agent", "")), at
            ring = round(at - c.offered) if c.offered is not None else 0
            return [_line(at, call_id, c.queue, c.agent, "CONNECT", round(at - c.entered),
                          call_id, ring)]
        if kind == "acd.abandoned":
            self.calls.pop(call_id, None)
            return [_line(at, call_id, c.queue, None, "ABANDON",
                          _int(data.get("position"), c.position), c.position, round(at - c.entered))]
        if kind == "acd.overflowed" and c.connected is None:
            self.calls.pop(call_id, None)
            reason = str(data.get("reason", ""))
            wait = round(at - c.entered)
            if reason.startswith("key "):
                return [_line(at, call_id, c.queue, None, "EXITWITHKEY", reason[4:], c.position,
                              c.position, wait)]
            event = "EXITEMPTY" if "empty" in reason else "EXITWITHTIMEOUT"
            return [_line(at, call_id, c.queue, None, event, c.position, c.position, wait)]
        if kind == "acd.transferred" and c.connected is not None:
            to = str(data.get("to", ""))
            line = _line(at, call_id, c.queue, c.agent, "TRANSFER", to, "centralita",
                         round(c.connected - c.entered), round(at - c.connected), c.position)
            if to.startswith("agent:"):  # the colleague carries the call on in this queue
                c.agent, c.connected = to[6:], at
            else:
                self.calls.pop(call_id, None)
            return [line]
        return []

    def ended(self, call_id: str, at: float) -> list[str]:
        self.callers.pop(call_id, None)
        c = self.calls.pop(call_id, None)
        if c is None or c.connected is None:
            return []
        event = "COMPLETEAGENT" if c.agent_left else "COMPLETECALLER"
        return [_line(at, call_id, c.queue, c.agent, event, round(c.connected - c.entered),
                      round(at - c.connected), c.position)]

    def agent(self, agent_id: str, before: AgentStatus, after: AgentStatus, at: float) -> list[str]:
        if before.state == "on_call" and after.state != "on_call" and before.call_id:
            c = self.calls.get(before.call_id)
            if c is not None and c.agent == agent_id:
                c.agent_left = True
        device = self.devices.get(agent_id, "")
        if before.state == "logged_out" and after.state != "logged_out":
            self.logins[agent_id] = at
            return [_line(at, "NONE", "NONE", agent_id, "AGENTLOGIN", device)]
        if after.state == "logged_out" and before.state != "logged_out":
            since = self.logins.pop(agent_id, at)
            return [_line(at, "NONE", "NONE", agent_id, "AGENTLOGOFF", device, round(at - since))]
        if after.state == "paused" and before.state != "paused":
            return [_line(at, "NONE", "NONE", agent_id, "PAUSE", after.reason)]
        if before.state == "paused" and after.state != "paused":
            return [_line(at, "NONE", "NONE", agent_id, "UNPAUSE", before.reason)]
        return []


def _int(value: object, default: int) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else default


def _clean(value: object) -> str:
    # a '|' or a newline inside a field would shift every field after it
    return str(value).replace("|", "/").replace("\n", " ").replace("\r", " ")


def _line(at: float, call_id: str, queue: str, agent: str | None, event: str,
          *data: object) -> str:
    who = f"Agent/{agent}" if agent else "NONE"
    return "|".join([str(int(at)), _clean(call_id), _clean(queue or "NONE"), _clean(who), event,
                     *(_clean(d) for d in data)])


class QueueLogFile:
    """Appends lines to a file (opened once; flushed per batch: a crash loses at most the
    lines of the last moment, as Asterisk's own queue_log does)."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._out: TextIO = path.open("a", encoding="utf-8")

    def write(self, lines: list[str]) -> None:
        if lines:
            self._out.write("\n".join(lines) + "\n")
            self._out.flush()

    def close(self) -> None:
        self._out.close()


class QueueLog:
    """The engine's events into queue_log lines, as they happen."""

    def __init__(self, book: QueueLogBook, out: QueueLogFile, clock: Callable[[], float]) -> None:
        self.book, self.out, self.clock = book, out, clock

    def attach(self, bus: Bus, pool: AgentPool) -> None:
        bus.subscribe(CallStarted, lambda ev: self.book.started(ev.call_id, ev.caller_num))
        bus.subscribe(CallStepped, lambda ev: self.out.write(
            self.book.step(ev.call_id, ev.kind, ev.at, ev.data)))
        bus.subscribe(CallEnded, lambda ev: self.out.write(self.book.ended(ev.call_id, ev.at)))
        pool.listen(self._agent)

    def _agent(self, change: AgentChanged) -> None:
        self.out.write(self.book.agent(change.agent_id, change.before, change.after, self.clock()))

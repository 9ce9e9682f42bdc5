"""The ACD: callers the IVR queued (still in AsyncAGI on music on hold) reach agents.

The router picks; this service carries it out over AMI: it originates the agent's leg
(its `ChannelId` chosen here, so the registry knows the leg before it exists) into
[centralita-legs], publishes the screen-pop while the phone rings, and on answer joins
caller and agent with the `Bridge` action. A ring that is not answered puts the caller
back in their place and counts a miss for the agent. Wrap-up follows every call.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import structlog

from acd.aftercall import AfterCall
from acd.agents import AgentStatus, Refused, State, missed, move
from acd.callbacks import callback_number, next_try
from acd.consult import Consults
from acd.internal import InternalCalls
from acd.model import AcdConfig, Agent, Target
from acd.records import AfterCallRecords
from acd.routing import Offer, Router
from acd.stats import Tally, counted, snapshot
from acd.survey import Surveys
from asterisk.client import AmiClient
from asterisk.errors import AgiChannelGone, AmiError
from asterisk.events import AmiEvent, DTMFEnd, OriginateResponse
from core.bus import Bus
from core.events import (
    CallConnected,
    CallDataUpdated,
    CallEnded,
    CallParked,
    CallRouted,
    CallStarted,
    CallStepped,
)
from core.registry import Registry
from core.store import Journal, Store
from core.tasks import Tasks

PRESENCE = {"ready": "free", "reserved": "busy", "on_call": "busy", "wrapup": "busy",
            "paused": "away", "logged_out": "offline"}
FOLLOW_UP_GRACE = 600.0  # seconds a follow-up waits for its agent before the queue takes it
FEATURE_CODES = {"*21": "login", "*22": "logout", "*23": "pause", "*24": "ready"}
PAUSE_CODES = {"1": "break", "2": "lunch", "3": "training", "4": "meeting"}
FEATURE_PROMPTS = {"login": "agent-loginok", "logout": "agent-loggedoff"}


@dataclass(slots=True)
class Waiting:
    call_id: str
    channel: str
    queue: str
    caller_num: str
    entered: float
    data: dict[str, Any]
    legs: dict[str, str] = field(default_factory=dict)  # leg ChannelId -> agent id
    hold: asyncio.Task[None] | None = None  # the caller's time on hold (music, announcements)
    #: a callback keeping the caller's place: no channel; `call_id` is the callback's id and
    #: `origin` the call that asked for it (its record gets this callback's events)
    origin: str | None = None
    attempts: int = 0
    pinned: str | None = None  # a follow-up for one agent

    @property
    def record(self) -> str:
        return self.origin or self.call_id


class AcdService:
    def __init__(self, bus: Bus, ami: AmiClient, store: Store, journal: Journal,
                 registry: Registry, config: AcdConfig, *, prefix: str | None,
                 clock: Any = time.time, live: Callable[[str, str], None] | None = None,
                 stats_every: float = 2.0) -> None:
        self.bus = bus
        self.ami = ami
        self.store = store
        self.journal = journal
        self.registry = registry
        self.config = config
        self.prefix = prefix
        self.clock = clock
        self.router = Router([q.rules(name) for name, q in config.queues.items()])
        self.agents = {a.id: a for a in config.agents}
        #: the router names overflow targets by label; the service needs the targets
        self.step_targets = {name: {st.overflow.label: st.overflow for st in q.escalation
                                    if st.overflow is not None}
                             for name, q in config.queues.items()}
        #: the queue of each agent's last call: its wrap-up and handle times belong there
        self.last_queue: dict[str, str] = {}
        #: feature-code prefixes other services answer (the recorder's *3x)
        self.foreign_codes: tuple[str, ...] = ()
        self.ivr_nodes: frozenset[str] = frozenset()  # where agents may send callers back to
        #: prompts played before a queue's entry message (e.g. "calls may be recorded")
        self.entry_prompts: Callable[[str], list[str]] = lambda _queue: []
        self.status: dict[str, AgentStatus] = {}
        self.waiting: dict[str, Waiting] = {}
        self.connected: dict[str, tuple[str, float]] = {}  # call_id -> (agent, connected at)
        self.agent_legs: dict[str, str] = {}  # call_id -> the connected agent's channel
        self.leg_calls: dict[str, str] = {}  # and back: agent channel -> call_id (keypad)
        #: what each call needs from whoever takes it (kept across transfers)
        self.needs: dict[str, CallRouted] = {}
        self.transfers: dict[str, tuple[str, str, str]] = {}  # call_id -> (kind, target, from)
        self.numbers: dict[str, str] = {}  # call_id -> the customer's number, until wrap-up ends
        self.keys: dict[str, tuple[str, float]] = {}  # agent leg -> keys pressed so far, when
        self.after = AfterCall(self, AfterCallRecords(store))
        self.internal = InternalCalls(self)
        self.consults = Consults(self)
        self.surveys = Surveys(self)
        #: channels the service waits to see in AsyncAGI again (channel -> its future)
        self.parked_waiters: dict[str, asyncio.Future[None]] = {}
        self.tasks = Tasks(structlog.get_logger("acd"), "acd.task_failed")
        #: recent handle times (talk + wrap-up) per queue, for estimated waits
        self.handled: dict[str, deque[float]] = {q: deque(maxlen=50) for q in config.queues}
        self.log = structlog.get_logger("acd")
        #: supervisors' figures: published (latest wins, retained) when a queue changed
        self.live = live
        self.stats_every = stats_every
        self.tallies: dict[str, Tally] = dict.fromkeys(config.queues, Tally())
        self.dirty: set[str] = set(config.queues)
        for a in config.agents:
            self.router.add_agent(a.id, a.skills, a.queues)
            self.status[a.id] = AgentStatus()
        bus.subscribe(CallRouted, self._routed)
        bus.subscribe(CallEnded, self._ended)
        bus.subscribe(CallStarted, self._feature_code)
        bus.subscribe(CallParked, self._parked)

    # --- agents -----------------------------------------------------------------------

    def start(self) -> None:
        now = self.clock()
        for a in self.config.agents:
            if a.login:
                self.set_state(a.id, "ready", now, reason="login")
        if self.live is not None and self.prefix is not None:
            self.spawn(self._publish_stats())

    async def restore_talking(self, agent_id: str, call_id: str, channel: str = "") -> None:
        """After a restart, an agent found in a bridge on a call the ACD connected: busy
        until that call ends, then wrap-up as usual."""
        if agent_id not in self.agents or call_id in self.connected:
            return
        since = self.clock()
        try:
            row = await self.store.interaction(call_id)
        except Exception as exc:  # the talk time is then counted from now
            self.log.warning("acd.restore_lookup_failed", call_id=call_id, error=str(exc)[:200])
            row = None
        if row is not None and row.connected_at is not None:
            since = row.connected_at.timestamp()
            if row.queue in self.config.queues:
                self.last_queue[agent_id] = row.queue
        self.connected[call_id] = (agent_id, since)
        if channel:  # transfers, consultations and keypad codes work on it again
            self.set_agent_leg(call_id, channel)
        self._apply(agent_id, AgentStatus("on_call", "", since, call_id), "restored")

    def set_state(self, agent_id: str, to: State, now: float, *, reason: str = "",
                  call_id: str | None = None) -> AgentStatus:
        status = move(self.status[agent_id], to, now,
                      reason=reason if to == "paused" else "", call_id=call_id)
        return self._apply(agent_id, status, reason)

    def _apply(self, agent_id: str, status: AgentStatus, why: str = "") -> AgentStatus:
        before = self.status.get(agent_id)
        if before is not None and before.state == "wrapup" and before.call_id \
                and status.state != "wrapup":
            self.after.wrapup_ended(agent_id, before.call_id, self._queue_of(agent_id))
            self.numbers.pop(before.call_id, None)
        self.status[agent_id] = status
        self.dirty.update(self.agents[agent_id].queues)
        if status.state == "ready":
            self.router.set_ready(agent_id, status.since)
        else:
            self.router.set_not_ready(agent_id)
        self.log.info("acd.agent_state", agent=agent_id, state=status.state,
                      reason=status.reason or why, call_id=status.call_id)
        if self.live is not None and self.prefix is not None:  # who is free, for colleagues
            self.live(f"{self.prefix}agents/{agent_id}/presence", json.dumps({
                "v": 1, "agent": agent_id, "name": self.agents[agent_id].name,
                "presence": PRESENCE[status.state], "state": status.state,
                "reason": status.reason, "since": status.since}))
        self._record_state(agent_id, status, why)
        if status.state == "ready":
            self.spawn(self._dispatch_agent(agent_id))
        return status

    def _record_state(self, agent_id: str, status: AgentStatus, why: str) -> None:
        topic = f"{self.prefix}agents/{agent_id}/state" if self.prefix is not None else None
        payload = json.dumps({"v": 1, "agent": agent_id, "state": status.state,
                              "reason": status.reason or why, "call_id": status.call_id,
                              "at": status.since})

        async def op() -> None:
            await self.store.add_agent_state(agent_id, status.state, status.reason or why,
                                             status.call_id, status.since, topic, payload)

        self.journal.submit(f"agent state {agent_id}", op, outbox=topic is not None)

    def command(self, agent_id: str, action: str, reason: str | None = None) -> str | None:
        """An agent's own command (desktop over MQTT, or a phone feature code). Returns why
        it was refused, or None; a refused command changes nothing."""
        if agent_id not in self.agents:
            return f"unknown agent {agent_id!r}"
        now = self.clock()
        status = self.status[agent_id]
        try:
            if action == "login":
                if status.state != "logged_out":
                    return f"already logged in ({status.state})"
                self.set_state(agent_id, "ready", now, reason="login")
            elif action == "logout":
                self.set_state(agent_id, "logged_out", now, reason="logout")
                self._leave_empty(agent_id)
            elif action == "pause":
                self.set_state(agent_id, "paused", now, reason=reason or "")
            elif action == "ready":
                if status.state == "ready":
                    return "already ready"
                self._to_ready(agent_id, now)
            elif action == "end_wrapup":
                if status.state != "wrapup":
                    return f"not in wrap-up ({status.state})"
                self._to_ready(agent_id, now)
            elif action == "extend_wrapup":
                if status.state != "wrapup":
                    return f"not in wrap-up ({status.state})"
                if status.wrapup_extended:
                    return "wrap-up can be extended once"
                self.status[agent_id] = replace(status, wrapup_extended=True)
                extra = self.config.queues[self._queue_of(agent_id)].wrapup
                self.spawn(self._extend(agent_id, status.call_id or "", extra))
            else:
                return f"unknown action {action!r}"
        except Refused as exc:
            return str(exc)
        return None

    # --- the agent's phone ------------------------------------------------------------

    def _feature_code(self, ev: CallStarted) -> None:
        if ev.context != "centralita-agents" or ev.adopted:
            return
        if not ev.dnis.startswith("*"):
            self.internal.started(ev)  # a colleague's extension, or a queue's
            return
        if ev.dnis.startswith(self.foreign_codes):  # another service's code (e.g. *31 listen)
            return
        self.spawn(self._run_feature_code(ev))

    def agent_of_phone(self, caller_num: str, channel: str) -> Agent | None:
        """The agent whose desk phone this is: by extension (caller number) or device."""
        return next((a for a in self.config.agents
                     if (a.extension and a.extension == caller_num)
                     or channel.startswith(a.device + "-")), None)

    async def _run_feature_code(self, ev: CallStarted) -> None:
        """*21 log in, *22 log out, *23N pause (N: 1 break, 2 lunch, 3 training, 4 meeting),
        *24 ready. The agent is the phone's extension (caller number) or device."""
        agent = self.agent_of_phone(ev.caller_num, ev.channel)
        code, rest = ev.dnis[:3], ev.dnis[3:]
        action = FEATURE_CODES.get(code)
        reason = PAUSE_CODES.get(rest, "other") if action == "pause" else None
        if agent is None:
            error: str | None = f"no agent on this phone ({ev.caller_num or ev.channel})"
        elif action is None:
            error = f"unknown feature code {ev.dnis}"
        else:
            error = self.command(agent.id, action, reason)
        self.bus.publish(CallStepped(ev.call_id, "acd.feature_code", self.clock(),
                                     {"code": ev.dnis, "agent": agent.id if agent else None,
                                      "action": action, "error": error}))
        prompt = "beep" if error is None else "invalid"
        if error is None and action in FEATURE_PROMPTS:
            prompt = FEATURE_PROMPTS[action]
        try:
            await self.ami.agi(ev.channel, "ANSWER", timeout=10)
            await self.ami.agi(ev.channel, f"EXEC Playback {prompt}", timeout=30)
            await self.ami.agi(ev.channel, "HANGUP", timeout=10)
        except AmiError:
            pass

    def reprioritise(self, call_id: str, priority: int, *, queue: str | None = None) -> str | None:
        """A supervisor moves a waiting call up or down; None when done, else why not."""
        w = self.waiting.get(call_id)
        if w is None or (queue is not None and w.queue != queue):
            return f"call {call_id!r} is not waiting in {'queue ' + queue if queue else 'a queue'}"
        base = self.config.queues[w.queue].priority
        self.router.reprioritise(call_id, base + priority)
        self.bus.publish(CallStepped(call_id, "acd.reprioritised", self.clock(),
                                     {"queue": w.queue, "priority": base + priority}))
        self.spawn(self._dispatch_call(call_id))
        return None

    def _leave_empty(self, agent_id: str) -> None:
        """The last agent of a `leave_empty` queue logged out: its callers overflow."""
        for queue in self.agents[agent_id].queues:
            q = self.config.queues[queue]
            if not q.leave_empty or q.overflow is None:
                continue
            if any(queue in self.agents[a].queues and st.state != "logged_out"
                   for a, st in self.status.items()):
                continue
            for w in [w for w in self.waiting.values() if w.queue == queue and w.origin is None]:
                if w.hold is not None:
                    w.hold.cancel()
                target = q.overflow
                w.hold = self.spawn(self._overflow(w, target, "no agents left"))

    async def _extend(self, agent_id: str, call_id: str, seconds: float) -> None:
        self.bus.publish(CallStepped(call_id, "acd.wrapup_extended", self.clock(),
                                     {"agent": agent_id, "seconds": seconds}))
        await asyncio.sleep(seconds)

    # --- calls ------------------------------------------------------------------------

    def _routed(self, ev: CallRouted) -> None:
        if ev.kind not in ("queue", "agent"):
            return
        pinned: str | None = None
        queue_name = ev.target
        if ev.kind == "agent":  # one agent's call: waits in their queue until they take it
            agent = self.agents.get(ev.target)
            if agent is None:
                return  # an IVR route to a device: the IVR dials it itself
            if not agent.queues:
                self.log.error("acd.agent_without_queue", call_id=ev.call_id, agent=ev.target)
                self.bus.publish(CallStepped(ev.call_id, "acd.agent_without_queue", ev.at,
                                             {"agent": ev.target}))
                return
            pinned = agent.id
            queue_name = str(ev.data.get("queue") or "")
            if queue_name not in agent.queues:
                queue_name = next(iter(agent.queues))
        if queue_name not in self.config.queues:
            self.log.error("acd.unknown_queue", call_id=ev.call_id, queue=queue_name)
            self.bus.publish(CallStepped(ev.call_id, "acd.unknown_queue", ev.at,
                                         {"queue": queue_name}))
            return
        call = self.registry.calls.get(ev.call_id)
        number = call.caller_num if call is not None else ""
        self.needs[ev.call_id] = ev
        w = Waiting(ev.call_id, ev.channel, queue_name, number, ev.at, dict(ev.data))
        self.waiting[ev.call_id] = w
        self.router.add_call(ev.call_id, queue_name, needs=ev.skills, priority=ev.priority,
                             entered=ev.at, agent=pinned)
        position = self.router.position(ev.call_id)
        self.bus.publish(CallStepped(ev.call_id, "acd.queued", ev.at,
                                     {"queue": queue_name, "position": position,
                                      "skills": ev.skills, "priority": ev.priority,
                                      "agent": pinned}))
        self._update(ev.call_id, queue=queue_name, queued_at=ev.at)
        self._count(queue_name, "entered")
        queue = self.config.queues[queue_name]
        if pinned is not None:  # nobody answers for them: the queue takes the call
            self.spawn(self._unpin_later(ev.call_id, 2 * queue.ring_timeout))
        refusal = self._refusal(queue_name)
        w.hold = self.spawn(self._hold(w, refused=refusal, entry=True))
        if refusal is None:
            self.spawn(self._dispatch_call(ev.call_id))
        elif queue.overflow is None:
            self.log.warning("acd.refused_without_overflow", call_id=ev.call_id, why=refusal)

    async def _unpin_later(self, call_id: str, seconds: float) -> None:
        await asyncio.sleep(seconds)
        call = self.router.calls.get(call_id)
        if call is not None and call.agent is not None and not call.offered:
            self.router.unpin(call_id)
            self.bus.publish(CallStepped(call_id, "acd.unpinned", self.clock(),
                                         {"agent": call.agent}))
            self.spawn(self._dispatch_call(call_id))

    def _refusal(self, queue: str) -> str | None:
        """Why a new caller may not join `queue` now (full, nobody logged in), if so."""
        q = self.config.queues[queue]
        if q.max_length is not None and self.router.waiting(queue) > q.max_length:
            return "full"
        if not q.join_empty and not any(queue in self.agents[a].queues and st.state != "logged_out"
                                        for a, st in self.status.items()):
            return "no_agents"
        return None

    async def _dispatch_call(self, call_id: str) -> None:
        offer = self.router.next_for_call(call_id, self.clock())
        if offer is not None:
            await self._ring(offer)

    async def _dispatch_agent(self, agent_id: str) -> None:
        offer = self.router.next_for_agent(agent_id, self.clock())
        if offer is not None:
            await self._ring(offer)

    async def _ring(self, offer: Offer) -> None:
        w = self.waiting.get(offer.call_id)
        if w is None:
            for agent_id in offer.agent_ids:
                self._apply(agent_id, AgentStatus("ready", "", self.clock()))
            return
        now = self.clock()
        queue = self.config.queues[w.queue]
        outcomes: dict[str, asyncio.Future[OriginateResponse]] = {}
        for agent_id in offer.agent_ids:
            agent = self.agents[agent_id]
            self.set_state(agent_id, "reserved", now, call_id=w.call_id)
            leg = f"acd-{uuid.uuid4().hex[:12]}"
            w.legs[leg] = agent_id
            self.registry.expect(leg, w.call_id)
            self.bus.publish(CallStepped(w.record, "acd.offered", now,
                                         {"agent": agent_id, "queue": w.queue,
                                          "callback": w.origin is not None}))
            if w.origin is None:
                self._update(w.call_id, offered_at=now, agent=agent_id)
            self.spawn(self._screenpop(w, agent_id, now))
            try:
                outcomes[leg] = await self.ami.originate({
                    "Channel": agent.device, "Context": "centralita-legs",
                    "Exten": agent.extension or agent.id, "Priority": "1",
                    "Timeout": str(int(queue.ring_timeout * 1000)), "ChannelId": leg,
                    "CallerID": f"{w.queue} <{w.caller_num or 'unknown'}>",
                    "Variable": [f"CENTRALITA_CALL_ID={w.call_id}", f"CENTRALITA_AGENT={agent_id}"],
                })
            except AmiError as exc:
                self.log.warning("acd.originate_failed", call_id=w.call_id, agent=agent_id,
                                 error=str(exc))
                w.legs.pop(leg, None)
                self._no_answer(agent_id, w)
        if outcomes:
            await self._await_answer(w, outcomes)

    async def _await_answer(self, w: Waiting,
                            outcomes: dict[str, asyncio.Future[OriginateResponse]]) -> None:
        pending = set(outcomes.values())
        leg_of = {fut: leg for leg, fut in outcomes.items()}
        winner: tuple[str, OriginateResponse] | None = None
        while pending and winner is None:
            done, pending = await asyncio.wait(pending, return_when="FIRST_COMPLETED")
            for fut in done:
                leg = leg_of[fut]
                agent_id = w.legs.get(leg)
                try:
                    response = fut.result()
                except AmiError:
                    response = None
                if response is not None and response.success and winner is None:
                    winner = (leg, response)
                elif agent_id is not None:
                    if response is not None and response.success:  # lost a ring-all race
                        await self._hangup(response.channel)
                        self._apply(agent_id, AgentStatus("ready", "", self.clock()))
                    elif w.call_id not in self.waiting:  # the caller left: not the agent's miss
                        self._apply(agent_id, AgentStatus("ready", "", self.clock()))
                    else:
                        self._no_answer(agent_id, w)
                    w.legs.pop(leg, None)
        for fut in pending:  # ring-all: the others stop ringing
            leg = leg_of[fut]
            agent_id = w.legs.pop(leg, None)
            await self._hangup_leg(leg)
            if agent_id is not None:
                self._apply(agent_id, AgentStatus("ready", "", self.clock()))
        if winner is not None:
            await self._connect(w, winner[0], winner[1])
        elif w.call_id in self.waiting:
            self.router.unpin(w.call_id)  # the agent it was meant for did not answer
            self.router.return_call(w.call_id)
            self.spawn(self._dispatch_call(w.call_id))

    def _no_answer(self, agent_id: str, w: Waiting) -> None:
        limit = self.agents[agent_id].max_no_answer
        status = missed(self.status[agent_id], self.clock(), limit)
        self.bus.publish(CallStepped(w.record, "acd.no_answer",
                                     self.clock(), {"agent": agent_id, "misses": status.misses}))
        self._apply(agent_id, status, "no_answer" if status.state == "paused" else "")

    async def _connect(self, w: Waiting, leg: str, response: OriginateResponse) -> None:
        agent_id = w.legs.pop(leg)
        now = self.clock()
        if w.call_id not in self.waiting:  # the caller left while the phone rang
            await self._hangup(response.channel)
            self._apply(agent_id, AgentStatus("ready", "", now))
            return
        if w.origin is not None:
            await self._dial_back(w, agent_id, response.channel)
            return
        try:
            await self.ami.send("Bridge", {"Channel1": w.channel, "Channel2": response.channel,
                                           "Tone": "no"})
        except AmiError as exc:
            self.log.warning("acd.bridge_failed", call_id=w.call_id, agent=agent_id,
                             error=str(exc))
            self.bus.publish(CallStepped(w.call_id, "acd.bridge_failed", now,
                                         {"agent": agent_id, "error": str(exc)[:200]}))
            await self._hangup(response.channel)
            self._apply(agent_id, AgentStatus("ready", "", now))
            if w.call_id in self.waiting:
                self.router.return_call(w.call_id)
                self.spawn(self._dispatch_call(w.call_id))
            return
        self.waiting.pop(w.call_id, None)
        self.router.remove_call(w.call_id)
        if w.hold is not None:  # its AGI command is frozen by the bridge; stop holding it
            w.hold.cancel()
        self.connected[w.call_id] = (agent_id, now)
        self.set_agent_leg(w.call_id, response.channel)
        self.numbers[w.call_id] = w.caller_num
        self._count(w.queue, "answered", now - w.entered)
        self.last_queue[agent_id] = w.queue
        self.set_state(agent_id, "on_call", now, call_id=w.call_id)
        self.bus.publish(CallConnected(w.call_id, agent_id, response.channel, now, queue=w.queue))
        self.bus.publish(CallStepped(w.call_id, "acd.connected", now,
                                     {"agent": agent_id, "queue": w.queue,
                                      "wait": round(now - w.entered, 3)}))
        self._update(w.call_id, connected_at=now, agent=agent_id, wait_s=round(now - w.entered, 3))

    def _ended(self, ev: CallEnded) -> None:
        w = self.waiting.pop(ev.call_id, None)
        if w is not None:
            position = self.router.position(ev.call_id) if ev.call_id in self.router.calls else 0
            self.router.remove_call(ev.call_id)
            wait = round(ev.at - w.entered, 3)
            self._count(w.queue, "abandoned", wait)
            self.bus.publish(CallStepped(ev.call_id, "acd.abandoned", ev.at,
                                         {"queue": w.queue, "wait": wait, "position": position}))
            self.bus.publish(CallDataUpdated(ev.call_id, ev.at, {"abandoned": {
                "queue": w.queue, "wait": wait, "position": position}}, outcome="abandoned"))
            for leg in list(w.legs):  # the ring stops: no zombie call reaches the agent
                self.spawn(self._hangup_leg(leg))
            return
        self.needs.pop(ev.call_id, None)
        self.transfers.pop(ev.call_id, None)
        self.internal.ended(ev.call_id)
        self.consults.ended(ev.call_id, self.agent_legs.get(ev.call_id))
        if ev.call_id in self.connected:
            self.bus.publish(CallDataUpdated(ev.call_id, ev.at, {}, outcome="answered"))
            self._agent_done(ev.call_id, ev.at)

    def _agent_done(self, call_id: str, at: float) -> None:
        """The agent's part of the call is over (hang-up, or they transferred it): wrap-up."""
        done = self.connected.pop(call_id, None)
        leg = self.agent_legs.pop(call_id, None)
        if leg is not None:
            self.keys.pop(leg, None)
            self.leg_calls.pop(leg, None)
        if done is None:
            return
        agent_id, since = done
        self.router.record_call(agent_id, at - since)
        queue_name = self._queue_of(agent_id)
        self.handled[queue_name].append(at - since + self.config.queues[queue_name].wrapup)
        wrapup = self.config.queues[queue_name].wrapup
        try:
            self.set_state(agent_id, "wrapup", at, call_id=call_id)
        except Refused:
            return
        self.after.wrapup_started(agent_id, call_id, queue_name)
        self.spawn(self._end_wrapup(agent_id, call_id, wrapup))

    # --- transfers --------------------------------------------------------------------

    def transfer(self, agent_id: str, target: str, *, keep_priority: bool = True) -> str | None:
        """A blind transfer of the agent's caller to `queue:NAME` or `agent:ID`: the caller
        keeps their data (and their priority unless told otherwise). None when under way,
        else why not; a refused transfer changes nothing."""
        if agent_id not in self.agents:
            return f"unknown agent {agent_id!r}"
        call_id = next((c for c, (a, _) in self.connected.items() if a == agent_id), None)
        if call_id is None or call_id not in self.agent_legs:
            return "not on a call"
        if call_id in self.transfers:
            return "a transfer of this call is already under way"
        call = self.registry.calls.get(call_id)
        if call is None or call.channel == self.agent_legs[call_id]:
            return "this call cannot be transferred (a dial-back: the agent's leg carries it)"
        kind, _, name = target.partition(":")
        if kind == "queue":
            if name not in self.config.queues:
                return f"unknown queue {name!r}"
        elif kind == "agent":
            if name not in self.agents:
                return f"unknown agent {name!r}"
            if name == agent_id:
                return "cannot transfer a call to yourself"
            if self.status[name].state != "ready":
                return f"agent {name} is not free ({self.status[name].state})"
        elif kind == "ivr":
            if name not in self.ivr_nodes:
                return f"unknown IVR node {name!r}"
        elif kind == "external":
            number = callback_number(name, "")
            if number is None:
                return f"external number {name!r} is not a phone number"
            name = number
        else:
            return (f"unknown transfer target {target!r} "
                    "(queue:NAME, agent:ID, ivr:NODE or external:NUMBER)")
        self.transfers[call_id] = (kind, name, agent_id)
        self.spawn(self._blind_transfer(call_id, agent_id, kind, name, keep_priority))
        return None

    async def _blind_transfer(self, call_id: str, agent_id: str, kind: str, name: str,
                              keep_priority: bool) -> None:
        leg = self.agent_legs[call_id]
        now = self.clock()
        try:  # the caller leaves for [centralita-legs] `xfer`, the agent's leg hangs up
            await self.ami.send("BlindTransfer", {"Channel": leg, "Context": "centralita-legs",
                                                  "Exten": "xfer"})
        except AmiError as exc:
            self.transfers.pop(call_id, None)
            self.log.warning("acd.transfer_failed", call_id=call_id, agent=agent_id,
                             error=str(exc))
            self.bus.publish(CallStepped(call_id, "acd.transfer_failed", now,
                                         {"agent": agent_id, "to": f"{kind}:{name}",
                                          "error": str(exc)[:200]}))
            return
        before = self.needs.get(call_id)
        self.bus.publish(CallStepped(call_id, "acd.transferred", now, {
            "from": agent_id, "to": f"{kind}:{name}", "keep_priority": keep_priority}))
        self.bus.publish(CallDataUpdated(call_id, now, {"transferred": {
            "from": agent_id, "to": f"{kind}:{name}", "at": now}}))
        self.after.closed.add(call_id)  # the agent who ends the call gives the disposition
        self._agent_done(call_id, now)
        if not keep_priority and before is not None:
            self.needs[call_id] = replace(before, priority=0)

    async def _dial_out(self, call_id: str, channel: str, number: str) -> None:
        """Transferred to an outside number: the caller is dialled through to it."""
        queue = self.needs[call_id].target if call_id in self.needs else next(iter(self.config.queues))
        rules = self.config.queues[queue].callback if queue in self.config.queues else None
        dial = (rules.dial if rules else "PJSIP/{number}@trunk").format(number=number)
        self.bus.publish(CallDataUpdated(call_id, self.clock(), {"external": number},
                                         outcome="transferred_out"))
        with contextlib.suppress(AmiError):
            await self.ami.agi(channel, f"EXEC Dial {dial},60", timeout=7200)
            await self.ami.agi(channel, "HANGUP", timeout=10)

    def _parked(self, ev: CallParked) -> None:
        """The transferred caller is back in AsyncAGI: into the queue, or to the agent."""
        waiter = self.parked_waiters.pop(ev.channel, None)
        if waiter is not None and not waiter.done():
            waiter.set_result(None)
        call = self.registry.calls.get(ev.call_id)
        if call is None or call.channel != ev.channel:
            return
        if ev.call_id in self.consults.active:
            self.consults.caller_parked(ev)
            return
        t = self.transfers.pop(ev.call_id, None)
        if t is None:
            return
        kind, name, from_agent = t
        before = self.needs.get(ev.call_id)
        if kind == "ivr":
            number = self.numbers.get(ev.call_id) or (before.data.get("caller_num", "")
                                                      if before else "")
            self.bus.publish(CallRouted(ev.call_id, ev.channel, ev.at, "ivr", name,
                                        language=before.language if before else "en",
                                        data={"caller_num": number, "transferred_by": from_agent}))
            return
        if kind == "external":
            self.spawn(self._dial_out(ev.call_id, ev.channel, name))
            return
        data = dict(before.data) if before is not None else {}
        data["transferred_by"] = from_agent
        # The new queue's own requirements apply (as on overflow); an agent is just that agent.
        self.bus.publish(CallRouted(ev.call_id, ev.channel, ev.at, kind, name, skills={},
                                    priority=before.priority if before else 0,
                                    language=before.language if before else "en", data=data))

    def _queue_of(self, agent_id: str) -> str:
        """The queue whose rules (wrap-up, auto-ready) apply to the agent now."""
        return self.last_queue.get(agent_id) or next(iter(self.agents[agent_id].queues))

    async def _end_wrapup(self, agent_id: str, call_id: str, seconds: float) -> None:
        await asyncio.sleep(seconds)
        if self.status[agent_id].wrapup_extended:
            await asyncio.sleep(seconds)  # extended once, by one more wrap-up period
        status = self.status[agent_id]
        if status.state == "wrapup" and status.call_id == call_id:
            if not self.config.queues[self._queue_of(agent_id)].auto_ready:
                return  # manual ready: the agent ends wrap-up with `ready` / `end_wrapup`
            self._to_ready(agent_id, self.clock())

    def _to_ready(self, agent_id: str, now: float) -> None:
        """Ready again; leaving wrap-up records how long it took on the call."""
        status = self.status[agent_id]
        if status.state == "wrapup" and status.call_id:
            self._update(status.call_id, wrapup_s=round(now - status.since, 3))
        self.set_state(agent_id, "ready", now)

    # --- the caller on hold -----------------------------------------------------------

    async def _hold(self, w: Waiting, *, refused: str | None = None, entry: bool = False) -> None:
        q = self.config.queues[w.queue]
        ann = q.announcements
        agi = self.ami.agi
        try:
            if refused is not None and q.overflow is not None:
                await self._overflow(w, q.overflow, refused)
                return
            await agi(w.channel, f"SET MUSIC ON {q.moh}")
            first = self.entry_prompts(w.queue) if entry else []
            if entry and ann.entry:
                first.append(ann.entry)
            if first:
                await self._announce(w, first)
            now = self.clock()
            next_position = now + ann.position_every if ann.position_every else float("inf")
            next_periodic = now + ann.periodic_every if ann.periodic else float("inf")
            while w.call_id in self.waiting:
                now = self.clock()
                due = [next_position, next_periodic, now + 30.0]
                if q.max_wait is not None:
                    due.append(w.entered + q.max_wait)
                due += [w.entered + st.after for st in q.escalation if w.entered + st.after > now]
                wait = max(0.1, min(due) - now)
                r = await agi(w.channel, f"WAIT FOR DIGIT {int(wait * 1000)}", timeout=wait + 30)
                if w.call_id not in self.waiting:
                    return
                if r.value > 0 and not self._ringing(w):
                    key = chr(r.value)
                    self.bus.publish(CallStepped(w.call_id, "acd.key", self.clock(),
                                                 {"queue": w.queue, "key": key}))
                    target = q.keys.get(key)
                    if target is not None:
                        await self._overflow(w, target, f"key {key}")
                        return
                now = self.clock()
                if not self._ringing(w):
                    if q.max_wait is not None and now - w.entered >= q.max_wait \
                            and q.overflow is not None:
                        await self._overflow(w, q.overflow, "max_wait")
                        return
                    step = self.router.overflow_due(w.call_id, now)
                    if step is not None:
                        target = self.step_targets[w.queue][step.target]
                        await self._overflow(w, target, f"waited {now - w.entered:.0f} s")
                        return
                    self.spawn(self._dispatch_call(w.call_id))  # escalation may have relaxed
                if now >= next_position:
                    await self._announce_position(w)
                    next_position = now + (ann.position_every or float("inf"))
                if now >= next_periodic and ann.periodic:
                    await self._announce(w, [ann.periodic])
                    next_periodic = now + ann.periodic_every
        except AgiChannelGone:
            return
        except AmiError as exc:
            self.log.warning("acd.hold_failed", call_id=w.call_id, error=str(exc))

    def _ringing(self, w: Waiting) -> bool:
        call = self.router.calls.get(w.call_id)
        return call is not None and call.offered

    def estimated_wait(self, queue: str, position: int) -> float:
        """Position x recent mean handle time / agents on duty (not a constant)."""
        recent = self.handled[queue]
        handle = sum(recent) / len(recent) if recent else 180.0
        on_duty = sum(1 for a, st in self.status.items()
                      if queue in self.agents[a].queues and st.state not in ("logged_out", "paused"))
        return position * handle / max(1, on_duty)

    async def _announce_position(self, w: Waiting) -> None:
        if w.call_id not in self.router.calls:
            return
        position = self.router.position(w.call_id)
        ewt = self.estimated_wait(w.queue, position)
        minutes = max(1, round(ewt / 60))
        self.bus.publish(CallStepped(w.call_id, "acd.announced", self.clock(),
                                     {"position": position, "estimated_wait": round(ewt)}))
        if position == 1:
            await self._announce(w, ["queue-youarenext"])
        else:
            await self._announce(w, ["queue-thereare"], number=position - 1,
                                 after=["queue-callswaiting"])
        await self._announce(w, ["queue-holdtime"], number=minutes, after=["queue-minutes"])

    async def _announce(self, w: Waiting, prompts: list[str], *, number: int | None = None,
                        after: list[str] | None = None) -> None:
        """Music off, prompts (a key pressed during them is ignored), music on again."""
        agi = self.ami.agi
        moh = self.config.queues[w.queue].moh
        await agi(w.channel, "SET MUSIC OFF")
        for prompt in prompts:
            await agi(w.channel, f"GET DATA {prompt} 1 1")
        if number is not None:
            await agi(w.channel, f'SAY NUMBER {number} ""')
        for prompt in after or []:
            await agi(w.channel, f"GET DATA {prompt} 1 1")
        await agi(w.channel, f"SET MUSIC ON {moh}")

    async def _overflow(self, w: Waiting, target: Target, reason: str) -> None:
        now = self.clock()
        self.bus.publish(CallStepped(w.call_id, "acd.overflowed", now,
                                     {"from": w.queue, "to": target.label, "reason": reason,
                                      "wait": round(now - w.entered, 3)}))
        agi = self.ami.agi
        if target.callback:
            await self._take_callback(w, reason)
            return
        self._count(w.queue, "overflowed")
        if target.queue:  # keeps the caller's original arrival time
            w.queue = target.queue
            self._count(target.queue, "entered")
            self.router.move_call(w.call_id, target.queue)
            self._update(w.call_id, queue=target.queue)
            self.spawn(self._dispatch_call(w.call_id))
            w.hold = self.spawn(self._hold(w))
            return
        self.waiting.pop(w.call_id, None)
        self.router.remove_call(w.call_id)
        data: dict[str, Any] = {"overflow": {"from": w.queue, "to": target.label, "reason": reason}}
        self.bus.publish(CallDataUpdated(w.call_id, now, data, outcome="overflowed"))
        await agi(w.channel, "SET MUSIC OFF")
        if target.voicemail:
            await agi(w.channel, f"EXEC VoiceMail {target.voicemail},u", timeout=600)
        else:
            for prompt in target.message or []:
                await agi(w.channel, f"EXEC Playback {prompt}", timeout=600)
        await agi(w.channel, "HANGUP", timeout=10)

    # --- callbacks that keep the caller's place ------------------------------------------

    async def _take_callback(self, w: Waiting, reason: str) -> None:
        """The caller leaves a number and hangs up; their place in the queue is kept (stored,
        so a restart keeps it too) and at their turn an agent calls them back."""
        q = self.config.queues[w.queue]
        agi = self.ami.agi
        await agi(w.channel, "SET MUSIC OFF")
        typed = ""
        if q.callback.ask_number:
            r = await agi(w.channel, "GET DATA vm-enter-num-to-call 6000 16", timeout=60)
            typed = r.result if r.result != "-1" else ""
        number = callback_number(typed, w.caller_num)
        now = self.clock()
        if number is None or w.call_id not in self.waiting:
            self.bus.publish(CallStepped(w.call_id, "acd.callback_refused", now,
                                         {"queue": w.queue, "typed": typed[:20],
                                          "why": "no valid number to call back"}))
            await agi(w.channel, "GET DATA privacy-incorrect 1 1")
            w.hold = self.spawn(self._hold(w))  # keeps waiting on the line instead
            return
        call = self.router.calls[w.call_id]
        cb = Waiting(f"cb{uuid.uuid4().hex[:14]}", "", w.queue, number, w.entered, dict(w.data),
                     origin=w.call_id)
        priority = call.priority - q.priority
        self.waiting.pop(w.call_id, None)
        self.router.remove_call(w.call_id)
        self._save_callback(cb.call_id, now, origin_call_id=w.call_id, number=number,
                            queue=w.queue, skills=call.needs, priority=priority, data=w.data,
                            requested_at=now, entered_at=w.entered, due_at=now, attempts=0,
                            status="pending", result="")
        self.bus.publish(CallStepped(w.call_id, "acd.callback_requested", now,
                                     {"queue": w.queue, "number": number, "reason": reason,
                                      "callback_id": cb.call_id}))
        self.bus.publish(CallDataUpdated(w.call_id, now, {"callback": {
            "id": cb.call_id, "number": number, "queue": w.queue, "requested_at": now}},
            outcome="callback"))
        self._enqueue_callback(cb, call.needs, priority)
        self._count(w.queue, "callback")
        await agi(w.channel, "GET DATA you-entered 1 1")
        await agi(w.channel, f'SAY DIGITS {number.lstrip("+")} ""')
        await agi(w.channel, "EXEC Playback auth-thankyou", timeout=60)
        await agi(w.channel, "HANGUP", timeout=10)

    def _enqueue_callback(self, cb: Waiting, needs: dict[str, int], priority: int) -> None:
        self.waiting[cb.call_id] = cb
        pinned = cb.pinned if cb.pinned in self.agents else None
        self.router.add_call(cb.call_id, cb.queue, needs=needs, priority=priority,
                             entered=cb.entered, agent=pinned)
        self.spawn(self._dispatch_call(cb.call_id))
        cb.hold = self.spawn(self._follow_escalation(cb))
        if pinned is not None:  # their follow-up; if they are away, the queue takes it
            self.spawn(self._unpin_later(cb.call_id, FOLLOW_UP_GRACE))

    def schedule_follow_up(self, origin: str, number: str, queue: str, due: float,
                           agent: str | None, data: dict[str, Any]) -> str:
        """A ticket needing follow-up: at `due` the agent (or the queue) is offered the
        call, and the customer is dialled when they answer; retried as callbacks are."""
        now = self.clock()
        cb = Waiting(f"fu{uuid.uuid4().hex[:14]}", "", queue, number, due, dict(data),
                     origin=origin, pinned=agent)
        self._save_callback(cb.call_id, now, origin_call_id=origin, number=number, queue=queue,
                            agent=agent, skills={}, priority=0, data=data, requested_at=now,
                            entered_at=due, due_at=due, attempts=0, status="pending", result="")
        self.bus.publish(CallStepped(origin, "acd.follow_up_scheduled", now, {
            "callback_id": cb.call_id, "due": due, "agent": agent, "queue": queue}))
        self.spawn(self._retry_later(cb, {}, 0, due))
        return cb.call_id

    async def _follow_escalation(self, cb: Waiting) -> None:
        """Nobody holds the line for a callback: look for agents again as its wait reaches
        each escalation step (the router relaxes the levels by itself)."""
        for step in self.config.queues[cb.queue].escalation:
            if step.min_level is None:
                continue
            delay = cb.entered + step.after - self.clock()
            if delay > 0:
                await asyncio.sleep(delay)
            if cb.call_id not in self.waiting:
                return
            self.spawn(self._dispatch_call(cb.call_id))

    async def load_callbacks(self) -> int:
        """After a start: callbacks still owed go back to their queues in their places."""
        now = self.clock()
        rows = [r for r in await self.store.callbacks() if r.status in ("pending", "dialing")]
        for row in rows:
            if row.queue not in self.config.queues:
                self.log.error("acd.callback_queue_gone", callback=row.id, queue=row.queue)
                self._save_callback(row.id, now, status="failed", result="queue_gone")
                continue
            cb = Waiting(row.id, "", row.queue, row.number, row.entered_at.timestamp(),
                         dict(row.data or {}), origin=row.origin_call_id or row.id,
                         attempts=row.attempts, pinned=row.agent)
            due = row.due_at.timestamp()
            if due > now:
                self.spawn(self._retry_later(cb, dict(row.skills), row.priority, due))
            else:
                self._enqueue_callback(cb, dict(row.skills), row.priority)
        self.log.info("acd.callbacks_loaded", count=len(rows))
        return len(rows)

    async def _retry_later(self, cb: Waiting, needs: dict[str, int], priority: int,
                           due: float) -> None:
        await asyncio.sleep(max(0.0, due - self.clock()))
        self._enqueue_callback(cb, needs, priority)

    async def _dial_back(self, cb: Waiting, agent_id: str, agent_channel: str) -> None:
        """The agent answered a callback's ring: dial the customer and bridge them."""
        now = self.clock()
        rules = self.config.queues[cb.queue].callback
        call = self.router.calls.get(cb.call_id)
        needs, priority = (dict(call.needs), call.priority - self.config.queues[cb.queue].priority) \
            if call is not None else ({}, 0)
        self.waiting.pop(cb.call_id, None)
        self.router.remove_call(cb.call_id)
        if cb.hold is not None:
            cb.hold.cancel()
        call_id = uuid.uuid4().hex[:16]  # this attempt is an interaction of its own
        if self.registry.open(call_id, agent_channel, caller_num=cb.caller_num, kind="callback",
                              dnis=cb.queue) is None:  # the agent's leg went already
            self._apply(agent_id, AgentStatus("ready", "", now))
            self._enqueue_callback(cb, needs, priority)
            return
        cb.attempts += 1
        self.last_queue[agent_id] = cb.queue
        self.set_state(agent_id, "on_call", now, call_id=call_id)
        self._update(call_id, queue=cb.queue, agent=agent_id, queued_at=cb.entered, offered_at=now)
        self.bus.publish(CallDataUpdated(call_id, now, {**cb.data, "callback": {
            "id": cb.call_id, "origin_call_id": cb.origin, "attempt": cb.attempts}}))
        self._save_callback(cb.call_id, now, status="dialing", attempts=cb.attempts,
                            last_call_id=call_id)
        agi = self.ami.agi
        with contextlib.suppress(AmiError):
            await agi(agent_channel, "GET DATA pls-hold-while-try 1 1", timeout=30)
            await agi(agent_channel, "SET MUSIC ON default", timeout=10)
        leg = f"cbk-{uuid.uuid4().hex[:12]}"
        self.registry.expect(leg, call_id)
        response: OriginateResponse | None = None
        try:
            outcome = await self.ami.originate({
                "Channel": rules.dial.format(number=cb.caller_num), "Context": "centralita-legs",
                "Exten": "callback", "Priority": "1", "ChannelId": leg,
                "Timeout": str(int(rules.ring_timeout * 1000)),
                "CallerID": rules.caller_id or cb.queue,
                "Variable": [f"CENTRALITA_CALL_ID={call_id}"],
            })
            response = await asyncio.wait_for(outcome, rules.ring_timeout + 30)
        except (AmiError, TimeoutError) as exc:
            self.log.warning("acd.callback_originate_failed", call_id=call_id, error=str(exc))
        now = self.clock()
        if call_id not in self.registry.calls:  # the agent hung up while the customer rang
            if response is not None and response.success:
                await self._hangup(response.channel)
            self._callback_failed(cb, call_id, agent_id, "agent_left", needs, priority,
                                  count=False)
            return
        if response is None or not response.success:
            why = {3: "no_answer", 5: "busy"}.get(response.reason if response else -1, "failed")
            with contextlib.suppress(AmiError):
                await agi(agent_channel, "SET MUSIC OFF", timeout=10)
                await agi(agent_channel, "EXEC Playback number-not-answering", timeout=30)
            await self._hangup(agent_channel)
            self._callback_failed(cb, call_id, agent_id, why, needs, priority)
            return
        try:
            await self.ami.send("Bridge", {"Channel1": agent_channel,
                                           "Channel2": response.channel, "Tone": "no"})
        except AmiError as exc:
            self.log.warning("acd.bridge_failed", call_id=call_id, agent=agent_id, error=str(exc))
            await self._hangup(response.channel)
            await self._hangup(agent_channel)
            self._callback_failed(cb, call_id, agent_id, "bridge_failed", needs, priority)
            return
        self.connected[call_id] = (agent_id, now)
        self.set_agent_leg(call_id, agent_channel)
        self.numbers[call_id] = cb.caller_num
        self._count(cb.queue, "answered", now - cb.entered)
        self.bus.publish(CallConnected(call_id, agent_id, agent_channel, now, queue=cb.queue))
        self.bus.publish(CallStepped(call_id, "acd.connected", now, {
            "agent": agent_id, "queue": cb.queue, "wait": round(now - cb.entered, 3),
            "callback_id": cb.call_id}))
        self._update(call_id, connected_at=now, wait_s=round(now - cb.entered, 3))
        self._save_callback(cb.call_id, now, status="done", result="connected")
        self.bus.publish(CallStepped(cb.record, "acd.callback_connected", now,
                                     {"call_id": call_id, "agent": agent_id}))

    def _callback_failed(self, cb: Waiting, call_id: str, agent_id: str, why: str,
                         needs: dict[str, int], priority: int, *, count: bool = True) -> None:
        now = self.clock()
        if not count:
            cb.attempts -= 1
        self.bus.publish(CallStepped(call_id, "acd.callback_failed", now,
                                     {"why": why, "attempt": cb.attempts}))
        self.bus.publish(CallDataUpdated(call_id, now, {}, outcome=f"callback_{why}"[:32]))
        self.bus.publish(CallStepped(cb.record, "acd.callback_failed", now,
                                     {"call_id": call_id, "why": why, "attempt": cb.attempts}))
        if self.status[agent_id].state == "on_call":
            self._apply(agent_id, AgentStatus("ready", "", now))
        rules = self.config.queues[cb.queue].callback
        due = next_try(cb.attempts, rules.attempts, rules.retry_after, now) if count else now
        if due is None:
            self._save_callback(cb.call_id, now, status="failed", result=why, attempts=cb.attempts)
            self.log.info("acd.callback_given_up", callback=cb.call_id, attempts=cb.attempts)
            return
        self._save_callback(cb.call_id, now, status="pending", result=why, due_at=due,
                            attempts=cb.attempts)
        self.spawn(self._retry_later(cb, needs, priority, due))

    def _save_callback(self, callback_id: str, at: float, **fields: Any) -> None:
        async def op() -> None:
            await self.store.save_callback(callback_id, at, **fields)

        self.journal.submit(f"callback {callback_id}", op)

    # --- supervisors' figures -----------------------------------------------------------

    def _count(self, queue: str, what: str, wait: float = 0.0) -> None:
        day = time.strftime("%Y-%m-%d", time.localtime(self.clock()))
        self.tallies[queue] = counted(self.tallies[queue], day, what, wait=wait,
                                      sl_seconds=self.config.queues[queue].sl_seconds)
        self.dirty.add(queue)

    def stats(self, queue: str) -> dict[str, Any]:
        now = self.clock()
        on_line = [w for w in self.waiting.values() if w.queue == queue]
        return snapshot(
            queue, self.tallies[queue], now=now,
            waiting=[w.entered for w in on_line if w.origin is None],
            callbacks_waiting=sum(1 for w in on_line if w.origin is not None),
            agents=[st.state for a, st in self.status.items() if queue in self.agents[a].queues],
            estimated_wait=self.estimated_wait(queue, self.router.waiting(queue) + 1))

    async def _publish_stats(self) -> None:
        """`{prefix}queues/{queue}/stats`, retained, for each queue that changed; at most
        every `stats_every` seconds (a wall board, not an event stream)."""
        assert self.live is not None
        while True:
            dirty, self.dirty = self.dirty, set()
            for queue in sorted(dirty):
                self.live(f"{self.prefix}queues/{queue}/stats",
                          json.dumps(self.stats(queue), default=str))
            await asyncio.sleep(self.stats_every)

    # --- helpers ----------------------------------------------------------------------

    async def _hangup(self, channel: str) -> None:
        with contextlib.suppress(AmiError):
            await self.ami.send("Hangup", {"Channel": channel})

    async def _hangup_leg(self, leg: str) -> None:
        ch = self.registry.by_uniqueid.get(leg)
        if ch is not None:
            await self._hangup(ch.name)

    def _update(self, call_id: str, **fields: Any) -> None:
        async def op() -> None:
            await self.store.update_interaction(call_id, **fields)

        self.journal.submit(f"acd update {call_id}", op)

    async def _screenpop(self, w: Waiting, agent_id: str, now: float) -> None:
        """What the agent's desktop shows while their phone rings."""
        if self.prefix is None:
            return
        history = await self.store.customer_history(w.caller_num)
        payload = json.dumps({
            "v": 1, "call_id": w.call_id, "agent": agent_id, "queue": w.queue,
            "callback": w.origin is not None,
            "wait": round(now - w.entered, 3), "caller_num": w.caller_num,
            "customer": w.data.get("customer"), "ivr": {k: v for k, v in w.data.items()
                                                        if k != "customer"},
            **history,
        }, default=str)
        topic = f"{self.prefix}agents/{agent_id}/screenpop"

        async def op() -> None:
            await self.store.add_outbox(topic, payload, now)

        self.journal.submit(f"screenpop {w.call_id}", op, outbox=True)

    def on_ami_event(self, ev: AmiEvent) -> None:
        """Keys an agent presses during a call: *2<ext># transfer, *4<ext># consult, then
        *5 complete, *6 back to the caller, *8 conference (*7 is the recorder's pause)."""
        if not isinstance(ev, DTMFEnd) or ev.direction != "Received":
            return
        call_id = self.leg_calls.get(ev.channel)
        if call_id is None or call_id not in self.connected:
            return
        agent_id = self.connected[call_id][0]
        keys, at = self.keys.get(ev.channel, ("", 0.0))
        now = self.clock()
        keys = (keys if now - at < 5.0 else "") + ev.digit
        keys = keys[keys.rfind("*"):] if "*" in keys else ""
        self.keys[ev.channel] = (keys, now)
        action: str | None = None
        error: str | None = None
        if keys in ("*5", "*6", "*8"):
            action = {"*5": "complete", "*6": "cancel", "*8": "conference"}[keys]
            error = self.consults.finish(agent_id, action)
        elif keys[:2] in ("*2", "*4") and keys.endswith("#") and len(keys) > 3:
            ext = keys[2:-1]
            if keys[:2] == "*4":
                action, error = "consult", self.consults.consult(agent_id, ext)
            else:
                queue = next((n for n, q in self.config.queues.items() if q.extension == ext), None)
                agent = next((a.id for a in self.config.agents if ext in (a.id, a.extension)), None)
                target = f"queue:{queue}" if queue else f"agent:{agent}" if agent else f"ext:{ext}"
                action, error = "transfer", self.transfer(agent_id, target)
        if action is not None:
            self.keys.pop(ev.channel, None)
            self.bus.publish(CallStepped(call_id, "acd.keys", now, {
                "agent": agent_id, "keys": keys, "action": action, "error": error}))

    def set_agent_leg(self, call_id: str, channel: str) -> None:
        old = self.agent_legs.get(call_id)
        if old is not None:
            self.leg_calls.pop(old, None)
        self.agent_legs[call_id] = channel
        self.leg_calls[channel] = call_id

    def expect_parked(self, channel: str) -> asyncio.Future[None]:
        """Resolved when `channel` starts a new AsyncAGI session (after a Redirect)."""
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.parked_waiters[channel] = fut
        return fut

    def spawn(self, coro: Any) -> asyncio.Task[Any]:
        """Run `coro` as one of the service's tasks (failures logged, cancelled at stop)."""
        return self.tasks.spawn(coro)

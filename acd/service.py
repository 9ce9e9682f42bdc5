"""The ACD: callers the IVR queued (still in AsyncAGI, on hold) reach agents.

This module only builds the ACD's parts around one state (acd/state.py) and one set of
ports (acd/ports.py), and connects them to the kernel: bus events in, agent-pool
changes, phone codes, and the commands agents and supervisors send. The parts:
intake (callers entering queues), holding (the caller on hold), ringer (agents' phones),
dialback (callbacks and follow-ups), desk (agents' own states and wrap-up), transfers,
consult, internal calls, after-call work, surveys, phone codes, figures (wallboards).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping

import structlog

from acd.aftercall import AfterCall
from acd.consult import Consults
from acd.desk import Desk
from acd.dialback import Dialback
from acd.figures import Figures
from acd.holding import Holding
from acd.intake import Intake
from acd.internal import InternalCalls
from acd.model import AcdConfig
from acd.phone import CONSULT_STEPS, PhoneCodes
from acd.ringer import Ringer
from acd.routing import Router
from acd.state import AcdState, Callback
from acd.stats import Tally
from acd.survey import Surveys
from acd.transfers import Transfers
from asterisk.client import AmiClient
from core import commands as c
from core.agentstate import LogIn
from core.blend import INBOUND
from core.bus import Bus
from core.events import CallEnded, CallParked, CallRouted
from core.lines import AgentLines
from core.payloads import QueueStats
from core.people import Directory
from core.phone import FeatureCodes, Keypad
from core.pool import AgentChanged, AgentPool
from core.ports import Ports
from core.records import AfterCallRecords
from core.registry import Registry
from core.store import Journal, Store
from core.tasks import Tasks
from core.topics import Topics

STEPS: dict[type[c.Command], str] = {c.ConsultComplete: "complete", c.ConsultCancel: "cancel",
                                     c.Conference: "conference"}
assert set(STEPS.values()) == set(CONSULT_STEPS.values())


class AcdService:
    def __init__(self, *, bus: Bus, ami: AmiClient, store: Store, journal: Journal,
                 registry: Registry, pool: AgentPool, config: AcdConfig, directory: Directory,
                 topics: Topics | None, live: Callable[[str, str], None] | None,
                 stats_every: float = 2.0, ivr_nodes: frozenset[str] = frozenset(),
                 entry_prompts: Callable[[str], list[str]] = lambda _queue: [],
                 lines: AgentLines | None = None,
                 clock: Callable[[], float] = time.time) -> None:
        self.config = config
        self.tasks = Tasks(structlog.get_logger("acd"), "acd.task_failed")
        self.ports = ports = Ports(ami=ami, bus=bus, store=store, journal=journal,
                                   registry=registry, pool=pool, tasks=self.tasks, clock=clock,
                                   topics=topics, live=live, lines=lines)
        router = Router([q.rules(name) for name, q in config.queues.items()])
        for agent in directory:
            router.add_agent(agent.id, agent.skills, agent.queues)
        self.state = state = AcdState(router, config.queues, {
            a.id: next(iter(a.queues)) for a in directory if a.queues})
        self.figures = Figures(state, ports, config, directory, stats_every=stats_every)
        self.desk = Desk(state, ports, config, directory)
        self.ringer = Ringer(state, ports, config, directory, self.figures,
                             callback_answered=self._callback_answered)
        self.dialback = Dialback(state, ports, config, self.figures, self.ringer)
        self.holding = Holding(state, ports, config, directory, self.figures, self.ringer,
                               take_callback=self.dialback.take, entry_prompts=entry_prompts)
        self.intake = Intake(state, ports, config, directory, self.figures, self.ringer,
                             self.holding)
        self.transfers = Transfers(state, ports, config, directory, self.desk, self.intake,
                                   ivr_nodes=ivr_nodes)
        self.consults = Consults(state, ports, config, directory, self.desk)
        self.internal = InternalCalls(ports, config, directory, self.intake)
        records = AfterCallRecords(store)
        self.after = AfterCall(state, ports, config, directory, records, dialback=self.dialback,
                               surveys=Surveys(ports, config.survey, records),
                               transfer=self.transfers.transfer)
        self.phone = PhoneCodes(state, ports, directory, self.desk, self.transfers,
                                self.consults, queue_extensions=self.internal.queue_extensions)
        self._loaded = False
        pool.listen(self._agent_changed)
        pool.claimant(INBOUND, self.ringer.claim)
        bus.subscribe(CallRouted, self.intake.routed)
        bus.subscribe(CallEnded, self._ended)
        bus.subscribe(CallParked, self._parked)

    def apply(self, config: AcdConfig) -> None:
        """A reloaded queues.yaml/agents.yaml (same queues and agents, checked by the
        caller): new decisions use the new rules; calls already waiting or talking keep
        the ones they started with."""
        self.config = config
        for part in (self.figures, self.desk, self.ringer, self.dialback, self.holding,
                     self.intake, self.transfers, self.consults, self.internal, self.after):
            part.config = config
        self.after.surveys.survey = config.survey
        self.internal.queue_extensions = {q.extension: name for name, q in config.queues.items()
                                          if q.extension}
        router = self.state.router
        for name, queue in config.queues.items():
            if name not in router.rules:  # a new queue
                self.state.add_queue(name)
                self.figures.tallies[name] = Tally()
            router.set_rules(queue.rules(name))
        for agent in config.agents:
            if agent.id in router.agents:
                router.update_agent(agent.id, agent.skills, agent.queues)
            else:  # a new agent: logged out (or in, as agents.yaml says)
                router.add_agent(agent.id, agent.skills, agent.queues)
                if agent.queues:
                    self.state.set_home(agent.id, next(iter(agent.queues)))
                if agent.login:
                    self.ports.pool.try_apply(agent.id, LogIn(), why="login")
        self.figures.members = {q: [a.id for a in config.agents if q in a.queues]
                                for q in config.queues}
        self.figures.dirty.update(config.queues)

    def retire_queue(self, queue: str) -> bool:
        """A queue removed from queues.yaml: gone once nobody waits in it (False: callers
        are still there; they are served under its old rules first)."""
        router = self.state.router
        if not self.state.remove_queue(queue) or not router.remove_queue(queue):
            return False
        self.figures.tallies.pop(queue, None)
        self.figures.members.pop(queue, None)
        self.figures.dirty.discard(queue)
        live, topics = self.ports.live, self.ports.topics
        if live is not None and topics is not None:
            live(topics.queue_stats(queue), "")  # its retained stats cleared
        return True

    def retire(self, agent_id: str) -> None:
        """An agent removed from agents.yaml: offered no more calls from now on."""
        router = self.state.router
        if agent_id in router.agents:
            router.update_agent(agent_id, {}, {})
        for members in self.figures.members.values():
            if agent_id in members:
                members.remove(agent_id)

    def register(self, commands: c.Commands, codes: FeatureCodes, keypad: Keypad) -> None:
        """The commands, dialled codes and in-call keys the ACD answers."""
        codes.on_number(self.internal.started)  # a colleague's or a queue's extension
        self.phone.register(codes, keypad)
        desk, after = self.desk, self.after

        def desk_action(action: str) -> Callable[[str, c.Command], str | None]:
            return lambda agent, _cmd: desk.command(agent, action)

        def consult_step(step: str) -> Callable[[str, c.Command], str | None]:
            return lambda agent, _cmd: self.consults.finish(agent, step)

        simple: dict[type[c.Command], str] = {
            c.Login: "login", c.Logout: "logout", c.Ready: "ready", c.EndWrapup: "end_wrapup",
            c.ExtendWrapup: "extend_wrapup"}
        for kind, action in simple.items():
            commands.register(kind, desk_action(action))
        commands.register(c.Pause, lambda agent, cmd: desk.command(agent, "pause", cmd.reason))
        commands.register(c.Transfer, lambda agent, cmd: self.transfers.transfer(
            agent, cmd.target, keep_priority=cmd.keep_priority))
        commands.register(c.Consult, lambda agent, cmd: self.consults.consult(agent, cmd.target))
        for kind, step in STEPS.items():
            commands.register(kind, consult_step(step))
        commands.register(c.Disposition, lambda agent, cmd: after.disposition(
            agent, cmd.code, cmd.notes, ticket=cmd.ticket, follow_up_at=cmd.follow_up_at,
            follow_up_to=cmd.follow_up_to))
        commands.register(c.UpdateCustomer, lambda agent, cmd: after.update_customer(
            agent, cmd.fields))
        commands.register(c.Escalate, lambda agent, cmd: after.escalate(agent, cmd.notes))
        commands.register(c.Reprioritise, lambda queue, cmd: self.intake.reprioritise(
            queue, cmd.call_id, cmd.priority))

    # --- lifecycle ------------------------------------------------------------------------

    def start(self) -> None:
        self.desk.start()
        if self.ports.live is not None and self.ports.topics is not None:
            self.ports.spawn(self.figures.publish())

    async def resynced(self, talking: Mapping[str, str]) -> None:
        """After a (re)connect's resync: agents found talking (agent leg -> agent) are busy
        again; at the first one, owed callbacks go back to their queues (once the agents'
        states are known)."""
        for channel, agent in talking.items():
            call = self.ports.registry.call_of(channel)
            if call is not None:
                await self.desk.restore_talking(agent, call.call_id, channel)
        if not self._loaded:
            self._loaded = True
            self.ports.spawn(self.dialback.load())

    # --- what the ACD shows ------------------------------------------------------------

    def stats(self, queue: str) -> QueueStats:
        return self.figures.stats(queue)

    def waiting(self) -> int:
        """Callers and kept places waiting in all queues."""
        return self.state.count()

    # --- events ---------------------------------------------------------------------------

    def _agent_changed(self, change: AgentChanged) -> None:
        router = self.state.router
        if change.agent_id in router.agents:
            if change.after.state == "ready":
                router.set_ready(change.agent_id, change.after.since)
            else:
                router.set_not_ready(change.agent_id)
        self.figures.agent_changed(change)
        self.holding.agent_changed(change)
        self.after.agent_changed(change)

    async def _callback_answered(self, cb: Callback, agent_id: str, channel: str) -> None:
        await self.dialback.dial_back(cb, agent_id, channel)

    def _ended(self, ev: CallEnded) -> None:
        if self.intake.ended(ev):
            return
        self.transfers.forget(ev.call_id)
        self.internal.ended(ev.call_id)
        self.consults.ended(ev.call_id, self.state.leg_of(ev.call_id))
        if ev.call_id in self.state.connections:
            self.ports.data(ev.call_id, {}, outcome="answered", at=ev.at)
            self.desk.agent_done(ev.call_id, ev.at)

    def _parked(self, ev: CallParked) -> None:
        """A channel of a call is in AsyncAGI again: a consultation's, or a transferred
        caller on their way somewhere."""
        if self.consults.on_parked(ev):
            return
        call = self.ports.registry.calls.get(ev.call_id)
        if call is not None and call.channel == ev.channel:
            self.transfers.parked(ev)

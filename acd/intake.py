"""Callers entering queues (from the IVR, a transfer, a colleague dialling a queue's
extension), supervisors moving them up or down, and callers who give up waiting."""

from __future__ import annotations

from typing import Any

import structlog

from acd.admission import refusal
from acd.figures import Figures
from acd.holding import Holding
from acd.model import AcdConfig
from acd.ringer import Ringer
from acd.state import AcdState, Needs, Waiting
from core.events import CallEnded, CallRouted
from core.people import Directory
from core.ports import Ports


class Intake:
    def __init__(self, state: AcdState, ports: Ports, config: AcdConfig, directory: Directory,
                 figures: Figures, ringer: Ringer, holding: Holding) -> None:
        self.state = state
        self.ports = ports
        self.config = config
        self.directory = directory
        self.figures = figures
        self.ringer = ringer
        self.holding = holding
        self.log = structlog.get_logger("acd")

    def routed(self, ev: CallRouted) -> None:
        """The IVR ended in a queue (or in one agent's name): the caller waits here."""
        if ev.kind in ("queue", "agent"):
            self.enqueue(ev.call_id, ev.channel, ev.kind, ev.target, ev.at,
                         Needs(dict(ev.skills), ev.priority, ev.language, dict(ev.data)))

    def enqueue(self, call_id: str, channel: str, kind: str, target: str, at: float,
                needs: Needs, *, record_route: bool = False) -> None:
        """`kind` queue: into queue `target`; agent: waits for that agent only (in one of
        their queues) until they take it or it is unpinned. `record_route`: the route is
        written on the interaction (the IVR's routes are written by the call log)."""
        pinned: str | None = None
        queue_name = target
        if kind == "agent":
            agent = self.directory.get(target)
            if agent is None:
                return  # an IVR route to a device: the IVR dials it itself
            if not agent.queues:
                self.log.error("acd.agent_without_queue", call_id=call_id, agent=target)
                self.ports.step(call_id, "acd.agent_without_queue", {"agent": target}, at=at)
                return
            pinned = agent.id
            queue_name = str(needs.data.get("queue") or "")
            if queue_name not in agent.queues:
                queue_name = next(iter(agent.queues))
        if queue_name not in self.config.queues:
            self.log.error("acd.unknown_queue", call_id=call_id, queue=queue_name)
            self.ports.step(call_id, "acd.unknown_queue", {"queue": queue_name}, at=at)
            return
        if record_route:
            self.ports.data(call_id, {"route": {"kind": kind, "target": target,
                                                "skills": needs.skills,
                                                "priority": needs.priority}}, at=at)
        call = self.ports.registry.calls.get(call_id)
        number = call.caller_num if call is not None else ""
        self.state.needs[call_id] = needs
        w = Waiting(call_id, channel, queue_name, number, at, dict(needs.data))
        self.state.add(w)
        router = self.state.router
        router.add_call(call_id, queue_name, needs=needs.skills, priority=needs.priority,
                        entered=at, agent=pinned)
        self.ports.step(call_id, "acd.queued", {
            "queue": queue_name, "position": router.position(call_id), "skills": needs.skills,
            "priority": needs.priority, "agent": pinned}, at=at)
        self.ports.update(call_id, queue=queue_name, queued_at=at)
        self.figures.count(queue_name, "entered")
        queue = self.config.queues[queue_name]
        if pinned is not None:  # nobody answers for them: the queue takes the call
            self.ringer.unpin_later(call_id, 2 * queue.ring_timeout)
        why = refusal(max_length=queue.max_length, join_empty=queue.join_empty,
                      waiting=router.waiting(queue_name), logged_in=self.figures.logged_in(queue_name))
        self.holding.start(w, refused=why, entry=True)
        if why is None:
            self.ringer.dispatch(call_id)
        elif queue.overflow is None:
            self.log.warning("acd.refused_without_overflow", call_id=call_id, why=why)

    def reprioritise(self, queue: str, call_id: str, priority: int) -> str | None:
        """A supervisor moves a waiting call up or down; None when done, else why not."""
        w = self.state.get(call_id)
        if w is None or w.queue != queue:
            return f"call {call_id!r} is not waiting in queue {queue}"
        base = self.config.queues[w.queue].priority
        self.state.router.reprioritise(call_id, base + priority)
        self.ports.step(call_id, "acd.reprioritised", {"queue": w.queue, "priority": base + priority})
        self.ringer.dispatch(call_id)
        return None

    def ended(self, ev: CallEnded) -> bool:
        """A caller hung up while waiting: abandoned. True if they were waiting."""
        w = self.state.caller(ev.call_id)
        if w is None:
            return False
        self.state.remove(ev.call_id)
        router = self.state.router
        position = router.position(ev.call_id) if ev.call_id in router.calls else 0
        router.remove_call(ev.call_id)
        wait = round(ev.at - w.entered, 3)
        self.figures.count(w.queue, "abandoned", wait)
        abandoned: dict[str, Any] = {"queue": w.queue, "wait": wait, "position": position}
        self.ports.step(ev.call_id, "acd.abandoned", abandoned, at=ev.at)
        self.ports.data(ev.call_id, {"abandoned": abandoned}, outcome="abandoned", at=ev.at)
        for leg in list(w.legs):  # the ring stops: no zombie call reaches the agent
            self.ports.spawn(self.ports.hangup_leg(leg))
        return True

"""Supervisors' figures per queue: today's tallies, estimated waits, and the retained
`queues/{queue}/stats` snapshot published (at most every `stats_every` s) for each queue
that changed."""

from __future__ import annotations

import asyncio
import time

from acd.estimates import estimated_wait
from acd.model import AcdConfig
from acd.state import AcdState, Callback
from acd.stats import Tally, counted, snapshot
from core.payloads import QueueStats
from core.people import Directory
from core.pool import AgentChanged
from core.ports import Ports


class Figures:
    def __init__(self, state: AcdState, ports: Ports, config: AcdConfig, directory: Directory,
                 *, stats_every: float) -> None:
        self.state = state
        self.ports = ports
        self.config = config
        self.directory = directory
        self.stats_every = stats_every
        self.tallies: dict[str, Tally] = dict.fromkeys(config.queues, Tally())
        self.dirty: set[str] = set(config.queues)
        #: each queue's agents, for on-duty counts
        self.members: dict[str, list[str]] = {q: [a.id for a in directory if q in a.queues]
                                              for q in config.queues}

    def agent_changed(self, change: AgentChanged) -> None:
        agent = self.directory.get(change.agent_id)
        if agent is not None:
            self.dirty.update(q for q in agent.queues if q in self.tallies)

    def count(self, queue: str, what: str, wait: float = 0.0) -> None:
        day = time.strftime("%Y-%m-%d", time.localtime(self.ports.clock()))
        self.tallies[queue] = counted(self.tallies[queue], day, what, wait=wait,
                                      rule=self.config.queues[queue].service_level)
        self.dirty.add(queue)

    def on_duty(self, queue: str) -> int:
        pool = self.ports.pool
        return sum(1 for a in self.members[queue]
                   if pool.state(a) not in ("logged_out", "paused"))

    def logged_in(self, queue: str) -> int:
        pool = self.ports.pool
        return sum(1 for a in self.members[queue] if pool.state(a) != "logged_out")

    def eta(self, queue: str, position: int) -> float:
        return estimated_wait(position, self.state.handled[queue], self.on_duty(queue))

    def stats(self, queue: str) -> QueueStats:
        now = self.ports.clock()
        on_line = self.state.in_queue(queue)
        pool = self.ports.pool
        return snapshot(
            queue, self.tallies[queue], now=now,
            waiting=[w.entered for w in on_line if not isinstance(w, Callback)],
            callbacks_waiting=sum(1 for w in on_line if isinstance(w, Callback)),
            agents=[pool.state(a) for a in self.members[queue]],
            estimated_wait=self.eta(queue, self.state.router.waiting(queue) + 1))

    async def publish(self) -> None:
        """Each queue that changed, retained; at most every `stats_every` seconds."""
        live, topics = self.ports.live, self.ports.topics
        assert live is not None and topics is not None
        while True:
            dirty, self.dirty = self.dirty, set()
            for queue in sorted(dirty):
                live(topics.queue_stats(queue), self.stats(queue).encode())
            await asyncio.sleep(self.stats_every)

"""What the wallboard shows, kept up to date in memory and sent to each open page as
server-sent events. The engine only ever hands a message over without waiting: a page
that does not read falls behind, and past `backlog` messages it is dropped."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

import structlog

from core.pool import AgentChanged
from core.topics import Topics


class Client:
    def __init__(self, backlog: int) -> None:
        self.queue: asyncio.Queue[str] = asyncio.Queue(backlog)
        self.dropped = False
        #: the task writing to this page: cancelled when the page is dropped, even if it
        #: is stuck writing to a client that stopped reading
        self.task: asyncio.Task[Any] | None = None


class LiveFeed:
    """Latest queue and campaign stats (the `queues/{q}/stats` and `campaigns/{c}/stats`
    snapshots, as published) and each agent's state, fanned out to open pages."""

    def __init__(self, topics: Topics, names: Callable[[str], str], *, backlog: int) -> None:
        self.topics = topics
        self.names = names  # agent id -> name
        self.backlog = backlog
        self.queues: dict[str, dict[str, Any]] = {}
        self.campaigns: dict[str, dict[str, Any]] = {}
        self.agents: dict[str, dict[str, Any]] = {}
        self.clients: set[Client] = set()
        self.dropped = 0
        self.log = structlog.get_logger("web")
        self._queue_prefix = topics.queue_stats("\0").split("\0")[0]
        self._campaign_prefix = topics.campaign_stats("\0").split("\0")[0]

    # --- in: the engine's own snapshots ---------------------------------------------

    def published(self, topic: str, payload: str) -> None:
        """A `live` snapshot on its way to MQTT: keep it if the wallboard shows it."""
        if topic.startswith(self._queue_prefix) and topic.endswith("/stats"):
            kind, store = "queue", self.queues
        elif topic.startswith(self._campaign_prefix) and topic.endswith("/stats"):
            kind, store = "campaign", self.campaigns
        else:
            return
        data = json.loads(payload)
        name = data.get(kind)
        if not isinstance(name, str):
            return
        store[name] = data
        self._send(kind, data)

    def agent_changed(self, change: AgentChanged) -> None:
        s = change.after
        data = {"agent": change.agent_id, "name": self.names(change.agent_id), "state": s.state,
                "reason": s.reason, "since": s.since, "call_id": s.call_id}
        self.agents[change.agent_id] = data
        self._send("agent", data)

    # --- out: pages -------------------------------------------------------------------

    def join(self) -> Client:
        client = Client(self.backlog)
        for kind, store in (("queue", self.queues), ("campaign", self.campaigns),
                            ("agent", self.agents)):
            for data in store.values():  # a new page starts from the latest of everything
                client.queue.put_nowait(_event(kind, data)) if not client.queue.full() else None
        self.clients.add(client)
        return client

    def leave(self, client: Client) -> None:
        self.clients.discard(client)

    def _send(self, kind: str, data: dict[str, Any]) -> None:
        if not self.clients:
            return
        message = _event(kind, data)
        for client in list(self.clients):
            try:
                client.queue.put_nowait(message)
            except asyncio.QueueFull:
                client.dropped = True
                self.clients.discard(client)
                if client.task is not None:
                    client.task.cancel()
                self.dropped += 1
                self.log.warning("web.client_dropped", reason="fell behind",
                                 backlog=self.backlog)


def _event(kind: str, data: dict[str, Any]) -> str:
    return f"event: {kind}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n"

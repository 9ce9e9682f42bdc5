"""What the wallboard shows, kept up to date in memory and sent to each open page as
server-sent events.

The engine only ever hands a snapshot over without waiting. Each page keeps, per queue,
agent and campaign, only the latest snapshot it has not been sent yet (a burst of calls
costs a slow page nothing but skipped intermediate figures, and its memory is bounded by
the number of things on the board, never by the number of events). A page whose socket
stops taking data is dropped by the server after a write timeout (web/server.py)."""

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
        self.backlog = backlog
        #: the latest unsent snapshot of each thing on the board, in arrival order
        self.pending: dict[tuple[str, str], str] = {}
        self.wake = asyncio.Event()
        self.dropped = False
        #: the task writing to this page: cancelled when the page is dropped, even if it
        #: is stuck writing to a client that stopped reading
        self.task: asyncio.Task[Any] | None = None


class LiveFeed:
    """Latest queue and campaign stats (the `queues/{q}/stats` and `campaigns/{c}/stats`
    snapshots, as published) and each agent's state, fanned out to open pages."""

    def __init__(self, topics: Topics, names: Callable[[str], str], *, backlog: int) -> None:
        """`backlog`: distinct things a page may have waiting (a sanity bound)."""
        self.topics = topics
        self.names = names  # agent id -> name
        self.backlog = backlog
        #: the latest payloads as published (JSON text: parsed only when a scrape reads them)
        self.queue_payloads: dict[str, str] = {}
        self.campaign_payloads: dict[str, str] = {}
        self.agents: dict[str, str] = {}
        self.clients: set[Client] = set()
        self.dropped = 0
        self.log = structlog.get_logger("web")
        self._queue_prefix = topics.queue_stats("\0").split("\0")[0]
        self._campaign_prefix = topics.campaign_stats("\0").split("\0")[0]

    # --- in: the engine's own snapshots ---------------------------------------------

    def published(self, topic: str, payload: str) -> None:
        """A `live` snapshot on its way to MQTT: keep it if the wallboard shows it (the
        name comes from the topic: the payload goes out as it is, never parsed here)."""
        if not topic.endswith("/stats"):
            return
        if topic.startswith(self._queue_prefix):
            kind, store, prefix = "queue", self.queue_payloads, self._queue_prefix
        elif topic.startswith(self._campaign_prefix):
            kind, store, prefix = "campaign", self.campaign_payloads, self._campaign_prefix
        else:
            return
        name = topic[len(prefix):-len("/stats")]
        if not payload:  # cleared (a queue removed): gone from the board too
            store.pop(name, None)
            self._send(f"{kind}_removed", name, json.dumps({kind: name}))
            return
        store[name] = payload
        self._send(kind, name, payload)

    def agent_changed(self, change: AgentChanged) -> None:
        s = change.after
        payload = json.dumps({"agent": change.agent_id, "name": self.names(change.agent_id),
                              "state": s.state, "reason": s.reason, "since": s.since,
                              "call_id": s.call_id}, separators=(",", ":"))
        self.agents[change.agent_id] = payload
        self._send("agent", change.agent_id, payload)

    @property
    def queues(self) -> dict[str, dict[str, Any]]:
        return {name: json.loads(p) for name, p in self.queue_payloads.items()}

    @property
    def campaigns(self) -> dict[str, dict[str, Any]]:
        return {name: json.loads(p) for name, p in self.campaign_payloads.items()}

    # --- out: pages -------------------------------------------------------------------

    def join(self) -> Client:
        client = Client(self.backlog)
        for kind, store in (("queue", self.queue_payloads), ("campaign", self.campaign_payloads),
                            ("agent", self.agents)):
            for name, payload in store.items():  # a new page starts from the latest of all
                client.pending[(kind, name)] = _event(kind, payload)
        client.wake.set()
        self.clients.add(client)
        return client

    def leave(self, client: Client) -> None:
        self.clients.discard(client)

    def drop(self, client: Client, reason: str) -> None:
        if client.dropped:
            return
        client.dropped = True
        self.clients.discard(client)
        if client.task is not None and client.task is not asyncio.current_task():
            client.task.cancel()
        self.dropped += 1
        self.log.warning("web.client_dropped", reason=reason)

    def _send(self, kind: str, name: str, payload: str) -> None:
        if not self.clients:
            return
        message = _event(kind, payload)
        key = (kind, name)
        for client in list(self.clients):
            pending = client.pending
            pending[key] = message  # replaced: it goes out once, with the latest figures
            if len(pending) > client.backlog:
                self.drop(client, "too much pending")
                continue
            client.wake.set()


def _event(kind: str, payload: str) -> str:
    # a payload is one line of JSON (json.dumps escapes newlines): one SSE data line
    return f"event: {kind}\ndata: {payload}\n\n"

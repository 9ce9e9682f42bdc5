"""What the ACD holds in memory: callers waiting, places kept for callbacks, who is talking
to whom on which leg, and the router's index. Plain data with named queries; no I/O.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

from acd.routing import Router

HANDLED_KEPT = 50  # recent handle times per queue, for estimated waits


class Cancellable(Protocol):
    def cancel(self, msg: Any | None = None) -> bool: ...


@dataclass(frozen=True, slots=True)
class Needs:
    """What a call needs from whoever takes it; kept across transfers."""

    skills: dict[str, int] = field(default_factory=dict)
    priority: int = 0
    language: str = "en"
    data: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class Waiting:
    """A caller on the line, parked in AsyncAGI on hold in `queue`."""

    call_id: str
    channel: str
    queue: str
    caller_num: str
    entered: float
    data: dict[str, Any]
    legs: dict[str, str] = field(default_factory=dict)  # agent leg's ChannelId -> agent
    hold: Cancellable | None = None  # the caller's time on hold (music, announcements)

    @property
    def key(self) -> str:
        """The caller's id in the router."""
        return self.call_id

    @property
    def record(self) -> str:
        """The interaction whose events this waiting caller adds to."""
        return self.call_id


@dataclass(slots=True)
class Callback:
    """A place kept in `queue` for a caller who left a number and hung up, or a follow-up
    due at `entered`: no channel; at its turn an agent is rung, then the customer dialled."""

    id: str
    origin: str  # the call that asked for it: its record gets this callback's events
    queue: str
    caller_num: str  # the number to dial back
    entered: float
    data: dict[str, Any]
    attempts: int = 0
    pinned: str | None = None  # a follow-up for one agent
    legs: dict[str, str] = field(default_factory=dict)
    hold: Cancellable | None = None  # following the queue's escalation steps

    @property
    def key(self) -> str:
        return self.id

    @property
    def record(self) -> str:
        return self.origin


Item = Waiting | Callback


@dataclass(slots=True)
class Connection:
    """An agent talking on a call the ACD connected."""

    agent: str
    since: float
    leg: str | None = None  # the agent's channel: transfers, consultations and keys use it
    queue: str = ""


@dataclass(frozen=True, slots=True)
class Transfer:
    """A blind transfer under way: the caller is on their way back into AsyncAGI."""

    kind: str  # queue, agent, ivr, external
    name: str
    by: str  # the agent who transferred


class AcdState:
    def __init__(self, router: Router, queues: Iterable[str],
                 home_queue: dict[str, str]) -> None:
        self.router = router
        self._items: dict[str, Item] = {}  # router key -> item
        self._by_queue: dict[str, dict[str, Item]] = {q: {} for q in queues}
        self.connections: dict[str, Connection] = {}  # call_id -> who talks on it
        self._call_of_agent: dict[str, str] = {}
        self._call_of_leg: dict[str, str] = {}
        self.needs: dict[str, Needs] = {}  # call_id -> what it needs (kept across transfers)
        self.transfers: dict[str, Transfer] = {}  # call_id -> the transfer under way
        self.numbers: dict[str, str] = {}  # call_id -> the customer's number, until wrap-up ends
        #: calls whose disposition was given, or passed on (transferred, escalated): no
        #: default disposition when wrap-up ends
        self.closed: set[str] = set()
        #: the queue of each agent's last call: its wrap-up and handle times belong there
        self.last_queue: dict[str, str] = {}
        self._home_queue = home_queue  # each agent's first queue
        self.handled: dict[str, deque[float]] = {q: deque(maxlen=HANDLED_KEPT)
                                                 for q in self._by_queue}

    # --- waiting callers and kept places ----------------------------------------------

    def add(self, item: Item) -> None:
        self._items[item.key] = item
        self._by_queue[item.queue][item.key] = item

    def get(self, key: str) -> Item | None:
        return self._items.get(key)

    def caller(self, key: str) -> Waiting | None:
        item = self._items.get(key)
        return item if isinstance(item, Waiting) else None

    def is_waiting(self, key: str) -> bool:
        return key in self._items

    def remove(self, key: str) -> Item | None:
        item = self._items.pop(key, None)
        if item is not None:
            self._by_queue[item.queue].pop(key, None)
        return item

    def move(self, item: Item, queue: str) -> None:
        self._by_queue[item.queue].pop(item.key, None)
        item.queue = queue
        self._by_queue[queue][item.key] = item

    def in_queue(self, queue: str) -> list[Item]:
        return list(self._by_queue[queue].values())

    def count(self) -> int:
        return len(self._items)

    # --- connections --------------------------------------------------------------------

    def connect(self, call_id: str, agent: str, since: float, leg: str | None,
                queue: str = "") -> None:
        self.disconnect(call_id)
        self.connections[call_id] = Connection(agent, since, None, queue)
        self._call_of_agent[agent] = call_id
        if leg:
            self.set_leg(call_id, leg)

    def set_leg(self, call_id: str, channel: str) -> None:
        conn = self.connections.get(call_id)
        if conn is None:
            return
        if conn.leg is not None:
            self._call_of_leg.pop(conn.leg, None)
        conn.leg = channel
        self._call_of_leg[channel] = call_id

    def disconnect(self, call_id: str) -> Connection | None:
        conn = self.connections.pop(call_id, None)
        if conn is None:
            return None
        if self._call_of_agent.get(conn.agent) == call_id:
            del self._call_of_agent[conn.agent]
        if conn.leg is not None:
            self._call_of_leg.pop(conn.leg, None)
        return conn

    def call_of_agent(self, agent: str) -> str | None:
        """The call the agent is connected on (the ACD's: queue, callback, consultation)."""
        return self._call_of_agent.get(agent)

    def call_of_leg(self, channel: str) -> str | None:
        return self._call_of_leg.get(channel)

    def leg_of(self, call_id: str) -> str | None:
        conn = self.connections.get(call_id)
        return conn.leg if conn is not None else None

    def queue_of(self, agent: str) -> str:
        """The queue whose rules (wrap-up, auto-ready, dispositions) apply to the agent now."""
        return self.last_queue.get(agent) or self._home_queue[agent]

    def add_queue(self, queue: str) -> None:
        """A queue added by a reload."""
        self._by_queue.setdefault(queue, {})
        self.handled.setdefault(queue, deque(maxlen=HANDLED_KEPT))

    def remove_queue(self, queue: str) -> bool:
        """A queue removed by a reload, once nobody waits or keeps a place in it."""
        if self._by_queue.get(queue):
            return False
        self._by_queue.pop(queue, None)
        self.handled.pop(queue, None)
        return True

    def set_home(self, agent: str, queue: str) -> None:
        """A new agent's first queue (a reload)."""
        self._home_queue[agent] = queue

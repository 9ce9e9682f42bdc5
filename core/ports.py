"""A service's ports: everything its parts reach outside memory through (AMI, the bus,
the store and its journal, the call registry, the agent pool and lines, MQTT, the clock,
the task spawner), passed to each part of the ACD and of the dialer."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Coroutine
from typing import Any

from asterisk import actions
from asterisk.agi import AgiSession
from asterisk.client import AmiClient
from asterisk.errors import AmiError
from core.bus import Bus
from core.events import CallDataUpdated, CallStepped
from core.lines import AgentLines
from core.pool import AgentPool
from core.registry import Registry
from core.store import Journal, Store
from core.tasks import Tasks
from core.topics import Topics


class Ports:
    def __init__(self, *, ami: AmiClient, bus: Bus, store: Store, journal: Journal,
                 registry: Registry, pool: AgentPool, tasks: Tasks, clock: Callable[[], float],
                 topics: Topics | None, live: Callable[[str, str], None] | None,
                 lines: AgentLines | None = None) -> None:
        self.ami = ami
        self.bus = bus
        self.store = store
        self.journal = journal
        self.registry = registry
        self.pool = pool
        self.tasks = tasks
        self.clock = clock
        self.topics = topics  # None: MQTT is off
        self.live = live  # retained snapshots (latest wins); None: MQTT is off
        self.lines = lines if lines is not None else AgentLines()  # agents' nailed-up lines

    def spawn(self, coro: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        """Run `coro` as one of the ACD's tasks (failures logged, cancelled at stop)."""
        return self.tasks.spawn(coro)

    def agi(self, channel: str) -> AgiSession:
        return AgiSession(self.ami, channel)

    # --- call records -----------------------------------------------------------------

    def step(self, call_id: str, kind: str, data: dict[str, Any], at: float | None = None) -> None:
        """A call event (a row in call_events and a message on MQTT)."""
        self.bus.publish(CallStepped(call_id, kind, self.clock() if at is None else at, data))

    def data(self, call_id: str, data: dict[str, Any], *, outcome: str | None = None,
             at: float | None = None) -> None:
        """Merge `data` into the interaction (and set its outcome)."""
        self.bus.publish(CallDataUpdated(call_id, self.clock() if at is None else at, data,
                                         outcome=outcome))

    def update(self, call_id: str, **fields: Any) -> None:
        """Set columns of the interaction (float times for *_at)."""
        async def op() -> None:
            await self.store.update_interaction(call_id, **fields)

        self.journal.submit(f"acd update {call_id}", op)

    def write(self, what: str, fn: Callable[..., Coroutine[Any, Any, Any]], *args: Any,
              **kwargs: Any) -> None:
        """`fn(*args, **kwargs)`, a store write, through the journal (in order, retried
        through a database outage)."""
        async def op() -> None:
            await fn(*args, **kwargs)

        self.journal.submit(what, op)

    def outbox(self, what: str, topic: str, payload: str) -> None:
        """A message for MQTT through the outbox (kept through a broker outage)."""
        at = self.clock()

        async def op() -> None:
            await self.store.add_outbox(topic, payload, at)

        self.journal.submit(what, op, outbox=True)

    # --- channels ---------------------------------------------------------------------

    async def hangup(self, channel: str) -> None:
        with contextlib.suppress(AmiError):
            await self.ami.send(actions.hangup(channel))

    async def hangup_leg(self, leg: str) -> None:
        """Hang up the leg the engine named `leg` (its ChannelId), if it exists."""
        ch = self.registry.by_uniqueid.get(leg)
        if ch is not None:
            await self.hangup(ch.name)

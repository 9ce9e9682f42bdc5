"""What an engine that stopped (or crashed) left open, closed at the next start: once
Asterisk has said which calls are still up (after the resync), the rows of the others are
closed with the outcome `engine_stopped` (core/store.py `close_unseen`)."""

from __future__ import annotations

import time
from collections.abc import Mapping

import structlog

from core.registry import Registry
from core.store import Store


class Leftovers:
    def __init__(self, registry: Registry, store: Store) -> None:
        self.registry = registry
        self.store = store
        self.done = False
        self.log = structlog.get_logger("engine")

    async def resynced(self, _talking: Mapping[str, str]) -> None:
        """After the first resync only: later reconnects close their own calls."""
        if self.done:
            return
        self.done = True
        try:
            closed = await self.store.close_unseen(set(self.registry.calls), time.time())
        except Exception as exc:  # the database is down: the next start tries again
            self.log.warning("engine.leftovers_unclosed", error=str(exc)[:200])
            return
        if closed:
            self.log.info("engine.leftovers_closed", calls=len(closed), outcome="engine_stopped")

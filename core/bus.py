"""In-process event bus: synchronous fan-out by event type; a failing handler is logged."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from typing import Any, TypeVar

import structlog

E = TypeVar("E")


class Bus:
    def __init__(self) -> None:
        self._handlers: dict[type, list[Callable[[Any], None]]] = defaultdict(list)
        self.log = structlog.get_logger("bus")

    def subscribe(self, kind: type[E], handler: Callable[[E], None]) -> None:
        self._handlers[kind].append(handler)

    def publish(self, event: object) -> None:
        for handler in self._handlers.get(type(event), ()):
            try:
                handler(event)
            except Exception:
                self.log.exception("bus.handler_failed", event_type=type(event).__name__,
                                   call_id=getattr(event, "call_id", None))

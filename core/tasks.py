"""Background work a service starts: kept referenced, failures logged, cancelled at stop."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine, Iterator
from typing import Any


class Tasks:
    def __init__(self, log: Any, failed_event: str) -> None:
        self._tasks: set[asyncio.Task[Any]] = set()
        self.log = log
        self.failed_event = failed_event  # e.g. "acd.task_failed"

    def spawn(self, coro: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._done)
        return task

    def _done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            self.log.error(self.failed_event, error=repr(task.exception()))

    def __iter__(self) -> Iterator[asyncio.Task[Any]]:
        return iter(list(self._tasks))

    def __len__(self) -> int:
        return len(self._tasks)

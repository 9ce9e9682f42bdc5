"""Builds the web side (wallboard, reports pages, metrics) from the engine's parts."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from zoneinfo import ZoneInfo

from sqlalchemy import text

from app.center import Center as LoadedCenter
from app.center import report_center
from core.bus import Bus
from core.settings import Settings
from core.store import Journal, Store
from reports.catalogue import Ask, produce
from reports.sql import Report
from web.feed import LiveFeed
from web.logins import secret_of
from web.metrics import Metrics, Readings
from web.server import WebPorts, WebServer


def build_web(settings: Settings, center: LoadedCenter, feed: LiveFeed, *, store: Store,
              journal: Journal, bus: Bus, ami_ready: Callable[[], bool],
              ami_events: Callable[[], int]) -> WebServer:
    facts = report_center(settings, center)
    metrics = Metrics(feed, {q: r.seconds for q, r in facts.rules.items()},
                      Readings(ami_ready=ami_ready, ami_events=ami_events,
                               journal_backlog=journal.queue.qsize))
    metrics.attach(bus)
    journal.observers.append(metrics.db_write.observe)

    def person(user: str) -> tuple[str, str] | None:
        agent = center.directory.get(user)
        return (agent.role, agent.name) if agent is not None else None

    async def reports(ask: Ask) -> list[Report]:
        return await produce(store.engine, ask, facts)

    async def ready() -> dict[str, bool]:
        try:
            async with asyncio.timeout(2.0), store.engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
            database = True
        except Exception:
            database = False
        return {"ami": ami_ready(), "database": database}

    ports = WebPorts(person=person, secret_of=lambda u: secret_of(store, u), reports=reports,
                     ready=ready, outbox_backlog=store.outbox_backlog)
    return WebServer(settings.http, feed, metrics, ports, zone=ZoneInfo(settings.reports.timezone))



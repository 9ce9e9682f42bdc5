"""Every report by name, with what it can be filtered by: one entry point for the CLI
and the web pages."""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncEngine

from acd.servicelevel import ServiceLevelRule
from reports.agents import agent_report, agent_state_report
from reports.outcomes import (
    call_detail,
    callback_report,
    campaign_report,
    disposition_report,
    fcr_report,
)
from reports.queues import interval_report, queue_report
from reports.sql import Report
from reports.window import Window

NAMES = ("queues", "agents", "intervals", "dispositions", "callbacks", "campaigns", "calls")


class UnknownName(ValueError):
    """A --queue, --agent or --campaign the center does not have."""


@dataclass(frozen=True, slots=True)
class Center:
    """What the reports know of the center's configuration."""

    rules: Mapping[str, ServiceLevelRule] = field(default_factory=dict)
    agents: frozenset[str] = frozenset()
    campaigns: frozenset[str] = frozenset()
    fcr_days: int = 7


@dataclass(frozen=True, slots=True)
class Ask:
    """One request for reports: which, over what, filtered how."""

    name: str
    window: Window
    queues: tuple[str, ...] = ()
    agents: tuple[str, ...] = ()
    campaigns: tuple[str, ...] = ()
    minutes: int = 30
    limit: int = 1000


def check(ask: Ask, center: Center) -> None:
    """Names must exist: a typo would silently give an empty report."""
    for what, asked, known in (("queue", ask.queues, set(center.rules)),
                               ("agent", ask.agents, center.agents),
                               ("campaign", ask.campaigns, center.campaigns)):
        unknown = sorted(set(asked) - set(known))
        if unknown:
            raise UnknownName(f"unknown {what} {', '.join(map(repr, unknown))} "
                              f"(known: {', '.join(sorted(known)) or 'none'})")
    if ask.name not in NAMES:
        raise UnknownName(f"unknown report {ask.name!r} (one of {', '.join(NAMES)})")
    if ask.minutes not in (15, 30, 60):
        raise UnknownName(f"intervals are 15, 30 or 60 minutes, not {ask.minutes}")


async def produce(db: AsyncEngine, ask: Ask, center: Center,
                  now: float | None = None) -> list[Report]:
    check(ask, center)
    now = time.time() if now is None else now
    q, a, w = list(ask.queues) or None, list(ask.agents) or None, ask.window
    if ask.name == "queues":
        return [await queue_report(db, w, center.rules, q),
                await fcr_report(db, w, center.fcr_days, q)]
    if ask.name == "agents":
        return [await agent_report(db, w, now, a), await agent_state_report(db, w, now, a)]
    if ask.name == "intervals":
        return [await interval_report(db, w, center.rules, ask.minutes, q)]
    if ask.name == "dispositions":
        return [await disposition_report(db, w, q)]
    if ask.name == "callbacks":
        return [await callback_report(db, w, q)]
    if ask.name == "campaigns":
        return [await campaign_report(db, w, list(ask.campaigns) or None)]
    return [await call_detail(db, w, queues=q, agents=a, limit=ask.limit)]

"""Queue and interval reports: offered, answered, abandoned, service level, ASA, AHT.

Definitions (README, "Reports"): a call counts in the period it entered the queue
(`queued_at`). Offered: entered the queue, less short abandons. Answered: reached an
agent. Abandoned: hung up while waiting, after the queue's `short_abandon`. Service level:
by the queue's `sl_abandons` rule (acd/servicelevel.py). ASA: mean wait of answered
calls. AHT: mean talk (hold included: the caller is still on the agent's call) plus
wrap-up of answered calls. Longest wait: the longest any counted caller waited.
Transfers: calls an agent transferred (`acd.transferred` events). Callbacks: callers who
left a number and hung up keeping their place (`outcome = callback`)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, case, func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from acd.servicelevel import ServiceLevelRule, Waits, service_level
from core.models import CallEventRow, Interaction
from reports.sql import Report, mean, ratio, whole_seconds
from reports.window import Window

I = Interaction.__table__.c  # noqa: E741 (the table's columns, as SQL reads them)

QUEUE_COLUMNS = ("queue", "offered", "answered", "abandoned", "short_abandons", "service_level",
                 "sl_seconds", "asa", "aht", "longest_wait", "abandon_rate", "avg_abandon_wait",
                 "overflowed", "callbacks", "transfers")
INTERVAL_COLUMNS = ("interval", "queue", "offered", "answered", "abandoned", "service_level",
                    "asa", "aht", "longest_wait")


def _per_queue(rules: Mapping[str, ServiceLevelRule], attr: str, default: float) -> Any:
    mapping = {q: float(getattr(r, attr)) for q, r in rules.items()}
    return case(mapping, value=I.queue, else_=default) if mapping else default


def _figures(rules: Mapping[str, ServiceLevelRule]) -> list[ColumnElement[Any]]:
    base = ServiceLevelRule()
    sl = _per_queue(rules, "seconds", base.seconds)
    short = _per_queue(rules, "short_abandon", base.short_abandon)
    wait = func.coalesce(I.wait_s, 0.0)
    gave_up = I.outcome == "abandoned"
    answered = I.connected_at.is_not(None)
    is_short = and_(gave_up, wait < short)
    abandoned = and_(gave_up, wait >= short)

    def count(cond: ColumnElement[bool]) -> ColumnElement[Any]:
        return func.sum(case((cond, 1), else_=0))

    return [
        count(~is_short).label("offered"),
        count(answered).label("answered"),
        count(and_(answered, wait <= sl)).label("answered_within"),
        count(abandoned).label("abandoned"),
        count(and_(abandoned, wait <= sl)).label("abandoned_within"),
        count(is_short).label("short"),
        func.sum(case((answered, wait), else_=0.0)).label("answer_wait"),
        func.sum(case((answered, func.coalesce(I.talk_s, 0.0) + func.coalesce(I.wrapup_s, 0.0)),
                      else_=0.0)).label("handle"),
        func.max(case((~is_short, wait), else_=None)).label("longest"),
        func.sum(case((abandoned, wait), else_=0.0)).label("abandon_wait"),
        count(I.outcome == "overflowed").label("overflowed"),
        count(I.outcome == "callback").label("callbacks"),
    ]


def _in(window: Window, queues: list[str] | None) -> list[ColumnElement[bool]]:
    where = [I.queued_at >= window.start, I.queued_at < window.end, I.queue.is_not(None)]
    if queues:
        where.append(I.queue.in_(queues))
    return where


def _sl(row: Any, rule: ServiceLevelRule) -> float | None:
    return service_level(Waits(int(row.answered or 0), int(row.answered_within or 0),
                               int(row.abandoned or 0), int(row.abandoned_within or 0)), rule)


async def queue_report(db: AsyncEngine, window: Window, rules: Mapping[str, ServiceLevelRule],
                       queues: list[str] | None = None) -> Report:
    stmt = (select(I.queue, *_figures(rules)).where(*_in(window, queues))
            .group_by(I.queue).order_by(I.queue))
    ev = CallEventRow.__table__.c
    transfers = (select(I.queue, func.count()).select_from(
        CallEventRow.__table__.join(Interaction.__table__, ev.call_id == I.id))
        .where(ev.kind == "acd.transferred", *_in(window, queues)).group_by(I.queue))
    async with db.connect() as conn:
        rows = (await conn.execute(stmt)).all()
        moved: dict[str, int] = dict((await conn.execute(transfers)).all())
    out = []
    for r in rows:
        rule = rules.get(r.queue, ServiceLevelRule())
        answered, abandoned = int(r.answered or 0), int(r.abandoned or 0)
        out.append((r.queue, int(r.offered or 0), answered, abandoned, int(r.short or 0),
                    _sl(r, rule), float(rule.seconds), mean(r.answer_wait, answered),
                    mean(r.handle, answered), round(r.longest or 0.0, 1),
                    ratio(abandoned, int(r.offered or 0)), mean(r.abandon_wait, abandoned),
                    int(r.overflowed or 0), int(r.callbacks or 0), int(moved.get(r.queue, 0))))
    return Report("queues", "Queues", QUEUE_COLUMNS, tuple(out))


async def interval_report(db: AsyncEngine, window: Window, rules: Mapping[str, ServiceLevelRule],
                          minutes: int, queues: list[str] | None = None) -> Report:
    """Per `minutes` (15, 30 or 60) and queue. Buckets are cut in UTC seconds, which
    lands on the local quarter hours in every zone whose offset is whole quarters."""
    width = minutes * 60
    bucket = (whole_seconds(I.queued_at) // width * width).label("bucket")
    stmt = (select(bucket, I.queue, *_figures(rules)).where(*_in(window, queues))
            .group_by(bucket, I.queue).order_by(bucket, I.queue))
    async with db.connect() as conn:
        rows = (await conn.execute(stmt)).all()
    out = []
    for r in rows:
        rule = rules.get(r.queue, ServiceLevelRule())
        answered = int(r.answered or 0)
        label = window.local(datetime.fromtimestamp(int(r.bucket), UTC)).strftime("%Y-%m-%d %H:%M")
        out.append((label, r.queue, int(r.offered or 0), answered, int(r.abandoned or 0),
                    _sl(r, rule), mean(r.answer_wait, answered), mean(r.handle, answered),
                    round(r.longest or 0.0, 1)))
    return Report(f"intervals_{minutes}", f"Intervals ({minutes} min)", INTERVAL_COLUMNS, tuple(out))

"""What calls came to: dispositions, callbacks and follow-ups, campaigns, first-contact
resolution, and the call detail.

Definitions (README, "Reports"): a disposition counts in the period its call was
answered. Callbacks and follow-ups count in the period they were asked for; honoured:
the customer was reached (`done`); owed: still pending or being dialled. First-contact
resolution: of the answered calls, the share whose number did not call again within
`fcr_days`. Campaign figures come from the dial attempts (`lead_attempts`): abandon rate
over calls a person answered, as the dialer's cap counts it."""

from __future__ import annotations

from datetime import UTC
from typing import Any

from sqlalchemy import ColumnElement, case, exists, func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from core.models import CallbackRow, Interaction, LeadAttempt
from reports.sql import Report, epoch, mean, ratio
from reports.window import Window

I = Interaction.__table__.c  # noqa: E741


def _count(cond: ColumnElement[bool]) -> ColumnElement[Any]:
    return func.sum(case((cond, 1), else_=0))


async def disposition_report(db: AsyncEngine, window: Window,
                             queues: list[str] | None = None) -> Report:
    where = [I.connected_at >= window.start, I.connected_at < window.end,
             I.disposition.is_not(None)]
    if queues:
        where.append(I.queue.in_(queues))
    stmt = (select(func.coalesce(I.queue, ""), I.disposition, func.coalesce(I.ticket_status, ""),
                   func.count(), _count(I.flagged.is_(True)))
            .where(*where).group_by(I.queue, I.disposition, I.ticket_status)
            .order_by(I.queue, I.disposition, I.ticket_status))
    async with db.connect() as conn:
        rows = (await conn.execute(stmt)).all()
    per_queue: dict[str, int] = {}
    for q, _d, _t, n, _f in rows:
        per_queue[q] = per_queue.get(q, 0) + int(n)
    out = tuple((q, d, t, int(n), ratio(int(n), per_queue[q]), int(f or 0)) for q, d, t, n, f in rows)
    return Report("dispositions", "Dispositions and ticket outcomes",
                  ("queue", "disposition", "ticket_status", "calls", "share", "defaulted"), out)


async def callback_report(db: AsyncEngine, window: Window,
                          queues: list[str] | None = None) -> Report:
    c = CallbackRow.__table__.c
    kind = case((c.id.like("fu%"), "follow_up"), else_="callback")
    done = c.status == "done"
    where = [c.requested_at >= window.start, c.requested_at < window.end]
    if queues:
        where.append(c.queue.in_(queues))
    stmt = (select(c.queue, kind.label("kind"), func.count(), _count(done),
                   _count(c.status == "failed"), _count(c.status.in_(("pending", "dialing"))),
                   func.sum(case((done, epoch(c.updated_at) - epoch(c.due_at)), else_=0.0)),
                   func.sum(c.attempts))
            .where(*where).group_by(c.queue, kind).order_by(c.queue, kind))
    async with db.connect() as conn:
        rows = (await conn.execute(stmt)).all()
    out = tuple((q, k, int(n), int(d or 0), int(f or 0), int(o or 0), ratio(int(d or 0), int(n)),
                 mean(late, int(d or 0)), int(tries or 0))
                for q, k, n, d, f, o, late, tries in rows)
    return Report("callbacks", "Callbacks and follow-ups",
                  ("queue", "kind", "requested", "honoured", "failed", "owed", "honoured_rate",
                   "avg_delay", "dial_attempts"), out)


async def fcr_report(db: AsyncEngine, window: Window, days: int,
                     queues: list[str] | None = None) -> Report:
    later = Interaction.__table__.alias("later")
    repeat = exists().where(
        later.c.caller_num == I.caller_num, later.c.id != I.id,
        later.c.entered_at > I.entered_at,
        epoch(later.c.entered_at) - epoch(I.entered_at) <= days * 86400.0)
    where = [I.connected_at >= window.start, I.connected_at < window.end, I.queue.is_not(None),
             I.caller_num != ""]
    if queues:
        where.append(I.queue.in_(queues))
    stmt = (select(I.queue, func.count(), _count(repeat)).where(*where)
            .group_by(I.queue).order_by(I.queue))
    async with db.connect() as conn:
        rows = (await conn.execute(stmt)).all()
    out = tuple((q, int(n), int(r or 0), ratio(int(n) - int(r or 0), int(n))) for q, n, r in rows)
    return Report("fcr", f"First-contact resolution (no repeat within {days} days)",
                  ("queue", "answered", "repeated", "fcr"), out)


async def campaign_report(db: AsyncEngine, window: Window,
                          campaigns: list[str] | None = None) -> Report:
    a = LeadAttempt.__table__.c
    where = [a.at >= window.start, a.at < window.end]
    if campaigns:
        where.append(a.campaign.in_(campaigns))
    connected = a.outcome == "answered"
    stmt = (select(a.campaign, func.count(), _count(a.human.is_(True)), _count(connected),
                   _count(a.outcome == "machine"), _count(a.outcome == "busy"),
                   _count(a.outcome == "no_answer"), _count(a.abandoned.is_(True)),
                   func.avg(a.dead_air_ms), func.sum(case((connected, func.coalesce(a.talk_s, 0.0)
                                                           + func.coalesce(a.wrapup_s, 0.0)),
                                                          else_=0.0)),
                   func.count(func.distinct(a.lead_id)))
            .where(*where).group_by(a.campaign).order_by(a.campaign))
    async with db.connect() as conn:
        rows = (await conn.execute(stmt)).all()
    out = tuple((c, int(n), int(h or 0), int(k or 0), int(m or 0), int(b or 0), int(na or 0),
                 int(ab or 0), ratio(int(ab or 0), int(h or 0)), ratio(int(h or 0), int(n)),
                 round(float(air), 0) if air is not None else None, mean(handle, int(k or 0)),
                 int(leads))
                for c, n, h, k, m, b, na, ab, air, handle, leads in rows)
    return Report("campaigns", "Campaigns",
                  ("campaign", "dials", "people", "connected", "machines", "busy", "no_answer",
                   "abandoned", "abandon_rate", "answer_rate", "dead_air_ms", "aht", "leads"), out)


async def call_detail(db: AsyncEngine, window: Window, *, queues: list[str] | None = None,
                      agents: list[str] | None = None, limit: int = 1000) -> Report:
    where = [I.entered_at >= window.start, I.entered_at < window.end]
    if queues:
        where.append(I.queue.in_(queues))
    if agents:
        where.append(I.agent.in_(agents))
    stmt = (select(I.id, I.kind, I.entered_at, I.caller_num, I.dnis, I.queue, I.agent, I.outcome,
                   I.wait_s, I.talk_s, I.wrapup_s, I.disposition, I.ticket_status)
            .where(*where).order_by(I.entered_at, I.id).limit(limit))
    async with db.connect() as conn:
        rows = (await conn.execute(stmt)).all()
    out = tuple((cid, kind, window.local(_aware(at)).strftime("%Y-%m-%d %H:%M:%S"), num, dnis,
                 q, ag, oc, w, t, wr, d, ts) for cid, kind, at, num, dnis, q, ag, oc, w, t, wr, d, ts
                in rows)
    return Report("calls", "Call detail",
                  ("call_id", "kind", "entered", "caller", "dialled", "queue", "agent", "outcome",
                   "wait", "talk", "wrapup", "disposition", "ticket_status"), out)


def _aware(at: Any) -> Any:
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)


"""Agent reports: calls handled, handle times, time in each state and reason, occupancy.

Definitions (README, "Reports"): time in a state is cut to the period (a state entered
before it counts from its start; one still open counts up to the period's end or now).
Logged in: every state but logged_out. Occupancy: (talking + wrap-up) / (talking +
wrap-up + ready + ringing), the share of available time spent on calls. Utilisation:
(talking + wrap-up) / logged in, pauses included. Calls per hour: calls handled per
logged-in hour. QA: mean score of the agent's recordings scored in the period."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, case, func, literal, select
from sqlalchemy.ext.asyncio import AsyncEngine

from core.models import AgentStateChange, Interaction, RecordingScore
from reports.sql import Report, epoch, mean, ratio
from reports.window import Window

S = AgentStateChange.__table__
I = Interaction.__table__.c  # noqa: E741

AGENT_COLUMNS = ("agent", "handled", "talk", "wrapup", "aht", "logged_in", "ready", "ringing",
                 "talking", "wrapping_up", "paused", "occupancy", "utilisation", "calls_per_hour",
                 "qa_scores", "qa_average")
STATE_COLUMNS = ("agent", "state", "reason", "seconds", "share")


def _least(a: ColumnElement[Any], b: ColumnElement[Any]) -> ColumnElement[Any]:
    return case((a < b, a), else_=b)


def _greatest(a: ColumnElement[Any], b: ColumnElement[Any]) -> ColumnElement[Any]:
    return case((a > b, a), else_=b)


async def state_times(db: AsyncEngine, window: Window, now: float,
                      agents: list[str] | None = None) -> list[tuple[str, str, str, float]]:
    """(agent, state, reason, seconds) within the window, summed in SQL."""
    c = S.c
    inner = S.alias("before")
    # each agent's changes from the last one at or before the start (the state they were
    # in when the period began) up to its end
    since = (select(func.max(inner.c.at)).where(inner.c.agent_id == c.agent_id,
                                                inner.c.at <= window.start)
             .scalar_subquery())
    t0 = epoch(c.at)
    t1 = func.lead(t0).over(partition_by=c.agent_id, order_by=(c.at, c.id))
    where = [c.at < window.end, c.at >= func.coalesce(since, window.start)]
    if agents:
        where.append(c.agent_id.in_(agents))
    # only a pause's reason says something (other states carry what moved the agent)
    reason = case((c.state == "paused", c.reason), else_="").label("reason")
    spans = select(c.agent_id, c.state, reason, t0.label("t0"), t1.label("t1")).where(*where) \
        .subquery("spans")
    start, end = literal(window.start.timestamp()), literal(min(window.end.timestamp(), now))
    upto = _least(func.coalesce(spans.c.t1, end), end)
    since_ = _greatest(spans.c.t0, start)
    seconds = func.sum(case((upto > since_, upto - since_), else_=0.0))
    stmt = (select(spans.c.agent_id, spans.c.state, spans.c.reason, seconds)
            .group_by(spans.c.agent_id, spans.c.state, spans.c.reason)
            .order_by(spans.c.agent_id, spans.c.state, spans.c.reason))
    async with db.connect() as conn:
        rows = (await conn.execute(stmt)).all()
    out = [(a, s, r or "", round(float(t or 0.0), 1)) for a, s, r, t in rows]
    return [row for row in out if row[3] > 0]


async def agent_report(db: AsyncEngine, window: Window, now: float,
                       agents: list[str] | None = None) -> Report:
    where = [I.connected_at >= window.start, I.connected_at < window.end, I.agent.is_not(None)]
    if agents:
        where.append(I.agent.in_(agents))
    calls = (select(I.agent, func.count(), func.sum(func.coalesce(I.talk_s, 0.0)),
                    func.sum(func.coalesce(I.wrapup_s, 0.0)))
             .where(*where).group_by(I.agent))
    q = RecordingScore.__table__.c
    qwhere = [q.at >= window.start, q.at < window.end, q.agent.is_not(None)]
    if agents:
        qwhere.append(q.agent.in_(agents))
    scores = select(q.agent, func.count(), func.avg(q.percent)).where(*qwhere).group_by(q.agent)
    async with db.connect() as conn:
        handled = {a: (int(n), float(t or 0), float(w or 0))
                   for a, n, t, w in (await conn.execute(calls)).all()}
        qa = {a: (int(n), float(p)) for a, n, p in (await conn.execute(scores)).all()}
    times: dict[str, dict[str, float]] = {}
    for agent, state, _reason, seconds in await state_times(db, window, now, agents):
        per = times.setdefault(agent, {})
        per[state] = per.get(state, 0.0) + seconds
    out = []
    for agent in sorted(set(handled) | set(times) | set(qa)):
        n, talk, wrap = handled.get(agent, (0, 0.0, 0.0))
        t = times.get(agent, {})
        logged = sum(v for k, v in t.items() if k != "logged_out")
        busy = t.get("on_call", 0.0) + t.get("wrapup", 0.0)
        available = busy + t.get("ready", 0.0) + t.get("reserved", 0.0)
        scored, average = qa.get(agent, (0, None))
        out.append((agent, n, round(talk, 1), round(wrap, 1), mean(talk + wrap, n),
                    round(logged, 1), round(t.get("ready", 0.0), 1), round(t.get("reserved", 0.0), 1),
                    round(t.get("on_call", 0.0), 1), round(t.get("wrapup", 0.0), 1),
                    round(t.get("paused", 0.0), 1), ratio(busy, available), ratio(busy, logged),
                    ratio(n, logged, 3600.0), scored,
                    round(average, 1) if average is not None else None))
    return Report("agents", "Agents", AGENT_COLUMNS, tuple(out))


async def agent_state_report(db: AsyncEngine, window: Window, now: float,
                             agents: list[str] | None = None) -> Report:
    """Time in each state and pause reason, and its share of the agent's logged-in time."""
    rows = await state_times(db, window, now, agents)
    logged: dict[str, float] = {}
    for agent, state, _r, seconds in rows:
        if state != "logged_out":
            logged[agent] = logged.get(agent, 0.0) + seconds
    out = tuple((a, s, r, t, ratio(t, logged.get(a)) if s != "logged_out" else None)
                for a, s, r, t in rows)
    return Report("agent_states", "Agent states by reason", STATE_COLUMNS, out)

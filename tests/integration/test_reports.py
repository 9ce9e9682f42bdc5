"""Reports over a synthetic day whose every figure is worked out by hand here, on SQLite
and on PostgreSQL. The center is in Europe/Madrid (UTC+1 in November)."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from acd.servicelevel import ServiceLevelRule
from core.models import (
    AgentStateChange,
    CallbackRow,
    CallEventRow,
    Interaction,
    LeadAttempt,
    RecordingRow,
    RecordingScore,
)
from core.store import Store
from reports.catalogue import Ask, Center, UnknownName, check, produce
from reports.window import BadRange, Window, window

MADRID = ZoneInfo("Europe/Madrid")
DAY = date(2026, 11, 20)
RULES = {"support": ServiceLevelRule(20, "after_threshold", short_abandon=5),
         "sales": ServiceLevelRule(30, "against", short_abandon=0)}
CENTER = Center(rules=RULES, agents=frozenset({"1001", "1002", "1003"}),
                campaigns=frozenset({"renewals"}), fcr_days=7)


def at(text: str) -> datetime:
    """A local time in Madrid ('2026-11-20 09:00:00'), as the engine stores it (UTC)."""
    return datetime.fromisoformat(text).replace(tzinfo=MADRID).astimezone(UTC)


def call(cid: str, queued: str, *, queue: str = "support", caller: str = "+34600000001",
         wait: float, outcome: str | None = None, agent: str | None = None, talk: float | None = None,
         wrapup: float | None = None, disposition: str | None = None, ticket: str | None = None,
         flagged: bool = False) -> Interaction:
    q = at(queued)
    connected = datetime.fromtimestamp(q.timestamp() + wait, UTC) if agent else None
    return Interaction(id=cid, kind="inbound", caller_num=caller, entered_at=q, queued_at=q,
                       connected_at=connected, wait_s=wait, talk_s=talk, wrapup_s=wrapup,
                       queue=queue, agent=agent, outcome=outcome or ("answered" if agent else None),
                       disposition=disposition, ticket_status=ticket, flagged=flagged)


ROWS: list[Any] = [
    # support: sl 20 s, abandons within it left out, abandons under 5 s not counted at all
    call("s1", "2026-11-20 09:00:00", caller="+34600000001", wait=10, agent="1001", talk=100,
         wrapup=20, disposition="support/fault", ticket="resolved"),
    call("s2", "2026-11-20 09:10:00", caller="+34600000002", wait=25, agent="1002", talk=200,
         wrapup=10, disposition="support/fault", ticket="open"),
    call("s3", "2026-11-20 09:20:00", caller="+34600000003", wait=3, outcome="abandoned"),  # short
    call("s4", "2026-11-20 09:25:00", caller="+34600000004", wait=15, outcome="abandoned"),
    call("s5", "2026-11-20 09:40:00", caller="+34600000005", wait=60, outcome="abandoned"),
    call("s6", "2026-11-20 10:05:00", caller="+34600000001", wait=5, agent="1001", talk=50,
         wrapup=0, disposition="support/billing", ticket="open", flagged=True),
    call("s7", "2026-11-20 10:20:00", caller="+34600000007", wait=30, outcome="callback"),
    call("s8", "2026-11-20 10:50:00", caller="+34600000008", wait=120, outcome="overflowed"),
    call("s9", "2026-11-20 00:30:00", caller="+34600000009", wait=0, agent="1002", talk=10,
         wrapup=0),  # 23:30 UTC the day before: the center's day, not UTC's
    call("before", "2026-11-19 23:30:00", caller="+34600000010", wait=1, agent="1002", talk=5),
    call("after", "2026-11-25 11:00:00", caller="+34600000009", wait=1, agent="1002", talk=5),
    # sales: sl 30 s, every abandon counts against
    call("x1", "2026-11-20 09:00:00", queue="sales", caller="+34600000021", wait=20, agent="1003",
         talk=60, wrapup=0),
    call("x2", "2026-11-20 09:05:00", queue="sales", caller="+34600000022", wait=40, agent="1003",
         talk=60, wrapup=30),
    call("x3", "2026-11-20 09:07:00", queue="sales", caller="+34600000023", wait=2,
         outcome="abandoned"),
    CallEventRow(call_id="s6", seq=9, at=at("2026-11-20 10:06:00"), kind="acd.transferred",
                 data={"from": "1001", "to": "queue:billing"}),
]


def states(agent: str, changes: list[tuple[str, str, str]]) -> list[AgentStateChange]:
    return [AgentStateChange(agent_id=agent, at=at(t), state=s, reason=r) for t, s, r in changes]


ROWS += states("1001", [
    ("2026-11-19 20:00:00", "ready", "login"),  # before the period: counts from its start
    ("2026-11-20 08:10:00", "paused", "break"),
    ("2026-11-20 08:25:00", "ready", ""),
    ("2026-11-20 09:00:00", "on_call", ""),
    ("2026-11-20 09:01:40", "wrapup", ""),
    ("2026-11-20 09:02:00", "ready", "wrapup_done"),
    ("2026-11-20 09:30:00", "paused", "lunch"),  # still paused when the period ends
    ("2026-11-20 12:00:00", "logged_out", ""),
])
ROWS += [
    CallbackRow(id="cb1", origin_call_id="s7", number="+34600000007", queue="support",
                requested_at=at("2026-11-20 10:20:00"), entered_at=at("2026-11-20 10:19:30"),
                due_at=at("2026-11-20 10:20:00"), attempts=1, status="done", result="connected",
                updated_at=at("2026-11-20 10:30:00")),
    CallbackRow(id="cb2", number="+34600000031", queue="support",
                requested_at=at("2026-11-20 10:40:00"), entered_at=at("2026-11-20 10:40:00"),
                due_at=at("2026-11-20 10:40:00"), attempts=0, status="pending",
                updated_at=at("2026-11-20 10:40:00")),
    CallbackRow(id="fu1", number="+34600000001", queue="support",
                requested_at=at("2026-11-20 09:05:00"), entered_at=at("2026-11-21 09:00:00"),
                due_at=at("2026-11-21 09:00:00"), attempts=3, status="failed",
                result="no_answer", updated_at=at("2026-11-21 11:00:00")),
    RecordingRow(id=1, interaction_id="s1", agent="1001", queue="support", policy="always",
                 format="wav", channel="PJSIP/x", path="a.wav", started_at=at("2026-11-20 09:00:10")),
    RecordingScore(recording_id=1, agent="1001", evaluator="8001", form="basic", answers={},
                   percent=80.0, passed=True, at=at("2026-11-20 09:10:00")),
    RecordingScore(recording_id=1, agent="1001", evaluator="8001", form="basic", answers={},
                   percent=90.0, passed=True, at=at("2026-11-20 09:50:00")),
]


def attempt(lead: int, outcome: str, *, human: bool = False, abandoned: bool = False,
            air: int | None = None, talk: float | None = None, wrapup: float | None = None
            ) -> LeadAttempt:
    return LeadAttempt(lead_id=lead, campaign="renewals", call_id=f"o{lead}{outcome}",
                       at=at("2026-11-20 11:00:00"), outcome=outcome, human=human,
                       abandoned=abandoned, dead_air_ms=air, talk_s=talk, wrapup_s=wrapup)


ROWS += [attempt(1, "answered", human=True, air=300, talk=100, wrapup=20),
         attempt(2, "dropped", human=True, abandoned=True),
         attempt(3, "machine"), attempt(4, "busy"), attempt(5, "no_answer"),
         attempt(5, "answered", human=True, air=500, talk=50, wrapup=10)]


@pytest.fixture
async def db(database_url: str) -> Any:
    store = Store(database_url)
    await store.migrate()
    async with store.session.begin() as s:
        s.add_all(ROWS[:1])  # ORM objects are used once per test: copy them
    async with store.session.begin() as s:
        s.add_all([_copy(r) for r in ROWS[1:]])
    yield store.engine
    await store.close()


def _copy(row: Any) -> Any:
    cls = type(row)
    return cls(**{c.key: getattr(row, c.key) for c in cls.__table__.columns
                  if getattr(row, c.key) is not None})


@pytest.fixture(autouse=True)
def _fresh_rows() -> None:
    global ROWS
    ROWS = [_copy(r) for r in ROWS]


def the_day() -> Window:
    return window("2026-11-20", None, zone=MADRID, today=DAY)


async def report(db: Any, name: str, w: Window | None = None, **ask: Any) -> list[dict[str, Any]]:
    reports = await produce(db, Ask(name, w or the_day(), **ask), CENTER,
                            now=at("2026-11-22 00:00:00").timestamp())
    return [r for rep in reports for r in rep.records()]


async def test_queue_report_by_hand(db: Any) -> None:
    rows = {r["queue"]: r for r in await report(db, "queues") if "offered" in r}
    s = rows["support"]
    # s1..s9 in the day (s9 at 00:30 local); s3 a short abandon; 'before'/'after' outside
    assert (s["offered"], s["answered"], s["abandoned"], s["short_abandons"]) == (8, 4, 2, 1)
    assert s["service_level"] == 60.0  # within 20 s: s1 s6 s9 of (4 answered + 2 abandoned - s4)
    assert s["asa"] == 10.0  # (10 + 25 + 5 + 0) / 4
    assert s["aht"] == 97.5  # (120 + 210 + 50 + 10) / 4
    assert s["longest_wait"] == 120.0  # s8 (s3 does not count)
    assert s["abandon_rate"] == 25.0  # 2 of 8 offered
    assert s["avg_abandon_wait"] == 37.5  # (15 + 60) / 2
    assert (s["overflowed"], s["callbacks"], s["transfers"]) == (1, 1, 1)
    x = rows["sales"]
    assert (x["offered"], x["answered"], x["abandoned"], x["short_abandons"]) == (3, 2, 1, 0)
    assert x["service_level"] == 33.3  # 1 within 30 s of (2 answered + 1 abandoned)
    assert x["sl_seconds"] == 30.0
    fcr = {r["queue"]: r for r in await report(db, "queues") if "fcr" in r}
    # s1 called again (s6) and s9 called again on the 25th: within 7 days
    assert (fcr["support"]["answered"], fcr["support"]["repeated"], fcr["support"]["fcr"]) == (4, 2, 50.0)
    assert fcr["sales"]["fcr"] == 100.0


@pytest.mark.parametrize(("abandons", "expected"), [
    ("after_threshold", 60.0), ("against", 50.0), ("excluded", 75.0), ("within_threshold", 66.7)])
async def test_each_service_level_rule_in_sql(db: Any, abandons: str, expected: float) -> None:
    from reports.queues import queue_report
    rules = {"support": ServiceLevelRule(20, abandons, 5)}  # type: ignore[arg-type]
    rep = await queue_report(db, the_day(), rules, ["support"])
    assert rep.records()[0]["service_level"] == expected


async def test_short_abandons_are_a_per_queue_choice(db: Any) -> None:
    from reports.queues import queue_report
    rep = await queue_report(db, the_day(), {"support": ServiceLevelRule(20, "against", 0)},
                             ["support"])
    r = rep.records()[0]
    assert (r["offered"], r["abandoned"], r["short_abandons"]) == (9, 3, 0)
    assert r["service_level"] == 42.9  # 3 of (4 + 3)


async def test_interval_report_by_hand(db: Any) -> None:
    rows = await report(db, "intervals", queues=("support",), minutes=30)
    got = [(r["interval"], r["offered"], r["answered"], r["abandoned"], r["service_level"])
           for r in rows]
    assert got == [
        ("2026-11-20 00:30", 1, 1, 0, 100.0),
        ("2026-11-20 09:00", 3, 2, 1, 50.0),   # s1 s2 s4 (s3 short): 1 of (2 + 1 - 1)
        ("2026-11-20 09:30", 1, 0, 1, 0.0),    # s5 after 60 s
        ("2026-11-20 10:00", 2, 1, 0, 100.0),  # s6, and s7 who left a callback
        ("2026-11-20 10:30", 1, 0, 0, None),   # s8 overflowed: nothing to measure
    ]
    hourly = await report(db, "intervals", queues=("support",), minutes=60)
    assert [(r["interval"], r["offered"]) for r in hourly] == [
        ("2026-11-20 00:00", 1), ("2026-11-20 09:00", 4), ("2026-11-20 10:00", 3)]


async def test_agent_report_by_hand(db: Any) -> None:
    morning = window("2026-11-20T08:00", "2026-11-20T10:00", zone=MADRID, today=DAY)
    a = {r["agent"]: r for r in await report(db, "agents", morning, agents=("1001",))
         if "handled" in r}["1001"]
    assert (a["handled"], a["talk"], a["wrapup"], a["aht"]) == (1, 100.0, 20.0, 120.0)
    # ready 600 + 2,100 + 1,680; paused 900 + 1,800 (lunch still open at 10:00)
    assert (a["logged_in"], a["ready"], a["paused"], a["talking"], a["wrapping_up"]) == \
        (7200.0, 4380.0, 2700.0, 100.0, 20.0)
    assert a["occupancy"] == 2.7  # 120 / (120 + 4,380)
    assert a["utilisation"] == 1.7  # 120 / 7,200
    assert a["calls_per_hour"] == 0.5
    assert (a["qa_scores"], a["qa_average"]) == (2, 85.0)
    by_reason = {(r["state"], r["reason"]): (r["seconds"], r["share"])
                 for r in await report(db, "agents", morning, agents=("1001",)) if "share" in r}
    assert by_reason == {("paused", "break"): (900.0, 12.5), ("paused", "lunch"): (1800.0, 25.0),
                         ("ready", ""): (4380.0, 60.8), ("on_call", ""): (100.0, 1.4),
                         ("wrapup", ""): (20.0, 0.3)}


async def test_dispositions_callbacks_and_campaigns_by_hand(db: Any) -> None:
    d = [(r["disposition"], r["ticket_status"], r["calls"], r["share"], r["defaulted"])
         for r in await report(db, "dispositions")]
    assert d == [("support/billing", "open", 1, 33.3, 1), ("support/fault", "open", 1, 33.3, 0),
                 ("support/fault", "resolved", 1, 33.3, 0)]
    cb = {r["kind"]: r for r in await report(db, "callbacks")}
    assert (cb["callback"]["requested"], cb["callback"]["honoured"], cb["callback"]["owed"],
            cb["callback"]["honoured_rate"], cb["callback"]["avg_delay"]) == (2, 1, 1, 50.0, 600.0)
    assert (cb["follow_up"]["failed"], cb["follow_up"]["dial_attempts"]) == (1, 3)
    c = (await report(db, "campaigns"))[0]
    assert (c["dials"], c["people"], c["connected"], c["machines"], c["busy"], c["no_answer"],
            c["abandoned"], c["leads"]) == (6, 3, 2, 1, 1, 1, 1, 5)
    assert (c["abandon_rate"], c["answer_rate"], c["dead_air_ms"], c["aht"]) == (33.3, 50.0, 400.0, 90.0)


async def test_call_detail_is_in_the_centers_time(db: Any) -> None:
    rows = await report(db, "calls", queues=("support",))
    assert rows[0]["call_id"] == "s9" and rows[0]["entered"] == "2026-11-20 00:30:00"
    assert [r["call_id"] for r in rows] == ["s9", "s1", "s2", "s3", "s4", "s5", "s6", "s7", "s8"]


def test_bad_periods_and_names_are_refused_with_the_reason() -> None:
    with pytest.raises(BadRange, match="reversed"):
        window("2026-11-20", "2026-11-19", zone=MADRID, today=DAY)
    with pytest.raises(BadRange, match="not a date"):
        window("2026-02-30", None, zone=MADRID, today=DAY)
    with pytest.raises(BadRange, match="outside the years"):
        window("1970-01-01", None, zone=MADRID, today=DAY)
    with pytest.raises(BadRange, match="400 days at most"):
        window("2024-01-01", "2026-11-20", zone=MADRID, today=DAY)
    with pytest.raises(UnknownName, match="unknown queue 'suport'"):
        check(Ask("queues", the_day(), queues=("suport",)), CENTER)
    with pytest.raises(UnknownName, match="unknown agent '9999'"):
        check(Ask("agents", the_day(), agents=("9999",)), CENTER)


def test_report_cli_formats_and_refusals(center: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The shipped config: support has sl 20 s, short abandons under 5 s, as RULES above."""
    from app.cli import main

    async def fill() -> None:
        store = Store(f"sqlite+aiosqlite:///{center}/c.db")
        await store.migrate()
        async with store.session.begin() as s:
            s.add_all([_copy(r) for r in ROWS])
        await store.close()

    asyncio.run(fill())
    cli = ["--config", str(center), "report"]
    assert main([*cli, "queues", "--from", "2026-11-20", "--queue", "support"]) == 0
    out = capsys.readouterr().out
    assert "2026-11-20T00:00:00+01:00 to 2026-11-21T00:00:00+01:00" in out
    assert "support" in out and "60.0" in out
    assert main([*cli, "intervals", "--from", "2026-11-20", "--format", "csv",
                 "--interval", "60"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("interval,queue,offered")
    assert any(line.startswith("2026-11-20 09:00,support,4,2,2,") for line in lines), lines
    xlsx = center / "day.xlsx"
    assert main([*cli, "all", "--from", "2026-11-20", "--format", "xlsx", "-o", str(xlsx)]) == 0
    from openpyxl import load_workbook
    book = load_workbook(xlsx)
    assert {"queues", "agents", "intervals_30", "dispositions", "callbacks", "campaigns",
            "calls"} <= set(book.sheetnames)
    assert book["queues"]["A1"].value == "queue"
    assert main([*cli, "queues", "--from", "2026-11-21", "--to", "2026-11-20"]) == 1
    assert "reversed" in capsys.readouterr().err
    assert main([*cli, "agents", "--agent", "7777"]) == 1
    assert "unknown agent '7777'" in capsys.readouterr().err
    assert main([*cli, "queues", "--format", "xlsx"]) == 1
    assert "needs --output" in capsys.readouterr().err


def test_a_report_over_today_needs_no_dates() -> None:
    w = window(None, None, zone=MADRID, today=datetime.now(MADRID).date())
    assert w.start.timestamp() <= time.time() < w.end.timestamp()

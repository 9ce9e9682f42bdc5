"""bench/reports: the interval report over 1,000,000 interactions in SQLite, next to a
plain `count(*)` over the same rows in the same run (target: under 5 s).

A month of synthetic calls in 5 queues (answered, abandoned, short abandons, callbacks,
overflows) is written straight into a migrated database; the report then runs exactly as
`centralita report intervals` does (30-minute intervals, each queue's service-level rule)."""

from __future__ import annotations

import asyncio
import random
import sqlite3
import sys
import tempfile
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import text

from acd.servicelevel import ServiceLevelRule
from core.store import Store
from reports.queues import interval_report, queue_report
from reports.window import window

ROWS = 1_000_000
QUEUES = ("support", "billing", "sales", "vip", "tech")
START = datetime(2026, 10, 1, tzinfo=UTC).timestamp()
MONTH = 31 * 86400


def fill(path: Path, rows: int, seed: int = 7) -> None:
    rng = random.Random(seed)
    db = sqlite3.connect(path)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=OFF")

    def stamp(t: float) -> str:  # as SQLAlchemy stores a DateTime in SQLite
        return datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%d %H:%M:%S.%f")

    batch: list[tuple[object, ...]] = []
    for n in range(rows):
        t = START + rng.random() * MONTH
        wait = rng.expovariate(1 / 25)
        roll = rng.random()
        answered = roll < 0.85
        outcome = "answered" if answered else "abandoned" if roll < 0.95 else \
            "callback" if roll < 0.98 else "overflowed"
        batch.append((f"b{n:09d}", "inbound", f"+3460{rng.randint(0, 999_999):07d}", stamp(t),
                      stamp(t), stamp(t + wait) if answered else None, round(wait, 3),
                      rng.uniform(30, 600) if answered else None,
                      rng.uniform(0, 60) if answered else None, rng.choice(QUEUES),
                      f"{1000 + rng.randint(0, 199)}" if answered else None, outcome))
        if len(batch) == 50_000:
            _insert(db, batch)
            batch = []
    if batch:
        _insert(db, batch)
    db.commit()
    db.close()


def _insert(db: sqlite3.Connection, batch: Sequence[tuple[object, ...]]) -> None:
    db.executemany(
        "INSERT INTO interactions (id, kind, caller_num, entered_at, queued_at, connected_at, "
        "wait_s, talk_s, wrapup_s, queue, agent, outcome, caller_name, dnis, channel, notes, "
        "flagged) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, '', '', '', '', 0)", batch)


async def measure(url: str) -> tuple[float, float, float, int, int]:
    store = Store(url)
    zone = ZoneInfo("Europe/Madrid")
    period = window("2026-10-01", "2026-10-31", zone=zone, today=datetime(2026, 11, 1).date())
    rules = {q: ServiceLevelRule(20, "after_threshold", 5) for q in QUEUES}
    async with store.engine.connect() as conn:  # warm the page cache for both sides alike
        await conn.execute(text("SELECT count(*) FROM interactions"))
    t0 = time.perf_counter()
    async with store.engine.connect() as conn:
        counted = int((await conn.execute(text(
            "SELECT count(*) FROM interactions WHERE queued_at >= :a AND queued_at < :b"),
            {"a": period.start.strftime("%Y-%m-%d %H:%M:%S.%f"),
             "b": period.end.strftime("%Y-%m-%d %H:%M:%S.%f")})).scalar_one())
    count_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    report = await interval_report(store.engine, period, rules, 30)
    interval_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    await queue_report(store.engine, period, rules)
    queue_s = time.perf_counter() - t0
    await store.close()
    return count_s, interval_s, queue_s, counted, len(report.rows)


def main(rows: int = ROWS) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "reports.db"
        url = f"sqlite+aiosqlite:///{path}"

        async def migrate() -> None:
            store = Store(url)
            await store.migrate()
            await store.close()

        asyncio.run(migrate())
        t0 = time.perf_counter()
        fill(path, rows)
        filled = time.perf_counter() - t0
        count_s, interval_s, queue_s, counted, buckets = asyncio.run(measure(url))
    print(f"\nbench/reports: {rows:,} interactions in SQLite ({filled:.0f} s to write), "
          f"October in Europe/Madrid, 30-minute intervals, {len(QUEUES)} queues")
    print(f"{'':40}{'seconds':>10}{'rows/s':>14}")
    print(f"{'plain count(*) over the same rows':40}{count_s:>10.2f}{counted / count_s:>14,.0f}")
    print(f"{'interval report (' + str(buckets) + ' rows out)':40}{interval_s:>10.2f}"
          f"{counted / interval_s:>14,.0f}")
    print(f"{'queue report':40}{queue_s:>10.2f}{counted / queue_s:>14,.0f}")
    print(f"target: interval report under 5 s -> {'met' if interval_s < 5 else 'NOT met'}")
    print(f"BENCH reports rows={counted} interval_s={interval_s:.2f} count_s={count_s:.2f} "
          f"rows_per_s={counted / interval_s:.0f} queue_report_s={queue_s:.2f}")
    sys.stdout.flush()
    return {"interval_s": interval_s}


if __name__ == "__main__":
    main()

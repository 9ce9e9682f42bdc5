"""`centralita report`: the reports in a terminal, CSV, JSON or an XLSX workbook."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import sys
from datetime import datetime
from pathlib import Path
from typing import Any, TextIO
from zoneinfo import ZoneInfo

from app.center import load_center, report_center
from core.settings import Settings
from core.store import Store
from reports.catalogue import NAMES, Ask, Center, UnknownName, produce
from reports.render import FORMATS, as_csv, as_json, as_xlsx, table
from reports.window import BadRange, window
from web.auth import PAGES, good_secret, hash_secret
from web.logins import store_secret


def add_parsers(sub: Any) -> None:
    report = sub.add_parser(
        "report", help="queue, agent, interval, disposition, callback, campaign and call reports",
        description="Figures are defined in the README (Reports). Dates are the center's "
                    "(engine.yaml reports.timezone); --to is included.")
    report.add_argument("name", choices=(*NAMES, "all"), help="which report (all: every one)")
    report.add_argument("--from", dest="start", metavar="DATE",
                        help="YYYY-MM-DD or YYYY-MM-DDTHH:MM (default: today)")
    report.add_argument("--to", dest="end", metavar="DATE", help="last day included (default: --from)")
    report.add_argument("--queue", action="append", default=[], help="only this queue (repeatable)")
    report.add_argument("--agent", action="append", default=[], help="only this agent (repeatable)")
    report.add_argument("--campaign", action="append", default=[], help="only this campaign")
    report.add_argument("--interval", type=int, choices=(15, 30, 60), default=30,
                        help="minutes per interval (intervals report)")
    report.add_argument("--limit", type=int, default=1000, help="calls report: at most this many rows")
    report.add_argument("--format", choices=FORMATS, default="table",
                        help="table (a terminal), csv, json, xlsx (a sheet per report; needs -o)")
    report.add_argument("--output", "-o", type=Path, help="write here (xlsx needs it)")


def add_passwd(sub: Any) -> None:
    pw = sub.add_parser(
        "passwd", help="set the web password of a supervisor or QA person (agents.yaml)",
        description="Reads the new password from the terminal (or one line on stdin with "
                    "--stdin); stores only a salted scrypt hash, in the database.")
    pw.add_argument("user", help="their id in agents.yaml (role supervisor or qa)")
    pw.add_argument("--stdin", action="store_true", help="read the password from stdin")


def passwd(settings: Settings, args: argparse.Namespace, out: TextIO | None = None) -> int:
    out = out or sys.stdout
    agent = load_center(settings).directory.get(args.user)
    if agent is None:
        print(f"centralita: {args.user!r} is not in agents.yaml", file=sys.stderr)
        return 1
    if agent.role not in PAGES:
        print(f"centralita: {args.user} has the role {agent.role!r}; only "
              f"{' and '.join(sorted(PAGES))} may use the web pages", file=sys.stderr)
        return 1
    if args.stdin:
        secret = sys.stdin.readline().rstrip("\n")
    else:
        secret = getpass.getpass(f"New password for {args.user}: ")
        if secret != getpass.getpass("Again: "):
            print("centralita: the two passwords differ; nothing changed", file=sys.stderr)
            return 1
    why = good_secret(secret)
    if why is not None:
        print(f"centralita: {why}; nothing changed", file=sys.stderr)
        return 1
    asyncio.run(_store_secret(settings, args.user, hash_secret(secret)))
    print(f"web password set for {args.user} ({agent.name}, {agent.role})", file=out)
    return 0


async def _store_secret(settings: Settings, user: str, hashed: str) -> None:
    store = Store(settings.database.url)
    try:
        await store.migrate()
        await store_secret(store, user, hashed)
    finally:
        await store.close()


def run(settings: Settings, args: argparse.Namespace, out: TextIO | None = None) -> int:
    out = out or sys.stdout
    zone = ZoneInfo(settings.reports.timezone)
    if args.format == "xlsx" and args.output is None:
        print("centralita: --format xlsx needs --output FILE.xlsx", file=sys.stderr)
        return 1
    if args.limit < 1:
        print("centralita: --limit must be at least 1", file=sys.stderr)
        return 1
    try:
        period = window(args.start, args.end, zone=zone, today=datetime.now(zone).date())
        center = report_center(settings, load_center(settings))
        names = NAMES if args.name == "all" else (args.name,)
        asks = [Ask(n, period, tuple(args.queue), tuple(args.agent), tuple(args.campaign),
                    args.interval, args.limit) for n in names]
        reports = asyncio.run(_produce(settings, asks, center))
    except (BadRange, UnknownName) as exc:
        print(f"centralita: {exc}", file=sys.stderr)
        return 1
    span = {"from": period.local(period.start).isoformat(), "to": period.local(period.end).isoformat(),
            "timezone": settings.reports.timezone}
    if args.format == "xlsx":
        as_xlsx(reports, args.output)
        print(f"{args.output}: {len(reports)} sheet(s)", file=out)
        return 0
    text = table(reports) if args.format == "table" else \
        as_csv(reports) if args.format == "csv" else as_json(reports, span)
    if args.format == "table":
        text = f"{span['from']} to {span['to']}\n\n{text}"
    if args.output is not None:
        args.output.write_text(text, encoding="utf-8")
    else:
        out.write(text if text.endswith("\n") else text + "\n")
    return 0


async def _produce(settings: Settings, asks: list[Ask], center: Center) -> list[Any]:
    store = Store(settings.database.url)
    try:
        await store.migrate()
        reports = []
        for ask in asks:
            reports += await produce(store.engine, ask, center)
        return reports
    finally:
        await store.close()

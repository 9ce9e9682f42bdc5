"""`centralita leads ...`, `centralita dnc ...` and `centralita dialer simulate`: what
admins do with campaigns from the command line (campaigns.yaml names the campaigns)."""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import replace
from pathlib import Path
from typing import Any, TextIO

from app.center import load_center
from core.settings import Settings
from core.store import Store
from dialer.leads import MAX_PROBLEMS_SHOWN, ImportRefused, decode, mapping_from, parse
from dialer.model import Campaign, CampaignsConfig
from dialer.numbers import BadNumber, callee
from dialer.simulation import World, simulate
from dialer.store import LeadStore

MAX_FILE = 512 * 1024 * 1024  # bytes: a lead file larger than this is refused unread


class Refused(Exception):
    """The command cannot be carried out; the message says why (nothing was stored)."""


def add_parsers(sub: Any) -> None:
    leads = sub.add_parser("leads", help="import a campaign's leads; show them by state")
    leads.add_argument("action", choices=["import", "status"],
                       help="import: a CSV file into the campaign; status: its leads by state")
    leads.add_argument("campaign", help="the campaign's name in campaigns.yaml")
    leads.add_argument("file", type=Path, nargs="?", help="CSV file (import)")
    leads.add_argument("--map", action="append", default=[], metavar="FIELD=COLUMN",
                       help="number=Phone, zone=TZ, priority=Prio, name=Name ... (default: "
                            "the header's names)")
    leads.add_argument("--list", default="", help="the list's name (default: the file's)")
    leads.add_argument("--update", action="store_true",
                       help="leads already in the campaign take the file's fields")
    leads.add_argument("--skip-bad", action="store_true",
                       help="import the good rows and report the bad ones (default: a bad row "
                            "stops the whole import)")
    dnc = sub.add_parser("dnc", help="the do-not-call list: add, import, check, remove")
    dnc.add_argument("action", choices=["add", "import", "check", "remove"],
                     help="add, check or remove numbers; import: a file of numbers")
    dnc.add_argument("what", nargs="+", help="numbers (add, check, remove) or a file (import: "
                                             "one number per line, or a CSV's first column)")
    dnc.add_argument("--campaign", default="", help="for one campaign (default: all of them)")
    dnc.add_argument("--note", default="", help="why (kept with the entry)")
    dialer = sub.add_parser("dialer", help="what-if: the pacing against a simulated campaign")
    dialer.add_argument("action", choices=["simulate"],
                        help="simulate: each pacing mode against the campaign's own history")
    dialer.add_argument("campaign", help="the campaign's name in campaigns.yaml")
    dialer.add_argument("--agents", type=_count, help="agents logged in (default: its own)")
    dialer.add_argument("--hours", type=_hours, default=8.0, help="simulated hours")
    dialer.add_argument("--seed", type=_count, default=1, help="random seed (the same: the same run)")


def _count(value: str) -> int:
    if not value.isdigit() or not 1 <= int(value) <= 5000:
        raise argparse.ArgumentTypeError(f"a whole number from 1 to 5000, not {value!r}")
    return int(value)


def _hours(value: str) -> float:
    try:
        hours = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of hours: {value!r}") from None
    if not 0.1 <= hours <= 24:
        raise argparse.ArgumentTypeError(f"hours from 0.1 to 24, not {value!r}")
    return hours


def run(settings: Settings, args: argparse.Namespace, out: TextIO | None = None) -> int:
    out = out or sys.stdout
    try:
        config, members = _campaigns(settings)
        if args.command == "leads":
            return asyncio.run(_with_store(settings, lambda s: _leads(s, config, args, out)))
        if args.command == "dnc":
            return asyncio.run(_with_store(settings, lambda s: _dnc(s, config, args, out)))
        return asyncio.run(_with_store(settings, lambda s: _simulate(s, config, members,
                                                                     args, out)))
    except (Refused, ImportRefused) as exc:
        print(f"centralita: {exc}", file=sys.stderr)
        return 1


def _campaigns(settings: Settings) -> tuple[CampaignsConfig, dict[str, int]]:
    center = load_center(settings)
    if center.campaigns is None:
        raise Refused("no campaigns are configured (engine.yaml dialer.campaigns)")
    members: dict[str, int] = {}
    for campaigns in center.campaigns.members_of(center.directory).values():
        for name in campaigns:
            members[name] = members.get(name, 0) + 1
    return center.campaigns, members


def _campaign(config: CampaignsConfig, name: str) -> Campaign:
    c = config.campaigns.get(name)
    if c is None:
        raise Refused(f"unknown campaign {name!r} (campaigns.yaml has {sorted(config.campaigns)})")
    return c


async def _with_store(settings: Settings, work: Callable[[LeadStore], Awaitable[int]]) -> int:
    store = Store(settings.database.url)
    try:
        await store.migrate()
        return await work(LeadStore(store))
    finally:
        await store.close()


# --- leads --------------------------------------------------------------------------------

async def _leads(leads: LeadStore, config: CampaignsConfig, args: argparse.Namespace,
                 out: TextIO) -> int:
    c = _campaign(config, args.campaign)
    if args.action == "status":
        counts = await leads.leads_by_state(args.campaign)
        total = sum(counts.values())
        print(f"campaign {args.campaign}: {total} lead(s)", file=out)
        for state, n in sorted(counts.items()):
            print(f"  {state:<10} {n:>9}", file=out)
        return 0
    if args.file is None:
        raise Refused("leads import needs the CSV file")
    path: Path = args.file
    try:
        size = path.stat().st_size
        if size > MAX_FILE:
            raise Refused(f"{path}: {size:,} bytes; split files over {MAX_FILE:,}")
        data = path.read_bytes()
    except OSError as exc:
        raise Refused(f"{path}: cannot read: {exc.strerror}") from None
    mapping = mapping_from(args.map) if args.map else None
    source = str(path)
    parsed = parse(decode(data, source), source, mapping=mapping, region=config.region,
                   default_priority=c.priority)
    if parsed.problems and not args.skip_bad:
        for problem in parsed.problems[:MAX_PROBLEMS_SHOWN]:
            print(f"{source}: {problem}", file=sys.stderr)
        more = len(parsed.problems) - MAX_PROBLEMS_SHOWN
        if more > 0:
            print(f"... and {more} more", file=sys.stderr)
        raise Refused(f"{len(parsed.problems)} bad row(s) of {parsed.rows}: nothing imported "
                      "(fix them, or --skip-bad to import the good rows)")
    if not parsed.leads:
        raise Refused(f"{source}: no leads in the file")
    t0 = time.perf_counter()
    result = await leads.import_leads(args.campaign, args.list or path.stem, parsed.leads,
                                      update_existing=args.update, at=time.time())
    took = time.perf_counter() - t0
    for problem in parsed.problems[:MAX_PROBLEMS_SHOWN]:
        print(f"{source}: skipped {problem}", file=sys.stderr)
    for line in parsed.duplicate_lines[:MAX_PROBLEMS_SHOWN]:
        print(f"{source}: {line}", file=sys.stderr)
    print(f"{args.campaign}: {result.new} new, {result.updated} updated, {result.existing} "
          f"already there{'' if args.update else ' (kept; --update to change them)'}, "
          f"{parsed.duplicates} duplicate row(s), {len(parsed.problems)} bad row(s) skipped "
          f"({parsed.rows} rows in {took:.1f} s)", file=out)
    return 0


# --- the do-not-call list -----------------------------------------------------------------

async def _dnc(leads: LeadStore, config: CampaignsConfig, args: argparse.Namespace,
               out: TextIO) -> int:
    if args.campaign:
        _campaign(config, args.campaign)
    scope = f"campaign {args.campaign}" if args.campaign else "all campaigns"
    if args.action == "import":
        if len(args.what) != 1:
            raise Refused("dnc import takes one file")
        numbers = _numbers_in(Path(args.what[0]), config.region)
    else:
        numbers = [_number(n, config.region, f"number {n!r}") for n in args.what]
    now = time.time()
    if args.action in ("add", "import"):
        added = await leads.dnc_add(numbers, campaign=args.campaign, source="cli", at=now,
                                    note=args.note)
        print(f"do-not-call ({scope}): {added} added, {len(set(numbers)) - added} were "
              "there already", file=out)
        return 0
    if args.action == "remove":
        for number in numbers:
            gone = await leads.dnc_remove(number, campaign=args.campaign)
            print(f"{number}: {'removed' if gone else 'was not on the list'} ({scope})",
                  file=out)
        return 0
    found = 0
    for number in numbers:
        entries = await leads.dnc_check(number, args.campaign)
        if entries:
            found += 1
            for e in entries:
                print(f"{number}: do not call ({'campaign ' + e.campaign if e.campaign else 'all'}"
                      f" campaigns, {e.source}, {e.added_at:%Y-%m-%d}{', ' + e.note if e.note else ''})",
                      file=out)
        else:
            print(f"{number}: may be called ({scope})", file=out)
    return 3 if found else 0


def _number(raw: str, region: str, where: str) -> str:
    try:
        return callee(raw, region=region).number
    except BadNumber as exc:
        raise Refused(f"{where}: {exc}") from None


def _numbers_in(path: Path, region: str) -> list[str]:
    """One number per line (a CSV's first column; a header line is skipped); one bad
    number refuses the file."""
    try:
        text = decode(path.read_bytes(), str(path))
    except OSError as exc:
        raise Refused(f"{path}: cannot read: {exc.strerror}") from None
    numbers: list[str] = []
    for n, line in enumerate(text.splitlines(), 1):
        cell = line.split(",", 1)[0].strip().strip('"')
        if not cell or (n == 1 and not any(ch.isdigit() for ch in cell)):
            continue
        numbers.append(_number(cell, region, f"{path}:{n}"))
    if not numbers:
        raise Refused(f"{path}: no numbers in the file")
    return numbers


# --- what if --------------------------------------------------------------------------------

async def _simulate(leads: LeadStore, config: CampaignsConfig, members: dict[str, int],
                    args: argparse.Namespace, out: TextIO) -> int:
    c = _campaign(config, args.campaign)
    world, source = await history_world(leads, args.campaign, c)
    agents = args.agents or members.get(args.campaign, 0)
    if agents < 1:
        raise Refused(f"campaign {args.campaign} has no agents; give --agents N")
    world = replace(world, agents=agents, hours=args.hours, seed=args.seed)
    print(f"what if: campaign {args.campaign}, {agents} agents, {args.hours:g} h; {source}",
          file=out)
    print(f"  answered {world.answer_rate:.0%} of dials, machines {world.machine_rate:.0%} of "
          f"answers, talk {_mean(world.talk_samples, world.talk):.0f} s, wrap-up "
          f"{_mean(world.wrapup_samples, world.wrapup):.0f} s, cap {c.abandon_cap:g} %",
          file=out)
    rows = [("progressive", "progressive", None), ("power 1.5", "power", 1.5),
            ("power 2.0", "power", 2.0), (f"predictive @{c.abandon_cap:g}%", "predictive", None)]
    print(f"  {'mode':<16} {'occupancy':>9} {'contacts/agent-h':>16} {'abandon %':>9} "
          f"{'idle min/h':>10} {'leads used':>10}", file=out)
    for label, mode, ratio in rows:
        r = simulate(world, mode, ratio=ratio, cap=c.abandon_cap,  # type: ignore[arg-type]
                     max_dial_level=c.max_dial_level)
        flag = "  over the cap" if r.abandon_pct > c.abandon_cap else ""
        print(f"  {label:<16} {r.busy:>9.1%} {r.contacts_per_agent_hour:>16.1f} "
              f"{r.abandon_pct:>9.2f} {r.idle_per_agent_hour:>10.1f} {r.dials:>10}{flag}",
              file=out)
    print("  occupancy: talk and wrap-up over logged-in time; idle: minutes per agent-hour "
          "waiting for a call", file=out)
    return 0


async def history_world(leads: LeadStore, campaign: str, c: Campaign) -> tuple[World, str]:
    """The simulated campaign's world from the last 30 days of its attempts (answer and
    machine rates, ring, talk and wrap-up times); bench/dialer's where there is none."""
    rows = await leads.history(campaign, time.time() - 30 * 86400)
    base = World(ring_timeout=c.ring_timeout, wrapup=c.wrapup)
    dials = [r for r in rows if r.outcome]
    answered = [r for r in dials if r.ring_s is not None]
    if len(answered) < 20:
        return base, (f"too little history ({len(answered)} answered calls in 30 days): "
                      "the bench's assumptions")
    humans = [r for r in answered if r.human]
    talk = tuple(r.talk_s for r in humans if r.talk_s)
    wrap = tuple(r.wrapup_s for r in humans if r.wrapup_s is not None)
    ring = tuple(r.ring_s for r in answered if r.ring_s is not None)
    return World(answer_rate=len(answered) / len(dials),
                 machine_rate=1 - len(humans) / len(answered),
                 busy_rate=sum(1 for r in dials if r.outcome == "busy") / len(dials),
                 ring_timeout=c.ring_timeout, wrapup=c.wrapup, talk_samples=talk,
                 ring_samples=ring, wrapup_samples=wrap), \
        f"from its last {len(dials)} dials (30 days)"


def _mean(samples: tuple[float, ...], default: float) -> float:
    return statistics.mean(samples) if samples else default

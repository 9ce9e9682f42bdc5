"""Calling hours in the called party's local time (pure, the instant passed in).

A campaign's window (default 08:00-21:00 every day, the US Telemarketing Sales Rule's)
is read in each of the lead's possible zones; the lead may be called only when all of
them are inside it, on a day that is not a holiday there.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, time
from zoneinfo import ZoneInfo

from core.schedule import WEEKDAYS, Schedule, parse_range

EARLIEST = time(8, 0)
LATEST = time(21, 0)
DEFAULT_RANGE = "08:00-21:00"


def default_hours() -> Schedule:
    return Schedule(timezone="UTC", weekly={day: [DEFAULT_RANGE] for day in WEEKDAYS})


def outside_legal_window(hours: Schedule) -> list[str]:
    """Ranges that start before 08:00 or end after 21:00 (refused unless overridden)."""
    out = []
    for day, ranges in hours.weekly.items():
        for text in ranges:
            start, end = parse_range(text)
            if start < EARLIEST or end > LATEST:
                out.append(f"{day} {text}")
    return out


def open_in(hours: Schedule, zone: str, now: datetime) -> bool:
    """Is it calling time in `zone`? (`hours.timezone` is not used: the zone is the
    called party's.)"""
    local = now.astimezone(ZoneInfo(zone))
    if local.date() in hours.holidays:
        return False
    t = local.time()
    for text in hours.weekly.get(WEEKDAYS[local.weekday()], []):
        start, end = parse_range(text)
        if start <= t < end:
            return True
    return False


def callable_now(hours: Schedule, zones: Iterable[str], now: datetime) -> bool:
    """Every possible zone of the lead is inside calling hours."""
    zones = list(zones)
    return bool(zones) and all(open_in(hours, z, now) for z in zones)


def open_zone_keys(hours: Schedule, keys: Iterable[str], now: datetime) -> list[str]:
    """Of the leads' zone keys (`Europe/Madrid|Atlantic/Canary`), those callable now."""
    return [k for k in keys if callable_now(hours, k.split("|"), now)]

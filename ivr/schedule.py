"""Business hours: is a schedule open at a given instant? Pure; time is a parameter."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from ivr.model import WEEKDAYS, Schedule, parse_range


def is_open(schedule: Schedule, now: datetime) -> bool:
    """`now` must be timezone-aware; it is read in the schedule's own time zone."""
    if now.tzinfo is None:
        raise ValueError("is_open needs an aware datetime")
    local = now.astimezone(ZoneInfo(schedule.timezone))
    if local.date() in schedule.holidays:
        return False
    t = local.time()
    for text in schedule.weekly.get(WEEKDAYS[local.weekday()], []):
        start, end = parse_range(text)
        if start <= t < end or (end.hour == 23 and end.minute == 59 and t >= start):
            return True
    return False

"""Business hours: when a place (the IVR's menus, the center's follow-ups, a campaign's
calling window) is open. The model is what an admin writes; `is_open` is pure, with the
instant passed in."""

from __future__ import annotations

import re
from datetime import date, datetime, time
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class Schedule(BaseModel):
    """Open hours per weekday (`09:00-18:00`, several ranges allowed) in a time zone, and
    the dates it is closed all day."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    timezone: str
    weekly: dict[str, list[str]]
    holidays: list[date] = Field(default_factory=list)

    @field_validator("timezone")
    @classmethod
    def _tz(cls, v: str) -> str:
        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {v!r}") from None
        return v

    @field_validator("weekly")
    @classmethod
    def _weekly(cls, v: dict[str, list[str]]) -> dict[str, list[str]]:
        for day, ranges in v.items():
            if day not in WEEKDAYS:
                raise ValueError(f"unknown weekday {day!r} (use {', '.join(WEEKDAYS)})")
            for r in ranges:
                parse_range(r)
        return v


def parse_range(text: str) -> tuple[time, time]:
    """`08:00-20:00` -> (08:00, 20:00); `24:00` as an end means the end of the day."""
    m = re.fullmatch(r"(\d\d):(\d\d)-(\d\d):(\d\d)", text)
    if not m:
        raise ValueError(f"time range must look like 09:00-18:00, got {text!r}")
    h1, m1, h2, m2 = map(int, m.groups())
    if h1 > 23 or h2 > 24 or m1 > 59 or m2 > 59 or (h2 == 24 and m2):
        raise ValueError(f"time out of range in {text!r}")
    start, end = time(h1, m1), time(23, 59, 59, 999999) if h2 == 24 else time(h2, m2)
    if end <= start:
        raise ValueError(f"range ends before it starts: {text!r}")
    return start, end


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


class HoursFile(BaseModel):
    """hours.yaml: the center's named schedules, defined once."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    schedules: dict[str, Schedule] = Field(min_length=1)

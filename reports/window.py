"""The period a report covers, read in the center's time zone (pure)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from core.errors import CoreError

#: a report over more than this is almost surely a typo (and would scan everything)
LONGEST_DAYS = 400
EARLIEST = date(2000, 1, 1)


class BadRange(CoreError):
    """--from/--to that cannot be a report's period."""


@dataclass(frozen=True, slots=True)
class Window:
    """[start, end) in UTC; `zone` is the center's, for dates and interval labels."""

    start: datetime
    end: datetime
    zone: ZoneInfo

    def local(self, at: datetime) -> datetime:
        return at.astimezone(self.zone)

    @property
    def seconds(self) -> float:
        return (self.end - self.start).total_seconds()


def _day_or_moment(text: str, what: str, zone: ZoneInfo) -> tuple[datetime, bool]:
    """A local date (YYYY-MM-DD: the whole day) or moment (YYYY-MM-DDTHH:MM)."""
    try:
        if len(text) == 10:
            return datetime.combine(date.fromisoformat(text), time(), zone), True
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise BadRange(f"{what}: {text!r} is not a date (YYYY-MM-DD) or a time "
                       f"(YYYY-MM-DDTHH:MM)") from None
    return (moment if moment.tzinfo else moment.replace(tzinfo=zone)), False


def window(start: str | None, end: str | None, *, zone: ZoneInfo, today: date) -> Window:
    """`--from` and `--to` (both dates included; a time is exact); default: today; no
    `--to`: to the end of the `--from` day."""
    first, _ = _day_or_moment(start, "--from", zone) if start else (
        datetime.combine(today, time(), zone), True)
    if end:
        last, whole_day = _day_or_moment(end, "--to", zone)
        if whole_day:  # to the end of that day, which is not always 24 h away
            last = datetime.combine(last.date() + timedelta(days=1), time(), zone)
    else:  # the rest of the --from day (or today)
        last = datetime.combine(first.date() + timedelta(days=1), time(), zone)
    if first.date() < EARLIEST or last.date() > today + timedelta(days=LONGEST_DAYS):
        raise BadRange(f"--from/--to: {first.date()} to {last.date()} is outside the years "
                       f"this center can have calls in")
    if last <= first:
        raise BadRange(f"--to ({end}) is not after --from ({start}): the period is reversed "
                       f"or empty")
    if (last - first).days > LONGEST_DAYS:
        raise BadRange(f"--from/--to: {(last - first).days} days; a report covers "
                       f"{LONGEST_DAYS} days at most")
    return Window(first.astimezone(UTC), last.astimezone(UTC), zone)

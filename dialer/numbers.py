"""Phone numbers for the dialer (pure): E.164 and the time zones a number may be in.

The `phonenumbers` library (Google's libphonenumber data) does the work. A number that
may be in several zones (a Spanish mobile: Madrid or the Canaries) keeps them all: it is
only called when every one of them is inside calling hours.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from zoneinfo import available_timezones

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumberFormat, PhoneNumberType
from phonenumbers import timezone as pn_timezone

MAX_ZONES = 8  # more possible zones than this (toll-free, pan-country ranges): not placeable
_TYPES_REFUSED = {PhoneNumberType.PREMIUM_RATE, PhoneNumberType.SHARED_COST,
                  PhoneNumberType.UAN, PhoneNumberType.PAGER}


@dataclass(frozen=True, slots=True)
class Callee:
    number: str  # E.164
    zones: tuple[str, ...]  # IANA names, sorted

    @property
    def zone_key(self) -> str:
        """The zones as one string (stored with the lead; leads are grouped by it)."""
        return "|".join(self.zones)


class BadNumber(ValueError):
    """Not a number the dialer can call; the message says why."""


def callee(raw: str, *, region: str, zone: str | None = None) -> Callee:
    """The E.164 number and its possible zones; `region` reads national numbers (ES:
    `600 12 34 56`); an explicit `zone` (a column of the import) wins over the number's."""
    text = raw.strip()
    if not text:
        raise BadNumber("no number")
    if len(text) > 40:
        raise BadNumber(f"{text[:20]}...: too long for a phone number")
    try:
        parsed = phonenumbers.parse(text, region)
    except NumberParseException as exc:
        raise BadNumber(f"{text!r} is not a phone number ({exc.args[0] if exc.args else exc})") \
            from None
    if not phonenumbers.is_valid_number(parsed):
        raise BadNumber(f"{text!r} is not a valid number in {region} or in E.164")
    if phonenumbers.number_type(parsed) in _TYPES_REFUSED:
        raise BadNumber(f"{text!r} is a premium, shared-cost or pager number")
    number = phonenumbers.format_number(parsed, PhoneNumberFormat.E164)
    if zone:
        if zone not in _known_zones():
            raise BadNumber(f"unknown time zone {zone!r}")
        return Callee(number, (zone,))
    zones = tuple(sorted(z for z in pn_timezone.time_zones_for_number(parsed)
                         if z in _known_zones()))
    if not zones:
        raise BadNumber(f"{number}: no time zone is known for this number (give a zone column)")
    if len(zones) > MAX_ZONES:
        raise BadNumber(f"{number}: may be in {len(zones)} time zones; give a zone column")
    return Callee(number, zones)


@cache
def _known_zones() -> frozenset[str]:
    return frozenset(available_timezones())

"""Callbacks that keep the caller's place (pure): which number to dial, when to try again."""

from __future__ import annotations

import re

_NUMBER = re.compile(r"^\+?[0-9]{3,15}$")


def callback_number(typed: str, caller_num: str) -> str | None:
    """The number to call back: what the caller keyed (digits, '#' ends it) or, when they
    keyed nothing, their caller id. None when neither is a plausible phone number."""
    typed = typed.rstrip("#")
    if typed:
        return typed if _NUMBER.match(typed) else None
    cleaned = caller_num.replace(" ", "").replace("-", "")
    return cleaned if _NUMBER.match(cleaned) else None


def next_try(attempts: int, max_attempts: int, retry_after: float, now: float) -> float | None:
    """When to dial again after `attempts` failed tries, or None when they are used up."""
    if attempts >= max_attempts:
        return None
    return now + retry_after

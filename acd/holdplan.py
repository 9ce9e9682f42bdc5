"""The caller on hold (pure): when the hold loop wakes, what is due when it does.

The loop plays music and waits for a key (`WAIT FOR DIGIT`) until the next thing is
due: a position announcement, the periodic message, the queue's maximum wait, an
escalation step; never longer than 30 s, so a key is never ignored for long.
"""

from __future__ import annotations

from dataclasses import dataclass

INF = float("inf")
LONGEST_WAIT = 30.0


@dataclass(frozen=True, slots=True)
class HoldRules:
    max_wait: float | None
    overflows: bool  # the queue has an overflow target for max_wait
    position_every: float | None
    periodic: str | None
    periodic_every: float
    steps: tuple[float, ...]  # escalation steps' `after`


@dataclass(frozen=True, slots=True)
class Due:
    """When the next announcements are due (epoch seconds; inf: never)."""

    position: float
    periodic: float


@dataclass(frozen=True, slots=True)
class Overflow:
    """Send the caller to the queue's overflow (`max_wait`) or an escalation step's."""

    reason: str
    step: str | None = None  # the escalation step's target label, None: the queue's overflow


@dataclass(frozen=True, slots=True)
class Dispatch:
    """Look for an agent again (an escalation step may have relaxed the levels)."""


def first_due(rules: HoldRules, now: float) -> Due:
    return Due(now + rules.position_every if rules.position_every else INF,
               now + rules.periodic_every if rules.periodic else INF)


def wake_in(rules: HoldRules, due: Due, *, entered: float, now: float) -> float:
    """Seconds to wait for a key before the loop looks again."""
    times = [due.position, due.periodic, now + LONGEST_WAIT]
    if rules.max_wait is not None:
        times.append(entered + rules.max_wait)
    times += [entered + after for after in rules.steps if entered + after > now]
    return max(0.1, min(times) - now)


def on_wake(rules: HoldRules, *, entered: float, now: float, ringing: bool,
            step_due: str | None) -> Overflow | Dispatch | None:
    """What to do after a wait: nothing while an agent's phone rings for the caller."""
    if ringing:
        return None
    if rules.max_wait is not None and now - entered >= rules.max_wait and rules.overflows:
        return Overflow("max_wait")
    if step_due is not None:
        return Overflow(f"waited {now - entered:.0f} s", step_due)
    return Dispatch()


def announcements(rules: HoldRules, due: Due, now: float) -> tuple[list[str], Due]:
    """Which announcements are due now (`position`, `periodic`) and when they come next."""
    out: list[str] = []
    position, periodic = due.position, due.periodic
    if now >= due.position:
        out.append("position")
        position = now + (rules.position_every or INF)
    if now >= due.periodic and rules.periodic:
        out.append("periodic")
        periodic = now + rules.periodic_every
    return out, Due(position, periodic)

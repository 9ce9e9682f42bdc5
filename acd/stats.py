"""Queue statistics for supervisors (pure): today's tallies and a live snapshot."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace

from acd.servicelevel import ServiceLevelRule, Waits
from acd.servicelevel import service_level as rate
from core.payloads import QueueStats, QueueToday


@dataclass(frozen=True, slots=True)
class Tally:
    """What a queue did since the start of `day` (a local date, YYYY-MM-DD)."""

    day: str = ""
    entered: int = 0
    answered: int = 0
    abandoned: int = 0  # after `short_abandon` seconds (acd/servicelevel.py)
    overflowed: int = 0
    callbacks: int = 0  # callers who left a number keeping their place
    within_sl: int = 0  # answered within the queue's service-level time
    abandoned_within_sl: int = 0  # of `abandoned`, those who gave up within that time
    short_abandons: int = 0  # gave up within `short_abandon` seconds: not counted at all
    answer_wait: float = 0.0  # total wait of answered calls (for the ASA)
    rule: ServiceLevelRule = ServiceLevelRule()  # noqa: RUF009 (frozen: one shared value is safe)


def counted(t: Tally, day: str, what: str, *, wait: float = 0.0,
            rule: ServiceLevelRule | None = None) -> Tally:
    """`t` after one more `what` (entered, answered, abandoned, overflowed, callback) on `day`;
    a new day starts from zero."""
    rule = rule or t.rule
    if t.day != day or t.rule != rule:
        t = Tally(day, rule=rule) if t.day != day else replace(t, rule=rule)
    if what == "entered":
        return replace(t, entered=t.entered + 1)
    if what == "answered":
        return replace(t, answered=t.answered + 1, answer_wait=t.answer_wait + wait,
                       within_sl=t.within_sl + (wait <= rule.seconds))
    if what == "abandoned":
        if rule.short(wait):
            return replace(t, short_abandons=t.short_abandons + 1)
        return replace(t, abandoned=t.abandoned + 1,
                       abandoned_within_sl=t.abandoned_within_sl + (wait <= rule.seconds))
    if what == "overflowed":
        return replace(t, overflowed=t.overflowed + 1)
    if what == "callback":
        return replace(t, callbacks=t.callbacks + 1)
    raise ValueError(f"unknown tally {what!r}")


def service_level(t: Tally) -> float | None:
    """Percent by the queue's own rule (acd/servicelevel.py), as the reports count it."""
    return rate(Waits(t.answered, t.within_sl, t.abandoned, t.abandoned_within_sl), t.rule)


def snapshot(queue: str, t: Tally, *, now: float, waiting: Iterable[float],
             callbacks_waiting: int, agents: Iterable[str], estimated_wait: float) -> QueueStats:
    """The `queues/{queue}/stats` payload: `waiting` are the arrival times of callers on
    the line; `agents` the states of the queue's agents."""
    entered = list(waiting)
    states: dict[str, int] = {}
    for state in agents:
        states[state] = states.get(state, 0) + 1
    return QueueStats(
        queue=queue, at=now, waiting=len(entered),
        longest_wait=round(now - min(entered), 1) if entered else 0.0,
        callbacks_waiting=callbacks_waiting, estimated_wait=round(estimated_wait),
        agents=states,
        today=QueueToday(
            day=t.day, entered=t.entered, answered=t.answered, abandoned=t.abandoned,
            overflowed=t.overflowed, callbacks=t.callbacks, service_level=service_level(t),
            asa=round(t.answer_wait / t.answered, 1) if t.answered else None))

"""What a campaign has measured: the pacing's inputs (answer and machine rates, ring, talk
and wrap-up times, AMD's delay, the abandon rate over the rolling window and lately) and
the supervisors' figures (`campaigns/{name}/stats`). Kept in memory from the attempts as
they happen, seeded from the store's history at start."""

from __future__ import annotations

import statistics
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from core.models import LeadAttempt
from dialer.model import Campaign
from dialer.pacing import RECENT, Measured, Samples

KEEP = 500  # samples of each kind
WINDOW_DAYS = 30  # the abandon rate's window (US TSR: per campaign, 30 days)
REFRESH = 60.0  # seconds between rebuilding the pacing's sorted samples
#: before there is history: the bench's world (the pacing stays progressive until
#: `pacing.MIN_HISTORY` live answers are measured anyway)
PRIOR_RING = (2.0, 4.0, 6.0, 8.0)
PRIOR_TALK = 120.0
PRIOR_AMD = 1.9


def day_of(at: float) -> str:
    return datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%d")


@dataclass
class Measurements:
    """One campaign's measurements."""

    answered: deque[bool] = field(default_factory=lambda: deque(maxlen=KEEP))  # per dial
    human: deque[bool] = field(default_factory=lambda: deque(maxlen=KEEP))  # per answer
    ring: deque[float] = field(default_factory=lambda: deque(maxlen=KEEP))
    talk: deque[float] = field(default_factory=lambda: deque(maxlen=KEEP))
    wrapup: deque[float] = field(default_factory=lambda: deque(maxlen=KEEP))
    amd: deque[float] = field(default_factory=lambda: deque(maxlen=KEEP))
    recent: deque[bool] = field(default_factory=lambda: deque(maxlen=RECENT))  # abandoned?
    days: dict[str, list[int]] = field(default_factory=dict)  # day -> [humans, abandoned]
    connects: deque[float] = field(default_factory=lambda: deque(maxlen=10000))
    dead_air: dict[str, list[int]] = field(default_factory=dict)  # day -> ms, connected calls
    _samples: tuple[Samples, Samples, Samples] | None = None
    _samples_at: float = 0.0

    # --- what happened --------------------------------------------------------------

    def dial_settled(self, answered: bool) -> None:
        self.answered.append(answered)

    def answer(self, ring_s: float) -> None:
        self.ring.append(ring_s)

    def detected(self, human: bool, amd_s: float | None) -> None:
        self.human.append(human)
        if human and amd_s is not None:
            self.amd.append(amd_s)

    def live(self, at: float, *, abandoned: bool) -> None:
        """A person answered: reached an agent, or was abandoned."""
        self.recent.append(abandoned)
        slot = self.days.setdefault(day_of(at), [0, 0])
        slot[0] += 1
        slot[1] += int(abandoned)

    def connected(self, at: float, dead_air_ms: int) -> None:
        self.connects.append(at)
        self.dead_air.setdefault(day_of(at), []).append(dead_air_ms)

    def talked(self, seconds: float) -> None:
        self.talk.append(seconds)

    def wrapped(self, seconds: float) -> None:
        self.wrapup.append(seconds)

    def seed(self, history: Iterable[LeadAttempt], by_day: Iterable[tuple[str, int, int]]) -> None:
        """The store's attempts (newest first) and abandon figures by day."""
        rows = list(history)[:KEEP]
        for row in reversed(rows):
            answered = row.ring_s is not None
            self.answered.append(answered)
            if answered and row.ring_s is not None:
                self.ring.append(row.ring_s)
            if row.amd_status or row.human:
                self.human.append(bool(row.human))
            if row.human:
                self.recent.append(bool(row.abandoned))
            if row.human and row.amd_s is not None:
                self.amd.append(row.amd_s)
            if row.talk_s is not None:
                self.talk.append(row.talk_s)
            if row.wrapup_s is not None:
                self.wrapup.append(row.wrapup_s)
        for day, humans, abandoned in by_day:
            self.days[day] = [humans, abandoned]

    # --- the pacing's inputs ----------------------------------------------------------

    def abandon(self, now: float, days: int = WINDOW_DAYS) -> tuple[int, int]:
        """(live answers, abandoned) over the last `days` days including today."""
        since = day_of(now - (days - 1) * 86400)
        humans = abandoned = 0
        for day, (h, a) in self.days.items():
            if day >= since:
                humans += h
                abandoned += a
        return humans, abandoned

    def measured(self, c: Campaign, now: float) -> Measured:
        if self._samples is None or now - self._samples_at > REFRESH:
            self._samples = (Samples.of(list(self.ring) or PRIOR_RING),
                             Samples.of(list(self.talk) or [PRIOR_TALK]),
                             Samples.of(list(self.wrapup) or [c.wrapup]))
            self._samples_at = now
        ring, talk, wrapup = self._samples
        humans, abandoned = self.abandon(now)
        answers = sum(self.answered)
        return Measured(
            answer_rate=answers / len(self.answered) if self.answered else 0.3,
            human_rate=sum(self.human) / len(self.human) if self.human else 0.8,
            ring=ring, talk=talk, wrapup=wrapup,
            amd_time=statistics.median(self.amd) if self.amd else PRIOR_AMD,
            ring_timeout=c.ring_timeout, humans_seen=humans,
            abandon_pct=100.0 * abandoned / humans if humans else 0.0,
            recent_abandon_pct=100.0 * sum(self.recent) / len(self.recent) if self.recent else 0.0,
            recent_humans=len(self.recent))

    # --- supervisors' figures ---------------------------------------------------------

    def contacts_last_hour(self, now: float) -> int:
        while self.connects and self.connects[0] < now - 3600:
            self.connects.popleft()
        return len(self.connects)

    def dead_air_median(self, now: float) -> int | None:
        today = self.dead_air.get(day_of(now))
        return int(statistics.median(today)) if today else None

    def by_day(self, now: float, days: int = WINDOW_DAYS) -> list[tuple[str, int, int]]:
        since = day_of(now - (days - 1) * 86400)
        return [(d, h, a) for d, (h, a) in sorted(self.days.items()) if d >= since]


class Occupancy:
    """Agents' logged-in and busy (talk + wrap-up) seconds today, from their state changes."""

    def __init__(self) -> None:
        self.day = ""
        self.logged: dict[str, float] = {}
        self.busy: dict[str, float] = {}
        self.current: dict[str, tuple[str, float]] = {}  # agent -> (state, since)

    def changed(self, agent: str, state: str, at: float) -> None:
        self._roll(at)
        before = self.current.get(agent)
        if before is not None:
            self._add(agent, before[0], before[1], at)
        self.current[agent] = (state, at)

    def _add(self, agent: str, state: str, since: float, until: float) -> None:
        seconds = max(0.0, until - max(since, self._day_start()))
        if state != "logged_out":
            self.logged[agent] = self.logged.get(agent, 0.0) + seconds
        if state in ("on_call", "wrapup"):
            self.busy[agent] = self.busy.get(agent, 0.0) + seconds

    def _day_start(self) -> float:
        return datetime.strptime(self.day, "%Y-%m-%d").replace(tzinfo=UTC).timestamp() \
            if self.day else 0.0

    def _roll(self, at: float) -> None:
        day = day_of(at)
        if day != self.day:
            self.day = day
            self.logged.clear()
            self.busy.clear()

    def of(self, agents: Iterable[str], now: float) -> float:
        self._roll(now)
        logged = busy = 0.0
        start = self._day_start()
        for agent in agents:
            logged += self.logged.get(agent, 0.0)
            busy += self.busy.get(agent, 0.0)
            state, since = self.current.get(agent, ("logged_out", now))
            open_for = max(0.0, now - max(since, start))
            if state != "logged_out":
                logged += open_for
            if state in ("on_call", "wrapup"):
                busy += open_for
        return busy / logged if logged > 0 else 0.0

"""Pacing (pure, time passed in): how many customers to dial now.

Predictive mode predicts how many agents will be free when the calls dialled now are
answered, and how many of those calls a person will answer, and dials as many as keeps
the expected share of people who find no agent (abandoned: the safe-harbour message)
under the campaign's target. What it draws on, as the anchors do:
- each agent's chance of being free by then, from their state and how long they have
  been in it, against the measured talk and wrap-up times (the "about to be free"
  probability of Elastix/Issabel's predictor and the EIS patents);
- each call in flight's chance of still bringing a person, from how long it has rung;
- the measured answer and machine rates and ring times (VICIdial's adaptive level moves
  with them too);
- a normal approximation of (people answering - agents free), whose expected positive
  part is the expected abandons (an Erlang-style loss estimate, not a blind one).
The target tightens as the campaign's measured abandon rate nears its cap; at 97 % of
the cap it falls back to progressive (one call per free agent, no drops), and it never
dials with no agent logged in.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Literal

Mode = Literal["preview", "progressive", "power", "predictive"]

#: below this many measured live answers the predictor has no history to trust
MIN_HISTORY = 30
#: the share of the cap the recent abandon rate is steered to (the rest is headroom)
AIM = 0.75
FALLBACK = 0.97  # measured abandon % over the window at this share of the cap: progressive
#: the model's estimate of abandons is corrected by what is measured: an integral
#: controller scales the per-batch target so that the recent rate settles at the aim
#: (the gap between the two comes from people arriving while an agent frees a moment
#: later, which a few checkpoints cannot see). Time constant about 10 minutes.
GAIN = 1.0 / 600
SCALE_MIN, SCALE_MAX = 0.02, 5.0
RECENT = 300  # live answers in the recent abandon rate


@dataclass(frozen=True, slots=True)
class Samples:
    """Observed durations (seconds), sorted; queried as conditional probabilities."""

    values: tuple[float, ...]

    @classmethod
    def of(cls, values: Sequence[float]) -> Samples:
        return cls(tuple(sorted(values)))

    @property
    def mean(self) -> float:
        return sum(self.values) / len(self.values) if self.values else 0.0

    def done_within(self, elapsed: float, more: float) -> float:
        """P(duration <= elapsed + more | duration > elapsed)."""
        v = self.values
        if not v or more < 0:
            return 0.0
        n = len(v)
        above = n - bisect_right(v, elapsed)
        if above == 0:
            return 1.0  # longer than anything seen: it should end any moment
        by = n - bisect_right(v, elapsed + more)
        return (above - by) / above


@dataclass(frozen=True, slots=True)
class Measured:
    """What the campaign has seen lately (or the simulator's assumptions)."""

    answer_rate: float  # answered (a person or a machine) per dial
    human_rate: float  # a person, per answered call
    ring: Samples  # dial to answer, answered calls
    talk: Samples  # talk time of connected calls
    wrapup: Samples  # wrap-up time
    amd_time: float  # answer to AMD's verdict
    ring_timeout: float
    humans_seen: int  # live answers measured (how much history there is)
    abandon_pct: float  # measured over the campaign's window (e.g. 30 days)
    recent_abandon_pct: float = 0.0  # over the last RECENT live answers
    recent_humans: int = 0

    @property
    def human_per_dial(self) -> float:
        return self.answer_rate * self.human_rate


@dataclass(frozen=True, slots=True)
class Agent:
    """A logged-in agent of the campaign: state and since when (pool vocabulary)."""

    state: str  # ready, reserved, on_call, wrapup, paused
    since: float


@dataclass(frozen=True, slots=True)
class InFlight:
    dialled_at: float
    answered_at: float | None = None  # answered, AMD still listening


@dataclass(frozen=True, slots=True)
class Situation:
    now: float
    mode: Mode
    agents: tuple[Agent, ...]
    #: calls in flight that no agent is held for (progressive holds one per call: those
    #: agents are `reserved`)
    in_flight: tuple[InFlight, ...]
    measured: Measured
    abandon_cap: float  # percent
    ratio: float | None = None  # power mode
    max_dial_level: float = 4.0  # lines per logged-in agent, at most
    #: the abandon controller's state: the last decision's `scale` and when it was made
    scale: float = 1.0
    scale_at: float | None = None


@dataclass(frozen=True, slots=True)
class Dial:
    """Dial `count` customers now; `holds_agents`: hold a free agent for each (progressive)."""

    count: int
    why: str
    holds_agents: bool = False
    predicted_free: float = 0.0
    predicted_humans: float = 0.0
    expected_abandon_pct: float = 0.0
    scale: float = 1.0  # hand it back in the next Situation
    scale_at: float | None = None


@dataclass(frozen=True, slots=True)
class Wait:
    """Nothing to dial for now (no agent logged in): the campaign waits, it does not stop."""

    why: str


@dataclass(frozen=True, slots=True)
class Stop:
    """The campaign cannot go on within its rules: the reason says why."""

    why: str


@dataclass
class _Cache:
    """P(done by each checkpoint | elapsed), per whole second of elapsed time, computed the
    first time a second is asked for: pacing runs every second with the same
    distributions, so the per-agent cost is mostly a lookup."""

    talk_samples: Samples | None = None
    wrap_samples: Samples | None = None
    checks: tuple[float, ...] = ()
    talk: dict[int, tuple[float, ...]] = field(default_factory=dict)
    wrap: dict[int, tuple[float, ...]] = field(default_factory=dict)


GRID = 3600  # elapsed seconds past this are read as this


class Pacer:
    """Holds the lookup tables between decisions; `decide` is a pure function of the
    situation (the tables are a cache of the same computation)."""

    def __init__(self) -> None:
        self._cache = _Cache()

    def decide(self, s: Situation) -> Dial | Wait | Stop:
        # one pass over the agents (a thousand of them cost more than all the arithmetic):
        # who is logged in, who is free, and the busy ones grouped by state and seconds in
        # it (many share a row of probabilities, added once per group)
        logged = free = 0
        groups: dict[tuple[bool, int], int] = {}
        now = s.now
        for a in s.agents:
            state = a.state
            if state == "logged_out":
                continue
            logged += 1
            if state == "ready":
                free += 1
            elif state == "on_call" or state == "wrapup":
                elapsed = now - a.since
                key = (state == "on_call", 0 if elapsed < 0 else min(int(elapsed), GRID - 1))
                groups[key] = groups.get(key, 0) + 1
        if not logged:
            return Wait("no agent is logged in to the campaign")
        if s.mode == "preview":
            return Dial(0, "preview: agents dial the leads they accept")
        if s.mode == "progressive":
            return _progressive(s, free)
        if s.mode == "power":
            if s.measured.abandon_pct >= FALLBACK * s.abandon_cap:
                d = _progressive(s, free)
                return Dial(d.count, f"abandon rate {s.measured.abandon_pct:.2f} % near the cap "
                                     f"{s.abandon_cap:g} %: progressive", holds_agents=True)
            ratio = s.ratio or 1.0
            want = math.floor(free * ratio + 1e-9) - len(s.in_flight)
            cap = math.floor(logged * s.max_dial_level) - len(s.in_flight)
            return Dial(max(0, min(want, cap)), f"power {ratio:g} x {free} free")
        return self._predictive(s, logged, free, groups)

    def _predictive(self, s: Situation, logged: int, free: int,
                    groups: dict[tuple[bool, int], int]) -> Dial | Stop:
        m = s.measured
        if m.humans_seen < MIN_HISTORY:
            d = _progressive(s, free)
            return Dial(d.count, f"learning ({m.humans_seen} live answers so far): progressive",
                        holds_agents=True)
        if m.abandon_pct >= FALLBACK * s.abandon_cap:
            d = _progressive(s, free)
            return Dial(d.count, f"abandon rate {m.abandon_pct:.2f} % near the cap "
                                 f"{s.abandon_cap:g} %: progressive", holds_agents=True)
        q = m.human_per_dial
        if q <= 0:
            return Stop("no call has been answered by a person lately: check the trunk and "
                        "the list")
        checks = _checkpoints(m)
        tables = self._tables(m, checks)
        # Agents free by each checkpoint (mean and variance of a sum of Bernoullis).
        free_by = [float(free)] * len(checks)  # the ready ones are free at every checkpoint
        var_free = [0.0] * len(checks)
        for (talking, i), n in groups.items():
            if talking:  # free once the talk and then the wrap-up are over
                row = tables.talk.get(i)
                if row is None:
                    gap = m.wrapup.mean
                    row = tables.talk[i] = tuple(m.talk.done_within(i, c - gap) for c in checks)
            else:
                row = tables.wrap.get(i)
                if row is None:
                    row = tables.wrap[i] = tuple(m.wrapup.done_within(i, c) for c in checks)
            for k, p in enumerate(row):
                free_by[k] += n * p
                var_free[k] += n * p * (1.0 - p)
        # People arriving from calls in flight by each checkpoint.
        coming = [0.0] * len(checks)
        var_coming = [0.0] * len(checks)
        total_coming = 0.0
        for call in s.in_flight:
            if call.answered_at is not None:
                due = call.answered_at + m.amd_time - s.now
                for k, c in enumerate(checks):
                    if due <= c:
                        coming[k] += m.human_rate
                        var_coming[k] += m.human_rate * (1.0 - m.human_rate)
                total_coming += m.human_rate
                continue
            rang = s.now - call.dialled_at
            still = _still_answers(m, rang)
            total_coming += m.human_rate * still
            if still <= 0:
                continue
            left = 1.0 - _cdf(m.ring, rang)
            for k, c in enumerate(checks):
                share = (_cdf(m.ring, rang + c - m.amd_time) - (1.0 - left)) / left \
                    if left > 0 else 0.0
                p = m.human_rate * still * max(0.0, share)
                coming[k] += p
                var_coming[k] += p * (1.0 - p)
        # A new call's person arrives by checkpoint c with this probability.
        new_by = [q * _cdf(m.ring, c - m.amd_time) for c in checks]
        scale = _steer(s)
        target = AIM * s.abandon_cap * scale
        cap_lines = math.floor(logged * s.max_dial_level) - len(s.in_flight)

        def abandon_pct(n: int) -> float:
            lost = 0.0
            for k in range(len(checks)):
                p = new_by[k]
                mu = coming[k] + n * p - free_by[k]
                sigma = math.sqrt(var_coming[k] + n * p * (1.0 - p) + var_free[k])
                lost = max(lost, _expected_excess(mu, sigma))
            humans = total_coming + n * q
            return 100.0 * lost / humans if humans > 0 else 0.0

        best, pct = _largest_within(abandon_pct, target, max(0, cap_lines))
        last = len(checks) - 1
        return Dial(best, f"predictive: {free_by[last]:.1f} agents free within "
                          f"{checks[last]:.0f} s, {total_coming:.1f} people coming",
                    predicted_free=free_by[last], predicted_humans=total_coming + best * q,
                    expected_abandon_pct=pct, scale=scale, scale_at=s.now)

    def _tables(self, m: Measured, checks: tuple[float, ...]) -> _Cache:
        c = self._cache
        if c.talk_samples is not m.talk or c.wrap_samples is not m.wrapup or c.checks != checks:
            self._cache = c = _Cache(m.talk, m.wrapup, checks)
        return c


def _steer(s: Situation) -> float:
    """The controller's scale after the time since the last decision."""
    m = s.measured
    if s.scale_at is None or m.recent_humans < 50:
        return s.scale
    aim = abandon_target(s.abandon_cap, m.abandon_pct)
    error = (aim - m.recent_abandon_pct) / aim if aim > 0 else -3.0
    dt = min(60.0, max(0.0, s.now - s.scale_at))
    return min(SCALE_MAX, max(SCALE_MIN, s.scale * math.exp(GAIN * max(-3.0, error) * dt)))


def abandon_target(cap: float, measured: float) -> float:
    """The recent abandon rate to steer to: AIM of the cap, less as the rate measured
    over the campaign's window rises above that (so the window comes back under it)."""
    aim = AIM * cap
    if aim <= 0:
        return 0.0
    return aim * min(1.0, max(0.3, 2.0 - measured / aim))


def _largest_within(f: Callable[[int], float], limit: float, most: int) -> tuple[int, float]:
    """The largest n in 0..most with f(n) <= limit (f grows with n), and f(n): doubling,
    then bisection, so a thousand free agents cost a dozen evaluations."""
    if most <= 0 or f(1) > limit:
        return 0, 0.0
    lo, hi = 1, 2
    while hi <= most and f(hi) <= limit:
        lo, hi = hi, hi * 2
    hi = min(hi, most + 1)
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if f(mid) <= limit:
            lo = mid
        else:
            hi = mid
    return lo, f(lo)


def _checkpoints(m: Measured) -> tuple[float, ...]:
    """When people from calls dialled now would arrive: AMD's time after the quickest and
    the slowest answers, in 3 s steps."""
    first = m.amd_time + (m.ring.values[0] if m.ring.values else 0.0)
    last = m.amd_time + min(m.ring_timeout, m.ring.values[-1] if m.ring.values else 0.0)
    steps = max(1, math.ceil((last - first) / 3.0))
    return tuple(round(first + i * (last - first) / steps, 1) for i in range(steps + 1))


def _progressive(s: Situation, free: int) -> Dial:
    """One call per free agent, each held for its call (calls in flight that hold no
    agent, left by predictive dialing, are served first)."""
    return Dial(max(0, free - len(s.in_flight)), "progressive: one per free agent",
                holds_agents=True)


def _still_answers(m: Measured, rang: float) -> float:
    """P(this unanswered call will still be answered | it has rung `rang` s)."""
    if rang >= m.ring_timeout:
        return 0.0
    later = 1.0 - _cdf(m.ring, rang)
    denominator = (1.0 - m.answer_rate) + m.answer_rate * later
    return m.answer_rate * later / denominator if denominator > 0 else 0.0


def _cdf(samples: Samples, x: float) -> float:
    v = samples.values
    return bisect_right(v, x) / len(v) if v else 0.0


def _expected_excess(mu: float, sigma: float) -> float:
    """E[max(0, X)] for X ~ N(mu, sigma^2)."""
    if sigma <= 1e-9:
        return max(0.0, mu)
    z = mu / sigma
    return mu * _phi_cdf(z) + sigma * math.exp(-0.5 * z * z) / math.sqrt(2.0 * math.pi)


def _phi_cdf(z: float) -> float:
    return 0.5 * (1.0 + math.erf(z / math.sqrt(2.0)))

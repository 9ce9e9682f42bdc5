"""A discrete-event model of an outbound campaign, driven by the real pacing module (pure:
no I/O, its own clock). `centralita dialer simulate` and bench/dialer run it.

The world: customers answer (a person or a machine) or not, after ring times drawn from
the model; AMD takes as long as on Asterisk 20.20.1 (../shared/ami-transcripts/dialer:
1.885 s for a person, 2.12 s for a machine); a person must reach an agent within 2 s of
the end of their greeting or is abandoned (the safe-harbour message); agents talk, wrap
up and are free again. The pacer sees what the engine would see: agents' states and
since when, the calls in flight, and what has been measured so far.
"""

from __future__ import annotations

import heapq
import itertools
import random
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from dialer.pacing import (
    RECENT,
    Agent,
    Dial,
    InFlight,
    Measured,
    Mode,
    Pacer,
    Samples,
    Situation,
    Stop,
    Wait,
)

GREETING_TO_VERDICT = 0.8  # AMD decides `after_greeting_silence` after the greeting ends
TWO_SECOND_RULE = 2.0


@dataclass(frozen=True, slots=True)
class World:
    """What the simulated campaign meets (defaults: bench/dialer's)."""

    agents: int = 20
    hours: float = 8.0
    talk: float = 180.0  # mean, exponential
    wrapup: float = 30.0  # fixed
    answer_rate: float = 0.30  # a person or a machine answers
    machine_rate: float = 0.20  # of answers
    busy_rate: float = 0.08  # of dials: busy at once
    #: seconds of ringing before an answer, uniform: the transcripts' fakes answer after
    #: 1-2 s (a slower world, 3-15 s, is in bench/dialer's sensitivity row)
    ring_answered: tuple[float, float] = (1.0, 3.0)
    ring_timeout: float = 15.0  # unanswered calls ring this long (the legal minimum)
    amd_human: float = 1.885
    amd_machine: float = 2.122
    seed: int = 1
    talk_samples: tuple[float, ...] = ()  # recorded history instead of the exponential
    ring_samples: tuple[float, ...] = ()
    wrapup_samples: tuple[float, ...] = ()  # recorded history instead of the fixed time


@dataclass
class Result:
    mode: str
    agents: int
    hours: float
    dials: int = 0
    answered: int = 0
    humans: int = 0
    machines: int = 0
    connected: int = 0
    abandoned: int = 0
    talk_s: float = 0.0
    wrap_s: float = 0.0
    idle_s: float = 0.0
    stopped: str | None = None
    dead_air: list[float] = field(default_factory=list)

    @property
    def logged_in_s(self) -> float:
        return self.agents * self.hours * 3600

    @property
    def occupancy(self) -> float:
        """Talk time over logged-in time."""
        return self.talk_s / self.logged_in_s

    @property
    def busy(self) -> float:
        """Talk and wrap-up over logged-in time."""
        return (self.talk_s + self.wrap_s) / self.logged_in_s

    @property
    def abandon_pct(self) -> float:
        return 100.0 * self.abandoned / self.humans if self.humans else 0.0

    @property
    def contacts_per_agent_hour(self) -> float:
        return self.connected / (self.agents * self.hours)

    @property
    def idle_per_agent_hour(self) -> float:
        """Minutes an agent waits, per hour logged in."""
        return self.idle_s / (self.agents * self.hours) / 60


@dataclass
class _Agent:
    state: str = "ready"  # ready, reserved (held for a call in flight), on_call, wrapup
    since: float = 0.0


@dataclass
class _Call:
    id: int
    dialled: float
    answered: float | None = None
    agent: int | None = None  # progressive: the agent waiting for it


class _History:
    """What the engine would have measured: rolling answer rates and durations."""

    def __init__(self, world: World) -> None:
        self.dials: deque[int] = deque(maxlen=1000)  # answered or not
        self.answers: deque[int] = deque(maxlen=500)  # a person or not
        self.ring: deque[float] = deque(maxlen=300)
        self.talk: deque[float] = deque(maxlen=300)
        self.wrap: deque[float] = deque(maxlen=300)
        self.humans = 0
        self.abandoned = 0
        self.recent: deque[int] = deque(maxlen=RECENT)  # 1: abandoned
        self.world = world
        self._measured: Measured | None = None
        self._at = -1e9

    def measured(self, now: float) -> Measured:
        if self._measured is None or now - self._at >= 10:
            w = self.world
            self._at = now
            self._measured = Measured(
                answer_rate=sum(self.dials) / len(self.dials) if self.dials else w.answer_rate,
                human_rate=sum(self.answers) / len(self.answers) if self.answers
                else 1 - w.machine_rate,
                ring=Samples.of(self.ring or [sum(w.ring_answered) / 2]),
                talk=Samples.of(self.talk or [w.talk]),
                wrapup=Samples.of(self.wrap or [w.wrapup]),
                amd_time=w.amd_human, ring_timeout=w.ring_timeout,
                humans_seen=self.humans,
                abandon_pct=100.0 * self.abandoned / self.humans if self.humans else 0.0,
                recent_abandon_pct=100.0 * sum(self.recent) / len(self.recent)
                if self.recent else 0.0, recent_humans=len(self.recent))
        return self._measured


def simulate(world: World, mode: Mode, *, ratio: float | None = None, cap: float = 3.0,
             max_dial_level: float = 4.0,
             on_decision: Callable[[float, Dial | Wait | Stop], None] | None = None
             ) -> Result:
    """Run the campaign for `world.hours`; the result's figures are for that run."""
    rng = random.Random(world.seed)
    end = world.hours * 3600
    agents = [_Agent() for _ in range(world.agents)]
    result = Result(mode, world.agents, world.hours)
    history = _History(world)
    pacer = Pacer()
    events: list[tuple[float, int, str, int]] = []
    seq = itertools.count()
    calls: dict[int, _Call] = {}
    waiting: deque[tuple[int, float]] = deque()  # people waiting for an agent (call, deadline)
    ids = itertools.count()
    hold_agents = False  # the last decision holds an agent per call (progressive)
    scale, scale_at = 1.0, None  # the pacer's abandon controller, carried between decisions

    def at(t: float, kind: str, ref: int) -> None:
        heapq.heappush(events, (t, next(seq), kind, ref))

    def talk_time() -> float:
        if world.talk_samples:
            return rng.choice(world.talk_samples)
        return rng.expovariate(1.0 / world.talk)

    def set_state(i: int, state: str, now: float) -> None:
        a = agents[i]
        spent = min(now, end) - min(a.since, end)
        if a.state in ("ready", "reserved"):
            result.idle_s += max(0.0, spent)
        a.state, a.since = state, now

    def connect(call: _Call, i: int, now: float) -> None:
        set_state(i, "on_call", now)
        talk = talk_time()
        call.agent = i
        result.connected += 1
        result.dead_air.append(now - (call.answered or now))
        result.talk_s += max(0.0, min(now + talk, end) - min(now, end))
        history.talk.append(talk)
        at(now + talk, "hangup", call.id)

    def free_agent() -> int | None:
        for i, a in enumerate(agents):
            if a.state == "ready":
                return i
        return None

    def agent_ready(i: int, now: float) -> None:
        set_state(i, "ready", now)
        while waiting:
            call_id, deadline = waiting.popleft()
            if deadline >= now and call_id in calls and calls[call_id].agent is None:
                history.recent.append(0)
                connect(calls[call_id], i, now)
                return

    def dial(now: float) -> None:
        call = _Call(next(ids), now)
        calls[call.id] = call
        result.dials += 1
        if hold_agents:
            i = free_agent()
            if i is not None:  # progressive: the agent waits for this call
                set_state(i, "reserved", now)
                call.agent = i
        r = rng.random()
        if r < world.busy_rate:
            history.dials.append(0)
            at(now + rng.uniform(0.5, 2.0), "failed", call.id)
        elif r < world.busy_rate + world.answer_rate:
            history.dials.append(1)
            ring = rng.choice(world.ring_samples) if world.ring_samples \
                else rng.uniform(*world.ring_answered)
            at(now + ring, "answer", call.id)
        else:
            history.dials.append(0)
            at(now + world.ring_timeout, "failed", call.id)

    def release(call: _Call, now: float) -> None:
        if call.agent is not None and agents[call.agent].state == "reserved":
            agent_ready(call.agent, now)
        calls.pop(call.id, None)

    t = 0.0
    at(0.0, "tick", 0)
    while events:
        t, _, kind, ref = heapq.heappop(events)
        if t > end:
            break
        if kind == "tick":
            situation = Situation(
                now=t, mode=mode,
                agents=tuple(Agent(a.state, a.since) for a in agents),
                in_flight=tuple(InFlight(c.dialled, c.answered) for c in calls.values()
                                if c.agent is None),
                measured=history.measured(t), abandon_cap=cap, ratio=ratio,
                max_dial_level=max_dial_level, scale=scale, scale_at=scale_at)
            decision = pacer.decide(situation)
            if isinstance(decision, Dial) and decision.scale_at is not None:
                scale, scale_at = decision.scale, decision.scale_at
            hold_agents = decision.holds_agents if isinstance(decision, Dial) else False
            if on_decision is not None:
                on_decision(t, decision)
            if isinstance(decision, Stop):
                result.stopped = decision.why
                break
            if isinstance(decision, Wait):
                at(t + 1.0, "tick", 0)
                continue
            for _ in range(decision.count):
                dial(t)
            at(t + 1.0, "tick", 0)
        elif kind == "failed":
            call = calls.get(ref)
            if call is not None:
                release(call, t)
        elif kind == "answer":
            call = calls[ref]
            call.answered = t
            result.answered += 1
            history.ring.append(t - call.dialled)
            if rng.random() < world.machine_rate:
                result.machines += 1
                history.answers.append(0)
                at(t + world.amd_machine, "machine", ref)
            else:
                history.answers.append(1)
                at(t + world.amd_human, "human", ref)
        elif kind == "machine":
            release(calls[ref], t)
        elif kind == "human":
            call = calls[ref]
            result.humans += 1
            history.humans += 1
            i = call.agent if call.agent is not None else free_agent()
            if i is not None:
                history.recent.append(0)
                connect(call, i, t)
            else:
                # the 2-second rule runs from the end of the greeting, which AMD heard
                deadline = t - GREETING_TO_VERDICT + TWO_SECOND_RULE
                waiting.append((ref, deadline))
                at(deadline, "deadline", ref)
        elif kind == "deadline":
            call = calls.get(ref)
            if call is not None and call.agent is None:
                result.abandoned += 1
                history.abandoned += 1
                history.recent.append(1)
                release(call, t)
        elif kind == "hangup":
            call = calls.pop(ref)
            i = call.agent
            assert i is not None
            set_state(i, "wrapup", t)
            wrap = rng.choice(world.wrapup_samples) if world.wrapup_samples else world.wrapup
            history.wrap.append(wrap)
            result.wrap_s += max(0.0, min(t + wrap, end) - min(t, end))
            at(t + wrap, "ready", i)
        elif kind == "ready":
            agent_ready(ref, t)
    for i, a in enumerate(agents):
        if a.state == "ready":
            set_state(i, "ready", end)
    return result

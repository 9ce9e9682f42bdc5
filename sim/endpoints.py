"""Scriptable endpoints: agent phones, dialer customers, and callers' keypads.

An endpoint answers `on_ring` (what happens when it is rung) and `on_answer` (what it
does once the call is up: digits pressed, when it hangs up). Randomness comes from the
PBX's seeded `random.Random`, so a run is reproducible.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Literal

RingKind = Literal["answer", "noanswer", "busy", "unavailable"]
#: what the far end sends once answered, for AMD (sim/amd.py)
Voice = Literal["human", "machine", "silent", "deadair"]


@dataclass(frozen=True, slots=True)
class RingDecision:
    kind: RingKind
    after: float = 0.0


@dataclass(frozen=True, slots=True)
class TalkPlan:
    digits: tuple[tuple[float, str], ...] = ()  # (delay since previous, digit)
    hangup_after: float | None = None  # seconds after the digits; None: never by itself


@dataclass(frozen=True, slots=True)
class Endpoint:
    """A phone or a customer line.

    `ring`: answer / noanswer / busy / unavailable. `answer_after` seconds of ringing.
    `talk_time`: mean seconds until it hangs up once answered (exponential when
    `random_talk`, fixed otherwise). `voice`: what a called customer sends once answered
    (a person's `greeting` of so many seconds, an answering machine, silence, nothing), for
    AMD; None for phones that are not dialled by the dialer.
    """

    ring: RingKind = "answer"
    answer_after: float = 1.0
    talk_time: float | None = 30.0
    random_talk: bool = False
    digits: tuple[tuple[float, str], ...] = ()
    voice: Voice | None = None
    greeting: float = 0.61
    #: digits are pressed relative to when the IVR starts listening (a person reacting to a
    #: prompt), not to the start of the call
    reactive: bool = False

    def on_ring(self, rng: random.Random) -> RingDecision:
        return RingDecision(self.ring, self.answer_after)

    def on_answer(self, rng: random.Random) -> TalkPlan:
        talk = self.talk_time
        if talk is not None and self.random_talk:
            talk = rng.expovariate(1.0 / talk) if talk > 0 else 0.0
        return TalkPlan(self.digits, talk)


def agent_phone(answer_after: float = 1.0, *, ring: RingKind = "answer",
                talk_time: float | None = None) -> Endpoint:
    """An agent's phone: answers (or not); the engine, not the phone, usually ends the call."""
    return Endpoint(ring=ring, answer_after=answer_after, talk_time=talk_time)


CustomerKind = Literal["human", "machine", "silent", "deadair", "noanswer", "busy",
                       "congestion"]


def customer(kind: CustomerKind = "human", *, answer_after: float = 4.0,
             talk_time: float = 60.0, random_talk: bool = True,
             digits: tuple[tuple[float, str], ...] = (), greeting: float = 0.61) -> Endpoint:
    """A dialer customer: a person, an answering machine (it hangs up after its greeting
    and a message's time), a line that answers with silence or no audio at all, no answer,
    busy, or a congested network."""
    if kind == "noanswer":
        return Endpoint(ring="noanswer")
    if kind == "busy":
        return Endpoint(ring="busy", answer_after=0.0)
    if kind == "congestion":
        return Endpoint(ring="unavailable")
    if kind == "machine":
        return Endpoint(answer_after=answer_after, talk_time=40.0, voice="machine")
    return Endpoint(answer_after=answer_after, talk_time=talk_time, random_talk=random_talk,
                    voice=kind, digits=digits, reactive=bool(digits), greeting=greeting)


def caller(digits: tuple[tuple[float, str], ...] = (), patience: float | None = 120.0, *,
           reactive: bool = False) -> Endpoint:
    """A caller's keypad: presses `digits` at the given delays, hangs up after `patience`.

    `reactive`: each delay counts from when the IVR next listens (see Endpoint.reactive)."""
    return Endpoint(digits=digits, talk_time=patience, reactive=reactive)

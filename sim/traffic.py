"""Synthetic inbound traffic: Poisson arrivals of callers with exponential patience.

With `ivr=True` callers use the shipped IVR (config/ivr.yaml) the way people do: they
pick a language, a department, type an account number (sometimes wrongly), or say
nothing at all; keys are pressed while prompts play (reactive endpoints).
"""

from __future__ import annotations

import asyncio
import random

from sim.endpoints import Endpoint, caller, customer
from sim.pbx import Pbx

Keys = tuple[tuple[float, str], ...]


def luhn_number(rng: random.Random, length: int = 8) -> str:
    body = [rng.randrange(10) for _ in range(length - 1)]
    total = 0
    for i, d in enumerate(reversed(body)):
        if i % 2 == 0:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return "".join(map(str, body)) + str((10 - total % 10) % 10)


class CallerTraffic:
    def __init__(self, pbx: Pbx, *, per_minute: float, context: str = "centralita-in",
                 dnis: str = "100", numbers: int = 200, mean_patience: float = 60.0,
                 seed: int | None = None, ivr: bool = False) -> None:
        self.pbx = pbx
        self.per_minute = per_minute
        self.context = context
        self.dnis = dnis
        self.rng = random.Random(seed)
        self.numbers = [f"+3491{self.rng.randrange(10**6, 10**7)}" for _ in range(numbers)]
        self.mean_patience = mean_patience
        self.ivr = ivr
        self.sent = 0

    def plan(self) -> Keys:
        """What one caller presses, each key `delay` seconds after the IVR starts listening."""
        if not self.ivr:
            return ()
        rng = self.rng

        def key(k: str) -> tuple[float, str]:
            return (rng.uniform(0.5, 2.5), k)

        def number(n: str) -> Keys:
            return tuple((0.25 if i else rng.uniform(1.0, 2.0), d) for i, d in enumerate(n))

        roll = rng.random()
        if roll < 0.35:
            return (key("1"), key("2"))
        if roll < 0.50:
            return (key("2"), key("3"))
        if roll < 0.70:
            return (key("1"), key("1"), *number(luhn_number(rng)), key("1"))
        if roll < 0.80:
            wrong = luhn_number(rng)[:-1] + "0"
            return (key("1"), key("1"), *number(wrong if wrong != luhn_number(rng) else "1"),
                    *number(luhn_number(rng)), key("1"))
        if roll < 0.90:
            return ()
        return (key("1"), key("7"), key("2"))

    async def run(self, limit: int | None = None) -> None:
        while limit is None or self.sent < limit:
            await self.pbx.clock.sleep(self.rng.expovariate(self.per_minute / 60.0))
            number = self.rng.choice(self.numbers)
            patience = self.rng.expovariate(1.0 / self.mean_patience) + (30.0 if self.ivr else 0)
            self.pbx.incoming_call(trunk="trunk", context=self.context, dnis=self.dnis,
                                   caller_num=number, caller_name="",
                                   endpoint=caller(self.plan(), patience=patience,
                                                   reactive=self.ivr))
            self.sent += 1
            await asyncio.sleep(0)


class CustomerNetwork:
    """The people a dialer calls (`pbx.network`): each number, the first time it is rung,
    is a person, an answering machine, busy or nobody, with the bench's odds (30 % of dials
    answered, a fifth of those by machines, 8 % busy), the same on every run (seeded)."""

    def __init__(self, *, seed: int = 11, answer: float = 0.30, machine: float = 0.20,
                 busy: float = 0.08, talk: float = 60.0) -> None:
        self.rng = random.Random(seed)
        self.answer, self.machine, self.busy, self.talk = answer, machine, busy, talk
        self.rung = 0

    def __call__(self, resource: str) -> Endpoint:
        self.rung += 1
        roll = self.rng.random()
        after = self.rng.uniform(2.0, 8.0)
        if roll < self.busy:
            return customer("busy")
        if roll < self.busy + self.answer * self.machine:
            return customer("machine", answer_after=after)
        if roll < self.busy + self.answer:
            return customer("human", answer_after=after, talk_time=self.talk,
                            greeting=self.rng.uniform(0.5, 1.2))
        return customer("noanswer")

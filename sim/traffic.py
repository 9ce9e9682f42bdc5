"""Synthetic inbound traffic: Poisson arrivals of callers with exponential patience.

With `ivr=True` callers use the shipped IVR (config/ivr.yaml) the way people do: they
pick a language, a department, type an account number (sometimes wrongly), or say
nothing at all; keys are pressed while prompts play (reactive endpoints).
"""

from __future__ import annotations

import asyncio
import random

from sim.endpoints import caller
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

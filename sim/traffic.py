"""Synthetic inbound traffic: Poisson arrivals of callers with exponential patience."""

from __future__ import annotations

import asyncio
import random

from sim.endpoints import caller
from sim.pbx import Pbx


class CallerTraffic:
    def __init__(self, pbx: Pbx, *, per_minute: float, context: str = "centralita-in",
                 dnis: str = "100", numbers: int = 200, mean_patience: float = 60.0,
                 seed: int | None = None) -> None:
        self.pbx = pbx
        self.per_minute = per_minute
        self.context = context
        self.dnis = dnis
        self.rng = random.Random(seed)
        self.numbers = [f"+3491{self.rng.randrange(10**6, 10**7)}" for _ in range(numbers)]
        self.mean_patience = mean_patience
        self.sent = 0

    async def run(self, limit: int | None = None) -> None:
        while limit is None or self.sent < limit:
            await self.pbx.clock.sleep(self.rng.expovariate(self.per_minute / 60.0))
            number = self.rng.choice(self.numbers)
            patience = self.rng.expovariate(1.0 / self.mean_patience)
            self.pbx.incoming_call(trunk="trunk", context=self.context, dnis=self.dnis,
                                   caller_num=number, caller_name="",
                                   endpoint=caller(patience=patience))
            self.sent += 1
            await asyncio.sleep(0)

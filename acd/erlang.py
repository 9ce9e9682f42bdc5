"""Erlang B/C: the queueing baseline for staffing and for checking the simulations.

Formulas as in ../shared/REFERENCE-NUMBERS.md.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


def erlang_b(servers: int, load: float) -> float:
    b = 1.0
    for k in range(1, servers + 1):
        b = load * b / (k + load * b)
    return b


@dataclass(frozen=True, slots=True)
class ErlangC:
    p_wait: float
    asa: float  # seconds
    service_level: float  # fraction answered within `target`
    occupancy: float


def erlang_c(servers: int, load: float, aht: float, target: float) -> ErlangC:
    """`load` in erlangs (arrival rate x AHT); requires load < servers."""
    if load >= servers:
        raise ValueError(f"load {load} E needs more than {servers} agents")
    b = erlang_b(servers, load)
    c = servers * b / (servers - load * (1 - b))
    asa = c * aht / (servers - load)
    sl = 1 - c * math.exp(-(servers - load) * target / aht)
    return ErlangC(c, asa, sl, load / servers)

"""Blending (pure): who gets an agent the moment they are free, inbound or outbound.

Inbound callers are waiting on the line, so by default they come first. A campaign may
ask for a share of a blended agent's time (`outbound_share`): while the agent's recent
outbound time is below that share, the dialer is asked first.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

INBOUND = "inbound"
OUTBOUND = "outbound"


@dataclass(frozen=True, slots=True)
class BlendRule:
    #: the fraction of handled time a blended agent should spend on outbound calls;
    #: None: inbound always first, outbound only when no caller waits for them
    outbound_share: float | None = None


@dataclass(frozen=True, slots=True)
class Ledger:
    """Seconds an agent spent on each side lately (talk and wrap-up)."""

    inbound: float = 0.0
    outbound: float = 0.0

    def add(self, side: str, seconds: float, *, keep: float = 3600.0) -> Ledger:
        """`seconds` more on `side`; totals past `keep` are scaled down so the share
        follows the last hour or so rather than the whole day."""
        inbound = self.inbound + (seconds if side == INBOUND else 0.0)
        outbound = self.outbound + (seconds if side == OUTBOUND else 0.0)
        total = inbound + outbound
        if total > keep:
            inbound, outbound = inbound * keep / total, outbound * keep / total
        return Ledger(inbound, outbound)


def claim_order(sides: Sequence[str], rule: BlendRule | None, ledger: Ledger) -> tuple[str, ...]:
    """The order in which the sides that want agents (`sides`) are offered this one."""
    if rule is None or rule.outbound_share is None or OUTBOUND not in sides:
        first = [s for s in sides if s == INBOUND]
    else:
        total = ledger.inbound + ledger.outbound
        share = ledger.outbound / total if total > 0 else 0.0
        first = [OUTBOUND] if share < rule.outbound_share else [INBOUND]
        first = [s for s in first if s in sides]
    return (*first, *(s for s in sides if s not in first))

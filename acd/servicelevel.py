"""Service level, one definition for the live wallboard and the reports (pure).

Call centres disagree on what an abandoned call does to the service level, so each queue
says (queues.yaml):

- `sl_seconds`: the threshold T;
- `short_abandon`: callers who hang up within this many seconds are not counted at all
  (not offered, not abandoned, not in the service level); 0 counts every caller;
- `sl_abandons`, for the abandons that remain:
  - `after_threshold` (the default): abandons within T are left out, later ones count
    against: answered within T / (answered + abandoned after T);
  - `against`: every abandon counts against: answered within T / (answered + abandoned);
  - `excluded`: abandons are left out: answered within T / answered;
  - `within_threshold`: an abandon within T counts as met:
    (answered within T + abandoned within T) / (answered + abandoned).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Abandons = Literal["after_threshold", "against", "excluded", "within_threshold"]
ABANDONS: tuple[Abandons, ...] = ("after_threshold", "against", "excluded", "within_threshold")


@dataclass(frozen=True, slots=True)
class ServiceLevelRule:
    seconds: float = 20.0
    abandons: Abandons = "after_threshold"
    short_abandon: float = 0.0

    def short(self, wait: float) -> bool:
        """An abandon this quick is not counted at all."""
        return wait < self.short_abandon


@dataclass(frozen=True, slots=True)
class Waits:
    """Counts behind a service level; abandons here are those left after short ones."""

    answered: int = 0
    answered_within: int = 0
    abandoned: int = 0
    abandoned_within: int = 0


def service_level(w: Waits, rule: ServiceLevelRule) -> float | None:
    """Percent (one decimal), or None when no call counts."""
    if rule.abandons == "after_threshold":
        met, base = w.answered_within, w.answered + w.abandoned - w.abandoned_within
    elif rule.abandons == "against":
        met, base = w.answered_within, w.answered + w.abandoned
    elif rule.abandons == "excluded":
        met, base = w.answered_within, w.answered
    else:
        met, base = w.answered_within + w.abandoned_within, w.answered + w.abandoned
    return round(100.0 * met / base, 1) if base > 0 else None

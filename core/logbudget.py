"""How many lines one noisy sender may put in the log (pure; time passed in).

25,000 refused commands from one client must not become 25,000 log lines: each key
(a sender) gets `per_window` lines per `window` seconds; what is held back is counted
and said in one line when the next window opens."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(slots=True)
class LogBudget:
    per_window: int = 10
    window: float = 60.0
    #: key -> (window start, lines logged in it, lines held back)
    spent: dict[str, tuple[float, int, int]] = field(default_factory=dict)

    def allow(self, key: str, now: float) -> tuple[bool, int]:
        """(may this line be logged, how many were held back in the window that just
        ended: to be said once)."""
        start, used, held = self.spent.get(key, (now, 0, 0))
        previous = 0
        if now - start >= self.window:
            start, used, previous, held = now, 0, held, 0
        if used < self.per_window:
            self._keep(key, (start, used + 1, held))
            return True, previous
        self._keep(key, (start, used, held + 1))
        return False, previous

    def _keep(self, key: str, value: tuple[float, int, int]) -> None:
        if len(self.spent) >= 10_000 and key not in self.spent:  # bounded: oldest go
            for old in list(self.spent)[:1000]:
                del self.spent[old]
        self.spent[key] = value

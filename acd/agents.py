"""Agent states and the moves between them (pure)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

State = Literal["logged_out", "ready", "reserved", "on_call", "wrapup", "paused"]

# (from, to) moves an agent or the ACD may make; anything else is refused with a reason.
MOVES: dict[State, frozenset[State]] = {
    "logged_out": frozenset({"ready"}),
    "ready": frozenset({"reserved", "paused", "logged_out", "on_call"}),
    "reserved": frozenset({"on_call", "ready", "paused"}),
    "on_call": frozenset({"wrapup", "ready"}),
    "wrapup": frozenset({"ready", "paused", "logged_out"}),
    "paused": frozenset({"ready", "logged_out", "on_call"}),
}
PAUSE_REASONS = frozenset({"break", "lunch", "training", "meeting", "no_answer", "other"})


@dataclass(frozen=True, slots=True)
class AgentStatus:
    state: State = "logged_out"
    reason: str = ""
    since: float = 0.0
    call_id: str | None = None
    misses: int = 0  # rings not answered in a row
    wrapup_extended: bool = False


class Refused(Exception):
    """A move the agent's state does not allow; the message says why."""


def move(status: AgentStatus, to: State, now: float, *, reason: str = "",
         call_id: str | None = None) -> AgentStatus:
    if to not in MOVES[status.state]:
        raise Refused(f"cannot go from {status.state} to {to}")
    if to == "paused" and reason not in PAUSE_REASONS:
        raise Refused(f"pause reason must be one of {sorted(PAUSE_REASONS)}")
    keep_call = to in ("reserved", "on_call", "wrapup")
    return AgentStatus(to, reason if to == "paused" else "", now,
                       call_id if keep_call else None,
                       misses=0 if to == "on_call" else status.misses,
                       wrapup_extended=status.wrapup_extended if to == "wrapup" else False)


def missed(status: AgentStatus, now: float, limit: int) -> AgentStatus:
    """A ring went unanswered: back to ready, or paused for `no_answer` after `limit` misses."""
    misses = status.misses + 1
    if misses >= limit:
        return AgentStatus("paused", "no_answer", now, None, misses)
    return AgentStatus("ready", "", now, None, misses)

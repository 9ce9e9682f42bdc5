"""Domain events on the in-process bus (past tense), independent of AMI."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class CallStarted:
    call_id: str
    channel: str
    caller_num: str
    caller_name: str
    dnis: str
    context: str
    at: float
    adopted: bool = False  # found parked in our context after a (re)connect


@dataclass(frozen=True, slots=True)
class CallAnswered:
    call_id: str
    channel: str
    at: float


@dataclass(frozen=True, slots=True)
class CallEnded:
    call_id: str
    channel: str
    cause: int
    at: float
    lost: bool = False  # the channel vanished while the engine was disconnected


@dataclass(frozen=True, slots=True)
class CallStepped:
    """Something worth a call_events row: a prompt played, a key pressed, a route taken."""

    call_id: str
    kind: str
    at: float
    data: dict[str, Any] = field(default_factory=dict)

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
    bridged: bool = False  # adopted while already talking (in a bridge)
    kind: str = "inbound"  # or a call the engine placed: callback, survey, ...


@dataclass(frozen=True, slots=True)
class CallParked:
    """A channel of a call entered AsyncAGI again (the caller blind-transferred by its agent
    into [centralita-legs], or caller and agent redirected for a consultation): the engine
    drives it once more."""

    call_id: str
    channel: str
    context: str
    exten: str
    at: float
    args: tuple[str, ...] = ()  # what the dialplan passed to AGI(agi:async,...): AMD's verdict


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


@dataclass(frozen=True, slots=True)
class CallDataUpdated:
    """Data the call carries from now on (IVR captures, language): merged into the record."""

    call_id: str
    at: float
    data: dict[str, Any]
    language: str | None = None
    outcome: str | None = None  # e.g. "abandoned_in_ivr"; the call's end keeps it


@dataclass(frozen=True, slots=True)
class CallRouted:
    """The IVR ended in a route (or found a caller back after a restart who was waiting in
    a queue). A `queue` or `agent` route hands the call (still in AsyncAGI) to the ACD with
    what it needs: skills with minimum levels, priority, language."""

    call_id: str
    channel: str
    at: float
    kind: str  # queue, agent, voicemail, message, external, hangup
    target: str
    skills: dict[str, int] = field(default_factory=dict)
    priority: int = 0
    language: str = "en"
    data: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class CallConnected:
    """The ACD joined the caller and an agent (Bridge): the IVR lets go of the call."""

    call_id: str
    agent_id: str
    agent_channel: str
    at: float
    queue: str = ""
    campaign: str = ""


@dataclass(frozen=True, slots=True)
class CallSentToMenu:
    """An agent transferred the caller back to the IVR, at `node`: the menus run again."""

    call_id: str
    channel: str
    at: float
    node: str
    language: str = "en"
    data: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class CardDataCollection:
    """The IVR started (`active`) or stopped collecting card data on the call: recordings
    pause meanwhile."""

    call_id: str
    at: float
    active: bool


@dataclass(frozen=True, slots=True)
class LegParked:
    """A leg the engine holds outside any call (an agent's line kept connected between
    calls) is in AsyncAGI: free for the next call."""

    channel: str
    owner: str  # who holds it, e.g. "line:1001"
    at: float


@dataclass(frozen=True, slots=True)
class LegEnded:
    """A held leg hung up (the agent put the phone down, or it was never answered)."""

    channel: str
    owner: str
    cause: int
    at: float

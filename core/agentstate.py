"""An agent's state and every way it can change: one table, pure, time passed in.

Everything that moves an agent (their own commands, the ACD ringing their phone, the
dialer handing them a customer, a restart finding them talking) is an input here; the
table says what state it leads to, or refuses it with a reason. Nothing else writes an
`AgentStatus`.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal

State = Literal["logged_out", "ready", "reserved", "on_call", "wrapup", "paused"]
STATES: tuple[State, ...] = ("logged_out", "ready", "reserved", "on_call", "wrapup", "paused")
#: no_answer: they missed rings (or their kept line's call); phone: their phone hung up the
#: line a campaign kept connected
PAUSE_REASONS = frozenset({"break", "lunch", "training", "meeting", "no_answer", "phone",
                           "other"})
#: what colleagues see of an agent (presence on MQTT)
PRESENCE: dict[State, str] = {"ready": "free", "reserved": "busy", "on_call": "busy",
                              "wrapup": "busy", "paused": "away", "logged_out": "offline"}


@dataclass(frozen=True, slots=True)
class AgentStatus:
    state: State = "logged_out"
    reason: str = ""  # why paused
    since: float = 0.0
    call_id: str | None = None  # reserved for, talking on, or wrapping up
    misses: int = 0  # rings not answered in a row
    wrapup_extended: bool = False
    owner: str = ""  # who holds a reserved or talking agent: "acd", "dialer:<campaign>"


# --- inputs ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LogIn:
    pass


@dataclass(frozen=True, slots=True)
class LogOut:
    pass


@dataclass(frozen=True, slots=True)
class Pause:
    reason: str


@dataclass(frozen=True, slots=True)
class MakeReady:
    """The agent asks to be ready (or ends wrap-up early), or wrap-up time ran out."""


@dataclass(frozen=True, slots=True)
class Reserve:
    """Held for one call while their phone rings (or while a customer is being dialled)."""

    call_id: str
    owner: str = "acd"


@dataclass(frozen=True, slots=True)
class RingUnanswered:
    """Their phone rang and they did not answer: a miss; `limit` misses pause them."""

    limit: int


@dataclass(frozen=True, slots=True)
class Release:
    """Free again through no doing of theirs: the caller left while it rang, another agent
    won a ring-all, the bridge failed, an internal or dial-back call ended unanswered."""


@dataclass(frozen=True, slots=True)
class Connect:
    call_id: str
    owner: str = "acd"


@dataclass(frozen=True, slots=True)
class FinishCall:
    """Their part of the call is over: wrap-up follows."""

    call_id: str


@dataclass(frozen=True, slots=True)
class ExtendWrapup:
    pass


@dataclass(frozen=True, slots=True)
class Restore:
    """Found talking on `call_id` after a restart."""

    call_id: str
    owner: str = "acd"


Input = (LogIn | LogOut | Pause | MakeReady | Reserve | RingUnanswered | Release | Connect
         | FinishCall | ExtendWrapup | Restore)


class Refused(Exception):
    """An input the agent's state does not allow; the message says why."""


def describe(what: Input) -> str:
    return {LogIn: "log in", LogOut: "log out", Pause: "pause", MakeReady: "be ready",
            Reserve: "be reserved for a call", RingUnanswered: "miss a ring",
            Release: "be released", Connect: "take a call", FinishCall: "finish a call",
            ExtendWrapup: "extend wrap-up", Restore: "be restored on a call"}[type(what)]


#: the inputs each state accepts
ACCEPTS: dict[State, tuple[type, ...]] = {
    "logged_out": (LogIn, Restore),
    "ready": (Reserve, Pause, LogOut, Connect, Restore),
    "reserved": (Connect, Release, RingUnanswered, Pause),
    "on_call": (FinishCall, Release),
    "wrapup": (MakeReady, Pause, LogOut, ExtendWrapup),
    "paused": (MakeReady, LogOut, Restore),
}


def apply(status: AgentStatus, what: Input, now: float) -> AgentStatus:
    """The agent's status after `what` at `now`; Refused when the state does not allow it."""
    if not isinstance(what, ACCEPTS[status.state]):
        raise Refused(f"cannot {describe(what)} while {status.state.replace('_', ' ')}")
    if isinstance(what, LogIn | MakeReady):
        return AgentStatus("ready", "", now, misses=status.misses)
    if isinstance(what, LogOut):
        return AgentStatus("logged_out", "", now)
    if isinstance(what, Pause):
        if what.reason not in PAUSE_REASONS:
            raise Refused(f"pause reason must be one of {sorted(PAUSE_REASONS)}")
        return AgentStatus("paused", what.reason, now, misses=status.misses)
    if isinstance(what, Reserve):
        return AgentStatus("reserved", "", now, what.call_id, status.misses, owner=what.owner)
    if isinstance(what, RingUnanswered):
        misses = status.misses + 1
        if misses >= what.limit:
            return AgentStatus("paused", "no_answer", now, None, misses)
        return AgentStatus("ready", "", now, None, misses)
    if isinstance(what, Release):
        return AgentStatus("ready", "", now, None, status.misses)
    if isinstance(what, Connect | Restore):
        return AgentStatus("on_call", "", now, what.call_id, 0, owner=what.owner)
    if isinstance(what, FinishCall):
        return AgentStatus("wrapup", "", now, what.call_id, status.misses, owner=status.owner)
    # ExtendWrapup
    if status.wrapup_extended:
        raise Refused("wrap-up can be extended once")
    return replace(status, wrapup_extended=True)

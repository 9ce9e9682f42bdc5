"""The simulated Asterisk's call model: channels (Local pairs included), bridges, the clock.

Channel snapshots carry the headers Asterisk 20.20.1 sends (see ../shared/ami-transcripts).
Time runs through `Clock`: `speed` > 1 compresses every wait (tests, benchmarks).
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field

from sim.endpoints import Endpoint

STATE_DESC = {0: "Down", 4: "Ring", 5: "Ringing", 6: "Up", 7: "Busy"}


class Clock:
    def __init__(self, speed: float = 1.0) -> None:
        self.speed = speed
        self._t0 = time.time()
        self._m0 = time.monotonic()

    def now(self) -> float:
        return self._t0 + (time.monotonic() - self._m0) * self.speed

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(0.0, seconds) / self.speed)


class Hungup(Exception):
    """Raised inside a channel's runner when it is hung up."""


class Thawed(Exception):
    """A channel whose AGI the Bridge action froze left that bridge (a transfer): its AGI
    session ends without AsyncAGIEnd and the dialplan goes on (observed on 20.20.1)."""


@dataclass(eq=False)
class Bridge:
    id: str
    channels: list[Channel] = field(default_factory=list)
    kick_on_leave: bool = True  # Bridge action / Dial: the last one left is hung up

    def pairs(self) -> list[tuple[str, str]]:
        return [
            ("BridgeUniqueid", self.id), ("BridgeType", "basic"),
            ("BridgeTechnology", "simple_bridge"), ("BridgeCreator", "<unknown>"),
            ("BridgeName", "<unknown>"), ("BridgeNumChannels", str(len(self.channels))),
            ("BridgeVideoSourceMode", "none"),
        ]


@dataclass(eq=False)
class Channel:
    name: str
    uniqueid: str
    linkedid: str
    state: int
    context: str
    exten: str
    priority: int = 1
    cid_num: str = ""
    cid_name: str = ""
    con_num: str = ""
    con_name: str = ""
    language: str = "en"
    peer: Channel | None = None  # the other half of a Local pair
    endpoint: Endpoint | None = None
    vars: dict[str, str] = field(default_factory=dict)
    bridge: Bridge | None = None
    task: asyncio.Task[None] | None = None
    agi_queue: asyncio.Queue[tuple[str, str]] | None = None
    moh: str | None = None
    app: str = ""
    app_data: str = ""
    created: float = 0.0
    dtmf: asyncio.Queue[str] = field(default_factory=asyncio.Queue)
    interrupt: asyncio.Event = field(default_factory=asyncio.Event)
    redirect_to: tuple[str, str, int] | None = None
    hangup_cause: int = 0
    gone: bool = False
    mixmonitor: str | None = None
    answered: asyncio.Event = field(default_factory=asyncio.Event)
    ended: asyncio.Event = field(default_factory=asyncio.Event)
    agi_frozen: bool = False  # taken by the Bridge action: AGI commands queue, never run
    thaw: asyncio.Event = field(default_factory=asyncio.Event)  # set when it leaves that bridge
    listening: bool = False  # an AGI command is reading DTMF; other digits are lost
    listen_evt: asyncio.Event = field(default_factory=asyncio.Event)
    ring_status: str = ""  # BUSY/CONGESTION signalled by the far end before answer
    progress: asyncio.Event = field(default_factory=asyncio.Event)
    torn_by_peer: bool = False  # hung up through the other half (Hangup action on ;1)
    #: AGI commands queued while the session was frozen in a bridge: res_agi keeps the
    #: queue on the channel, so they run when it enters AsyncAGI again (20.20.1)
    agi_backlog: list[tuple[str, str]] = field(default_factory=list)
    #: what the far end sends once answered, for AMD: human, machine, silent (silence
    #: frames), deadair (no frames); None: not known (yet)
    voice: str | None = None
    voice_length: float = 0.0  # a human's greeting, seconds
    app_only: bool = False  # originated to run one application (not a dialplan)

    def snapshot(self, prefix: str = "") -> list[tuple[str, str]]:
        return [
            (prefix + "Channel", self.name),
            (prefix + "ChannelState", str(self.state)),
            (prefix + "ChannelStateDesc", STATE_DESC.get(self.state, "Unknown")),
            (prefix + "CallerIDNum", self.cid_num or "<unknown>"),
            (prefix + "CallerIDName", self.cid_name or "<unknown>"),
            (prefix + "ConnectedLineNum", self.con_num or "<unknown>"),
            (prefix + "ConnectedLineName", self.con_name or "<unknown>"),
            (prefix + "Language", self.language),
            (prefix + "AccountCode", ""),
            (prefix + "Context", self.context),
            (prefix + "Exten", self.exten),
            (prefix + "Priority", str(self.priority)),
            (prefix + "Uniqueid", self.uniqueid),
            (prefix + "Linkedid", self.linkedid),
        ]

    @property
    def is_local(self) -> bool:
        return self.name.startswith("Local/")

    def lookup(self) -> dict[str, str]:
        return {
            **self.vars, "EXTEN": self.exten, "CONTEXT": self.context,
            "CALLERID(num)": self.cid_num, "CALLERID(name)": self.cid_name,
            "CHANNEL": self.name, "UNIQUEID": self.uniqueid,
            "CHANNEL(language)": self.language,
        }


@dataclass(frozen=True, slots=True)
class OriginateRequest:
    channel: str
    context: str = ""
    exten: str = ""
    priority: int = 1
    application: str = ""
    data: str = ""
    timeout_ms: int = 30000
    caller_num: str = ""
    caller_name: str = ""
    variables: tuple[tuple[str, str], ...] = ()
    channel_id: str = ""
    other_channel_id: str = ""
    action_id: str = ""


def parse_float(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        return 0.0


def cause_txt(cause: int) -> str:
    return {0: "Unknown", 1: "Unallocated (unassigned) number", 16: "Normal Clearing",
            17: "User busy", 19: "No user responding", 21: "Call Rejected",
            34: "Circuit/channel congestion"}.get(cause, "Unknown")

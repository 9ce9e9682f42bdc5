"""Typed AMI events: the ones the engine acts on. Everything else stays an `UnknownEvent`.

Names mirror Asterisk's event names so a reader can match them to the transcripts.
Decoding is one dict lookup plus one constructor call per event (hot path).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from asterisk.wire import AgiResult, Message, parse_agi_env, parse_agi_result


@dataclass(frozen=True, slots=True)
class AmiEvent:
    message: Message = field(repr=False, compare=False)

    @property
    def name(self) -> str:
        return self.message.event


@dataclass(frozen=True, slots=True)
class UnknownEvent(AmiEvent):
    pass


@dataclass(frozen=True, slots=True)
class ChannelEvent(AmiEvent):
    channel: str
    uniqueid: str
    linkedid: str
    state: int
    context: str
    exten: str
    caller_num: str
    caller_name: str


@dataclass(frozen=True, slots=True)
class Newchannel(ChannelEvent):
    pass


@dataclass(frozen=True, slots=True)
class Newstate(ChannelEvent):
    pass


@dataclass(frozen=True, slots=True)
class Hangup(ChannelEvent):
    cause: int
    cause_txt: str


@dataclass(frozen=True, slots=True)
class AsyncAGIStart(ChannelEvent):
    env: dict[str, str]


@dataclass(frozen=True, slots=True)
class AsyncAGIExec(ChannelEvent):
    command_id: str
    result: AgiResult


@dataclass(frozen=True, slots=True)
class AsyncAGIEnd(ChannelEvent):
    pass


@dataclass(frozen=True, slots=True)
class DialBegin(AmiEvent):
    channel: str  # empty when Asterisk itself originated (Originate of a Local channel)
    dest_channel: str
    dest_uniqueid: str
    dial_string: str


@dataclass(frozen=True, slots=True)
class DialEnd(AmiEvent):
    channel: str
    dest_channel: str
    dest_uniqueid: str
    dial_status: str


@dataclass(frozen=True, slots=True)
class BridgeEnter(ChannelEvent):
    bridge_id: str


@dataclass(frozen=True, slots=True)
class BridgeLeave(ChannelEvent):
    bridge_id: str


@dataclass(frozen=True, slots=True)
class OriginateResponse(AmiEvent):
    action_id: str
    success: bool
    reason: int
    channel: str
    uniqueid: str


@dataclass(frozen=True, slots=True)
class DTMFEnd(ChannelEvent):
    digit: str
    direction: str


@dataclass(frozen=True, slots=True)
class CoreShowChannel(ChannelEvent):
    application: str
    application_data: str
    bridge_id: str
    duration: str


@dataclass(frozen=True, slots=True)
class FullyBooted(AmiEvent):
    pass


@dataclass(frozen=True, slots=True)
class Shutdown(AmiEvent):
    restart: bool


def _int(value: str, default: int = 0) -> int:
    try:
        return int(value)
    except ValueError:
        return default


def _chan(m: Message) -> tuple[str, str, str, int, str, str, str, str]:
    get = m.index.get
    return (
        get("channel", ""),
        get("uniqueid", ""),
        get("linkedid", ""),
        _int(get("channelstate", "0")),
        get("context", ""),
        get("exten", ""),
        get("calleridnum", ""),
        get("calleridname", ""),
    )


def _hangup(m: Message) -> Hangup:
    return Hangup(m, *_chan(m), cause=_int(m.get("Cause")), cause_txt=m.get("Cause-txt"))


def _agi_start(m: Message) -> AsyncAGIStart:
    return AsyncAGIStart(m, *_chan(m), env=parse_agi_env(m.get("Env")))


def _agi_exec(m: Message) -> AsyncAGIExec:
    return AsyncAGIExec(
        m, *_chan(m), command_id=m.get("CommandId"), result=parse_agi_result(m.get("Result"))
    )


def _dial_begin(m: Message) -> DialBegin:
    return DialBegin(
        m, m.get("Channel"), m.get("DestChannel"), m.get("DestUniqueid"), m.get("DialString")
    )


def _dial_end(m: Message) -> DialEnd:
    return DialEnd(
        m, m.get("Channel"), m.get("DestChannel"), m.get("DestUniqueid"), m.get("DialStatus")
    )


def _originate_response(m: Message) -> OriginateResponse:
    return OriginateResponse(
        m,
        action_id=m.action_id,
        success=m.response == "Success",
        reason=_int(m.get("Reason")),
        channel=m.get("Channel"),
        uniqueid=m.get("Uniqueid"),
    )


def _core_show_channel(m: Message) -> CoreShowChannel:
    return CoreShowChannel(
        m,
        *_chan(m),
        application=m.get("Application"),
        application_data=m.get("ApplicationData"),
        bridge_id=m.get("BridgeId"),
        duration=m.get("Duration"),
    )


_DECODERS: dict[str, Callable[[Message], AmiEvent]] = {
    "newchannel": lambda m: Newchannel(m, *_chan(m)),
    "newstate": lambda m: Newstate(m, *_chan(m)),
    "hangup": _hangup,
    "asyncagistart": _agi_start,
    "asyncagiexec": _agi_exec,
    "asyncagiend": lambda m: AsyncAGIEnd(m, *_chan(m)),
    "dialbegin": _dial_begin,
    "dialend": _dial_end,
    "bridgeenter": lambda m: BridgeEnter(m, *_chan(m), bridge_id=m.get("BridgeUniqueid")),
    "bridgeleave": lambda m: BridgeLeave(m, *_chan(m), bridge_id=m.get("BridgeUniqueid")),
    "originateresponse": _originate_response,
    "dtmfend": lambda m: DTMFEnd(m, *_chan(m), digit=m.get("Digit"), direction=m.get("Direction")),
    "coreshowchannel": _core_show_channel,
    "fullybooted": lambda m: FullyBooted(m),
    "shutdown": lambda m: Shutdown(m, restart=m.get("Restart").lower() in ("true", "yes")),
}


def decode_event(message: Message) -> AmiEvent:
    """Typed event for a message; a decoding problem never loses the message."""
    decoder = _DECODERS.get(message.event.lower())
    if decoder is None:
        return UnknownEvent(message)
    try:
        return decoder(message)
    except Exception:  # a malformed known event is still passed on, untyped
        return UnknownEvent(message)

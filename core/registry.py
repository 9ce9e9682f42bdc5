"""The call registry: channels and calls as AMI reports them.

Kept from typed AMI events (one dict dispatch per event, O(1) updates) and rebuilt
after a reconnect from CoreShowChannels (`reconcile`). A call starts when a channel
enters AsyncAGI in one of the engine's contexts; channels sharing its Linkedid, or
announced by the engine (`expect`), belong to it.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import structlog

from asterisk import dialplan as dp
from asterisk.events import (
    AmiEvent,
    AsyncAGIEnd,
    AsyncAGIStart,
    BridgeEnter,
    BridgeLeave,
    CoreShowChannel,
    Hangup,
    Newchannel,
    Newstate,
)
from core.bus import Bus
from core.events import CallAnswered, CallEnded, CallParked, CallStarted, LegEnded, LegParked

UP = 6


class ChannelState:
    __slots__ = ("agi_args", "bridge", "call_id", "context", "exten", "held", "in_agi",
                 "linkedid", "name", "state", "uniqueid")

    def __init__(self, name: str, uniqueid: str, linkedid: str, state: int, context: str,
                 exten: str) -> None:
        self.name = name
        self.uniqueid = uniqueid
        self.linkedid = linkedid
        self.state = state
        self.context = context
        self.exten = exten
        self.call_id: str | None = None
        self.bridge: str | None = None
        self.in_agi = False
        self.held: str | None = None  # a leg held outside calls: its owner
        self.agi_args: tuple[str, ...] = ()  # of its latest AsyncAGI session


@dataclass(slots=True)
class Call:
    call_id: str
    channel: str  # the channel the call started on (the caller's)
    caller_num: str
    caller_name: str
    dnis: str
    context: str
    started: float
    answered: float | None = None
    channels: set[str] = field(default_factory=set)


class Registry:
    def __init__(self, bus: Bus, clock: Callable[[], float], *,
                 contexts: Iterable[str] = dp.ENGINE_CONTEXTS, legs_context: str = dp.LEGS,
                 internal_context: str = dp.AGENTS) -> None:
        self.bus = bus
        self.contexts = frozenset(contexts)
        self.legs_context = legs_context  # where the engine's own legs run
        self.internal_context = internal_context  # agents' phones: their calls are internal
        self.clock = clock
        self.channels: dict[str, ChannelState] = {}
        self.by_uniqueid: dict[str, ChannelState] = {}
        self.calls: dict[str, Call] = {}
        self.by_linkedid: dict[str, str] = {}
        self.expected: dict[str, str] = {}  # uniqueid the engine chose -> call_id
        self.holding: dict[str, str] = {}  # uniqueid the engine chose -> owner of a held leg
        self.bridges: dict[str, set[str]] = {}
        self.events_seen = 0
        self.log = structlog.get_logger("registry")
        self._dispatch: dict[type, Callable[[AmiEvent], None]] = {
            Newchannel: self._newchannel,  # type: ignore[dict-item]
            Newstate: self._newstate,  # type: ignore[dict-item]
            Hangup: self._hangup,  # type: ignore[dict-item]
            AsyncAGIStart: self._agi_start,  # type: ignore[dict-item]
            AsyncAGIEnd: self._agi_end,  # type: ignore[dict-item]
            BridgeEnter: self._bridge_enter,  # type: ignore[dict-item]
            BridgeLeave: self._bridge_leave,  # type: ignore[dict-item]
        }

    # --- queries --------------------------------------------------------------------

    def call_of(self, channel: str) -> Call | None:
        ch = self.channels.get(channel)
        if ch is None or ch.call_id is None:
            return None
        return self.calls.get(ch.call_id)

    def peers(self, channel: str) -> set[str]:
        ch = self.channels.get(channel)
        if ch is None or ch.bridge is None:
            return set()
        return self.bridges.get(ch.bridge, set()) - {channel}

    def expect(self, uniqueid: str, call_id: str) -> None:
        """The engine named a leg it originates (`ChannelId`); it joins `call_id`."""
        self.expected[uniqueid] = call_id

    def hold(self, uniqueid: str, owner: str) -> None:
        """The engine originates a leg it keeps outside any call (`ChannelId`): its
        AsyncAGI sessions and its hang-up are told as LegParked / LegEnded."""
        self.holding[uniqueid] = owner

    def held(self, channel: str) -> str | None:
        ch = self.channels.get(channel)
        return ch.held if ch is not None else None

    def open(self, call_id: str, channel: str, *, caller_num: str, kind: str,
             dnis: str = "", announced: bool = False, tell_parked: bool = False
             ) -> Call | None:
        """Start a call the engine placed itself (a callback, a survey, a dialled
        customer): anchored on one of its legs, which ends the call when it hangs up. None
        if the leg is already gone. `announced`: the placer published CallStarted itself
        (when it dialled). `tell_parked`: if the leg already entered AsyncAGI (its
        AsyncAGIStart came before the placer learnt its name), say so now as CallParked."""
        ch = self.channels.get(channel)
        if ch is None:
            return None
        ch.call_id = None
        call = self._start_call(ch, caller_num, "", dnis, adopted=False, call_id=call_id,
                                kind=kind, announce=not announced)
        if tell_parked and ch.in_agi and ch.context in self.contexts:
            self.bus.publish(CallParked(call_id, ch.name, ch.context, ch.exten, self.clock(),
                                        ch.agi_args))
        return call

    # --- AMI events -----------------------------------------------------------------

    def on_event(self, event: AmiEvent) -> None:
        self.events_seen += 1
        handler = self._dispatch.get(type(event))
        if handler is not None:
            handler(event)

    def _newchannel(self, ev: Newchannel) -> None:
        ch = ChannelState(ev.channel, ev.uniqueid, ev.linkedid, ev.state, ev.context, ev.exten)
        self.channels[ev.channel] = ch
        self.by_uniqueid[ev.uniqueid] = ch
        owner = self.holding.pop(ev.uniqueid, None)
        if owner is not None:
            ch.held = owner
            return
        call_id = self.expected.pop(ev.uniqueid, None) or self.by_linkedid.get(ev.linkedid)
        if call_id is not None:
            self._join(ch, call_id)

    def _join(self, ch: ChannelState, call_id: str) -> None:
        # A leg the engine announced keeps its call id even before that call is open
        # (`open`), so that its AsyncAGIStart does not start a call of its own.
        ch.call_id = call_id
        call = self.calls.get(call_id)
        if call is not None:
            call.channels.add(ch.name)

    def _newstate(self, ev: Newstate) -> None:
        ch = self.channels.get(ev.channel)
        if ch is None:
            return
        ch.state = ev.state
        if ev.state == UP and ch.call_id is not None:
            call = self.calls.get(ch.call_id)
            if call is not None and call.channel == ch.name and call.answered is None:
                call.answered = self.clock()
                self.bus.publish(CallAnswered(call.call_id, ch.name, call.answered))

    def _hangup(self, ev: Hangup) -> None:
        ch = self.channels.pop(ev.channel, None)
        if ch is None:
            return
        self.by_uniqueid.pop(ch.uniqueid, None)
        if ch.bridge is not None:
            self._leave(ch, ch.bridge)
        if ch.held is not None:
            self.bus.publish(LegEnded(ch.name, ch.held, ev.cause, self.clock()))
            return
        self._end_channel(ch, ev.cause, lost=False)

    def _end_channel(self, ch: ChannelState, cause: int, *, lost: bool) -> None:
        if ch.call_id is None:
            return
        call = self.calls.get(ch.call_id)
        if call is None:
            return
        call.channels.discard(ch.name)
        if call.channel == ch.name:
            del self.calls[call.call_id]
            if self.by_linkedid.get(ch.linkedid) == call.call_id:
                del self.by_linkedid[ch.linkedid]
            self.bus.publish(CallEnded(call.call_id, ch.name, cause, self.clock(), lost=lost))

    def _agi_start(self, ev: AsyncAGIStart) -> None:
        ch = self.channels.get(ev.channel)
        if ch is None:  # joined mid-call (e.g. after a reconnect): learn it now
            ch = ChannelState(ev.channel, ev.uniqueid, ev.linkedid, ev.state, ev.context, ev.exten)
            self.channels[ev.channel] = ch
            self.by_uniqueid[ev.uniqueid] = ch
        ch.in_agi = True
        ch.context, ch.exten, ch.state = ev.context, ev.exten, ev.state
        ch.agi_args = _agi_args(ev.env)
        if ch.held is not None:
            self.bus.publish(LegParked(ch.name, ch.held, self.clock()))
            return
        if ch.call_id is not None:
            call = self.calls.get(ch.call_id)
            if call is not None and ev.context in self.contexts:
                # One of the call's channels is back in the engine's hands (a transfer,
                # a consultation, a dialled customer after AMD): `channel` says which.
                self.bus.publish(CallParked(call.call_id, ch.name, ev.context, ev.exten,
                                            self.clock(), ch.agi_args))
            return
        if ev.context not in self.contexts:
            return
        dnis = ev.env.get("agi_extension", ev.exten)
        self._start_call(ch, ev.caller_num, ev.caller_name, dnis, adopted=False,
                         kind="internal" if ev.context == self.internal_context else "inbound")

    def _start_call(self, ch: ChannelState, num: str, name: str, dnis: str, *,
                    adopted: bool, call_id: str | None = None, kind: str = "inbound",
                    announce: bool = True) -> Call:
        call_id = call_id or uuid.uuid4().hex[:16]
        call = Call(call_id, ch.name, _clean(num), _clean(name), dnis, ch.context, self.clock(),
                    channels={ch.name})
        if ch.state == UP:
            call.answered = call.started
        self.calls[call_id] = call
        self.by_linkedid.setdefault(ch.linkedid, call_id)
        ch.call_id = call_id
        if announce:
            self.bus.publish(CallStarted(call_id, ch.name, call.caller_num, call.caller_name,
                                         dnis, ch.context, call.started, adopted=adopted,
                                         bridged=ch.bridge is not None, kind=kind))
        return call

    def _agi_end(self, ev: AsyncAGIEnd) -> None:
        ch = self.channels.get(ev.channel)
        if ch is not None:
            ch.in_agi = False

    def _bridge_enter(self, ev: BridgeEnter) -> None:
        ch = self.channels.get(ev.channel)
        if ch is None:
            return
        ch.bridge = ev.bridge_id
        self.bridges.setdefault(ev.bridge_id, set()).add(ch.name)

    def _bridge_leave(self, ev: BridgeLeave) -> None:
        ch = self.channels.get(ev.channel)
        if ch is not None and ch.bridge is not None:
            self._leave(ch, ch.bridge)

    def _leave(self, ch: ChannelState, bridge_id: str) -> None:
        members = self.bridges.get(bridge_id)
        if members is not None:
            members.discard(ch.name)
            if not members:
                del self.bridges[bridge_id]
        ch.bridge = None

    # --- resync ---------------------------------------------------------------------

    def reconcile(self, items: list[CoreShowChannel], known_ids: dict[str, str] | None = None,
                  held: dict[str, str] | None = None) -> tuple[int, int]:
        """Bring the registry in line with Asterisk after a (re)connect.

        Channels we knew that are gone end their calls (lost=True); channels parked in
        AsyncAGI in our contexts that we did not know are adopted as calls, under the
        call id they were tagged with (`known_ids`, channel -> id) when there is one, or
        as held legs (`held`, channel -> owner: agents' lines). Returns (closed, adopted).
        """
        present = {item.channel: item for item in items}
        closed = adopted = 0
        for name in list(self.channels):
            if name not in present:
                gone = self.channels.pop(name)
                self.by_uniqueid.pop(gone.uniqueid, None)
                if gone.bridge is not None:
                    self._leave(gone, gone.bridge)
                if gone.held is not None:
                    self.bus.publish(LegEnded(name, gone.held, 0, self.clock()))
                    continue
                call = self.calls.get(gone.call_id) if gone.call_id is not None else None
                if call is not None and call.channel == name:
                    closed += 1
                self._end_channel(gone, 0, lost=True)
        # Callers first: an engine leg tagged with a caller's call id then joins that call.
        ordered = sorted(present.items(), key=lambda kv: kv[1].context == self.legs_context)
        for name, item in ordered:
            ch = self.channels.get(name)
            if ch is None:
                ch = ChannelState(name, item.uniqueid, item.linkedid, item.state, item.context,
                                  item.exten)
                self.channels[name] = ch
                self.by_uniqueid[item.uniqueid] = ch
            ch.state, ch.context, ch.exten = item.state, item.context, item.exten
            ch.in_agi = item.application == "AGI" and "agi:async" in item.application_data
            if item.bridge_id:
                ch.bridge = item.bridge_id
                self.bridges.setdefault(item.bridge_id, set()).add(name)
            owner = (held or {}).get(name)
            if owner is not None and ch.held is None and ch.call_id is None:
                ch.held = owner
                if ch.in_agi:
                    self.bus.publish(LegParked(name, owner, self.clock()))
                continue
            if ch.held is not None:
                continue
            if ch.call_id is None:
                call_id = self.by_linkedid.get(item.linkedid)
                tagged = (known_ids or {}).get(name)
                if call_id is None and tagged in self.calls:
                    call_id = tagged
                if call_id is not None:
                    self._join(ch, call_id)
                elif ch.in_agi and item.context in self.contexts:
                    self._start_call(ch, item.caller_num, item.caller_name, item.exten,
                                     adopted=True, call_id=(known_ids or {}).get(name))
                    adopted += 1
        return closed, adopted


def _agi_args(env: dict[str, str]) -> tuple[str, ...]:
    args = []
    n = 1
    while f"agi_arg_{n}" in env:
        args.append(env[f"agi_arg_{n}"])
        n += 1
    return tuple(args)


def _clean(value: str) -> str:
    return "" if value in ("<unknown>", "unknown") else value

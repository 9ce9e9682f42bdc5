"""The simulated Asterisk's call model: channels, Local pairs, dialplan, AsyncAGI, bridges.

Events carry the same names, header spellings and per-channel order as Asterisk 20.20.1
in ../shared/ami-transcripts. Known differences (tested by name in
tests/integration/test_sim_transcripts.py): the sim does not emit DeviceStateChange,
QueueMemberStatus, RTCPSent, DialState, nor the per-call VarSet noise of app_dial; it
emits VarSet only for Set(), SET VARIABLE, AGISTATUS, DIALSTATUS and PLAYBACKSTATUS.

Time runs through `Clock`: `speed` > 1 compresses every wait (tests, benchmarks).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import random
import struct
import time
import uuid
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

from asterisk.sounds import stock_prompts
from asterisk.wire import encode_agi_env, encode_agi_result, format_message
from sim.dialplan import Dialplan, substitute
from sim.endpoints import Endpoint

STATE_DESC = {0: "Down", 4: "Ring", 5: "Ringing", 6: "Up", 7: "Busy"}
Listener = Callable[[bytes], None]


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


class Pbx:
    def __init__(
        self,
        dialplan: Dialplan,
        *,
        clock: Clock | None = None,
        prompts: dict[str, float] | None = None,
        endpoints: dict[str, Endpoint] | None = None,
        seed: int | None = None,
    ) -> None:
        self.dialplan = dialplan
        self.clock = clock or Clock()
        # A stock Asterisk's sounds with their real lengths; anything else is "missing".
        self.prompts = dict(stock_prompts()) if prompts is None else dict(prompts)
        self.endpoints: dict[str, Endpoint] = dict(endpoints or {})
        self.channels: dict[str, Channel] = {}
        self.listeners: list[Listener] = []
        self.rng = random.Random(seed)
        self._local_seq = itertools.count(1)
        self._chan_seq = itertools.count(1)
        self._uid_seq = itertools.count(1)
        self.started = self.clock.now()
        self.processed_calls = 0
        self.recordings: dict[str, dict[str, object]] = {}
        #: Asterisk's monitor spool: relative MixMonitor files land here; None: no files are
        #: written at all (replays, benchmarks)
        self.monitor_dir: str | None = None
        self.spy_modes: dict[str, list[str]] = {}  # spyer channel -> modes in order
        self._tasks: set[asyncio.Task[None]] = set()

    # --- events ---------------------------------------------------------------------

    def emit(self, event: str, privilege: str, pairs: list[tuple[str, str]]) -> None:
        data = format_message([("Event", event), ("Privilege", privilege), *pairs])
        for listener in list(self.listeners):
            listener(data)

    def _chan_event(self, event: str, privilege: str, ch: Channel, *extra: tuple[str, str]) -> None:
        self.emit(event, privilege, [*ch.snapshot(), *extra])

    # --- channels -------------------------------------------------------------------

    def uniqueid(self) -> str:
        return f"{int(self.started)}.{next(self._uid_seq)}"

    def _new_channel(self, name: str, state: int, context: str, exten: str, *,
                     linkedid: str | None = None, uniqueid: str | None = None,
                     cid: tuple[str, str] = ("", "")) -> Channel:
        uid = uniqueid or self.uniqueid()
        ch = Channel(name, uid, linkedid or uid, state, context, exten,
                     cid_num=cid[0], cid_name=cid[1], created=self.clock.now())
        self.channels[name] = ch
        self._chan_event("Newchannel", "call,all", ch)
        return ch

    def find(self, name: str) -> Channel | None:
        ch = self.channels.get(name)
        return ch if ch is not None and not ch.gone else None

    def spawn(self, coro: Coroutine[Any, Any, None], ch: Channel | None = None) -> asyncio.Task[None]:
        task: asyncio.Task[None] = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        if ch is not None:
            ch.task = task
        return task

    def set_state(self, ch: Channel, state: int) -> None:
        if ch.state != state and not ch.gone:
            ch.state = state
            self._chan_event("Newstate", "call,all", ch)

    def answer(self, ch: Channel) -> None:
        """Answer a channel; the first half of a Local pair follows its second."""
        if ch.state == 6:
            return
        self.set_state(ch, 6)
        ch.answered.set()
        if ch.is_local and ch.peer is not None and ch.name.endswith(";2"):
            self.set_state(ch.peer, 6)
            ch.peer.answered.set()

    def set_var(self, ch: Channel, name: str, value: str) -> None:
        ch.vars[name] = value
        self._chan_event("VarSet", "dialplan,all", ch, ("Variable", name), ("Value", value))

    def send_dtmf(self, ch: Channel, digit: str, duration_ms: int = 120) -> None:
        """A digit arriving on `ch` (pressed by the caller, or PlayDTMF on the other half)."""
        self._chan_event("DTMFBegin", "dtmf,all", ch, ("Digit", digit), ("Direction", "Received"))
        self._chan_event("DTMFEnd", "dtmf,all", ch, ("Digit", digit),
                         ("DurationMs", str(duration_ms)), ("Direction", "Received"))
        # As in Asterisk: a digit only counts while something reads it (a Local pair's
        # halves and plain dialplan apps always read; between AGI commands digits are lost).
        if ch.listening or ch.agi_queue is None:
            ch.dtmf.put_nowait(digit)

    def request_hangup(self, ch: Channel, cause: int = 16, *, via_action: bool = False) -> None:
        if ch.gone:
            return
        if via_action and ch.is_local and ch.name.endswith(";1") and ch.peer and not ch.peer.gone:
            # Hanging up the first half tears down the pair from the second half.
            target = ch.peer
            target.hangup_cause = 0
            target.torn_by_peer = True
            self._chan_event("HangupRequest", "call,all", target, ("Cause", "0"))
            self._stop(target)
            return
        ch.hangup_cause = cause
        self._chan_event("HangupRequest", "call,all", ch, ("Cause", str(cause if not via_action else 0)))
        self._stop(ch)

    def _stop(self, ch: Channel) -> None:
        task = ch.task
        if task is not None and not task.done() and task is not asyncio.current_task():
            task.cancel()
        elif task is None or task.done():
            self.destroy(ch)

    def destroy(self, ch: Channel) -> None:
        if ch.gone:
            return
        ch.gone = True
        ch.ended.set()
        ch.listen_evt.set()  # wake a scripted caller waiting to press keys
        if ch.moh:
            ch.moh = None
            self._chan_event("MusicOnHoldStop", "call,all", ch)
        if ch.mixmonitor:  # the file is closed; no MixMonitorStop on a hang-up (app_mixmonitor.c)
            self._stop_mixmonitor(ch, event=False)
        bridge = ch.bridge
        if bridge is not None:
            self._leave_bridge(ch)
        self._chan_event("Hangup", "call,all", ch, ("Cause", str(ch.hangup_cause)),
                         ("Cause-txt", _cause_txt(ch.hangup_cause)))
        self.channels.pop(ch.name, None)
        peer = ch.peer
        if peer is not None and not peer.gone:
            peer.hangup_cause = ch.hangup_cause
            if peer.agi_queue is not None and not peer.agi_frozen and peer.task is not None \
                    and not peer.task.done():
                peer.task.cancel()  # a half in AsyncAGI ends its AGI session first
            else:
                if not ch.torn_by_peer:
                    self._chan_event("HangupRequest", "call,all", peer, ("Cause", "16"))
                self.destroy(peer)
                if peer.task is not None and not peer.task.done():
                    peer.task.cancel()
        if bridge is not None and bridge.kick_on_leave and len(bridge.channels) <= 1:
            for other in list(bridge.channels):  # the last one left (a three-way goes on)
                self._leave_bridge(other)
                other.hangup_cause = 16
                self._stop(other)  # kicked: a soft hang-up, no HangupRequest

    # --- bridges --------------------------------------------------------------------

    def bridge(self, a: Channel, b: Channel, *, from_action: bool = False) -> Bridge:
        br = Bridge(str(uuid.UUID(int=self.rng.getrandbits(128))))
        self.emit("BridgeCreate", "call,all", br.pairs())
        for ch in (a, b):
            if ch.bridge is not None:
                self._leave_bridge(ch)
            if ch.moh:
                ch.moh = None
                self._chan_event("MusicOnHoldStop", "call,all", ch)
            br.channels.append(ch)
            ch.bridge = br
            self.emit("BridgeEnter", "call,all", [*br.pairs(), *ch.snapshot()])
        for ch in (a, b):
            if from_action and ch.agi_queue is not None:
                # Observed on 20.20.1: a command running at that moment never completes,
                # later ones are queued but never run, and no AsyncAGIEnd comes.
                ch.agi_frozen = True
            ch.interrupt.set()
        return br

    def _leave_bridge(self, ch: Channel) -> None:
        br = ch.bridge
        if br is None:
            return
        ch.bridge = None
        if ch in br.channels:
            br.channels.remove(ch)
        self.emit("BridgeLeave", "call,all", [*br.pairs(), *ch.snapshot()])
        for c in (ch, *br.channels):
            c.interrupt.set()  # whoever waits on the bridge (app_dial) looks again
        if not br.channels:
            self.emit("BridgeDestroy", "call,all", br.pairs())

    # --- originate ------------------------------------------------------------------

    def originate(self, req: OriginateRequest, respond: Callable[[list[tuple[str, str]]], None]) -> None:
        self.spawn(self._originate(req, respond))

    async def _originate(self, req: OriginateRequest,
                         respond: Callable[[list[tuple[str, str]]], None]) -> None:
        tech, _, resource = req.channel.partition("/")
        cid = (req.caller_num, req.caller_name)
        outcome: tuple[bool, int, Channel | None]
        if tech == "Local":
            outcome = await self._originate_local(req, resource, cid)
        else:
            outcome = await self._originate_endpoint(req, tech, resource, cid)
        ok, reason, ch = outcome
        pairs: list[tuple[str, str]] = [("ActionID", req.action_id)] if req.action_id else []
        pairs += [
            ("Response", "Success" if ok else "Failure"),
            ("Channel", ch.name if ch is not None else req.channel),
        ]
        pairs += [("Application", req.application), ("Data", req.data)] if req.application else [
            ("Context", req.context), ("Exten", req.exten)]
        pairs += [("Reason", str(reason)), ("Uniqueid", ch.uniqueid if ch else "<unknown>"),
                  ("CallerIDNum", req.caller_num or "<unknown>"),
                  ("CallerIDName", req.caller_name or "<unknown>")]
        respond(pairs)
        if ok and ch is not None and not ch.gone:
            self.processed_calls += 1
            self._after_answer(ch, req)
        elif not ok and not req.application and self.dialplan.find(req.context, "failed"):
            # main/pbx.c: an unanswered originate to an extension runs a pseudo channel at
            # `failed` in that context, with the originate's variables and REASON.
            failed = self._new_channel("OutgoingSpoolFailed", 0, req.context, "failed", cid=cid)
            failed.vars.update(dict(req.variables), REASON=str(reason))
            failed.priority = 1
            self.spawn(self.run_dialplan(failed), failed)

    def _after_answer(self, ch: Channel, req: OriginateRequest) -> None:
        for k, v in req.variables:
            ch.vars[k] = v
        if req.application:
            self.spawn(self._run_app_only(ch, req.application, req.data), ch)
        else:
            ch.context, ch.exten, ch.priority = req.context, req.exten, req.priority
            self.spawn(self.run_dialplan(ch), ch)

    async def _originate_local(self, req: OriginateRequest, resource: str,
                               cid: tuple[str, str]) -> tuple[bool, int, Channel | None]:
        target, _, _opts = resource.partition("/")
        exten, _, context = target.partition("@")
        context = context or "default"
        seq = f"{next(self._local_seq):08x}"
        base = f"Local/{exten}@{context}-{seq}"
        one = self._new_channel(base + ";1", 0, context, exten, uniqueid=req.channel_id or None)
        two = self._new_channel(base + ";2", 4, context, exten, linkedid=one.linkedid,
                                uniqueid=req.other_channel_id or None)
        one.peer, two.peer = two, one
        self._chan_event("Newexten", "dialplan,all", one, ("Extension", exten),
                         ("Application", "AppDial2"), ("AppData", "(Outgoing Line)"))
        for k, v in req.variables:
            self.set_var(one, k, v)
            two.vars[k] = v
        if cid[0] or cid[1]:
            for ch in (one, two):
                ch.cid_num, ch.cid_name = cid
                self._chan_event("NewCallerid", "call,all", ch,
                                 ("CID-CallingPres", "0 (Presentation Allowed, Not Screened)"))
                ch.con_num, ch.con_name = cid
                self._chan_event("NewConnectedLine", "call,all", ch)
        self.emit("LocalBridge", "call,all", [
            *one.snapshot("LocalOne"), *two.snapshot("LocalTwo"),
            ("Context", context), ("Exten", exten), ("LocalOptimization", "Yes")])
        self.emit("DialBegin", "call,all", [*one.snapshot("Dest"), ("DialString", target)])
        if self.dialplan.find(context, exten) is None:
            two.hangup_cause = 1
            self.destroy(two)
            self.destroy(one)
            return False, 0, None
        self.spawn(self.run_dialplan(two), two)
        waiters = {asyncio.ensure_future(one.answered.wait()), asyncio.ensure_future(one.ended.wait())}
        done, pending = await asyncio.wait(waiters, timeout=req.timeout_ms / 1000 / self.clock.speed,
                                           return_when="FIRST_COMPLETED")
        for w in pending:
            w.cancel()
        if not done:
            self.emit("DialEnd", "call,all", [*one.snapshot("Dest"), ("DialStatus", "NOANSWER")])
            return False, 0, None
        if one.gone:
            return False, 0, None
        self.emit("DialEnd", "call,all", [*one.snapshot("Dest"), ("DialStatus", "ANSWER")])
        return True, 4, one

    async def _originate_endpoint(self, req: OriginateRequest, tech: str, resource: str,
                                  cid: tuple[str, str]) -> tuple[bool, int, Channel | None]:
        endpoint = self.endpoints.get(resource)
        if endpoint is None:
            return False, 0, None
        ch = self._new_endpoint_channel(tech, resource, endpoint, req.channel_id or None, cid)
        status = await self._ring(ch, endpoint, req.timeout_ms / 1000)
        if status != "ANSWER":
            ch.hangup_cause = {"BUSY": 17, "NOANSWER": 19}.get(status, 34)
            self.destroy(ch)
            return False, {"BUSY": 5, "NOANSWER": 3}.get(status, 8), None
        return True, 4, ch

    def _new_endpoint_channel(self, tech: str, resource: str, endpoint: Endpoint,
                              uniqueid: str | None, cid: tuple[str, str],
                              linkedid: str | None = None) -> Channel:
        name = f"{tech}/{resource}-{next(self._chan_seq):08x}"
        ch = self._new_channel(name, 0, "default", "s", uniqueid=uniqueid, linkedid=linkedid)
        ch.endpoint = endpoint
        ch.con_num, ch.con_name = cid
        return ch

    async def _ring(self, ch: Channel, endpoint: Endpoint, timeout: float) -> str:
        """Ring an endpoint channel; returns ANSWER, BUSY, NOANSWER or CHANUNAVAIL."""
        decision = endpoint.on_ring(self.rng)
        if decision.kind == "busy":
            await self.clock.sleep(decision.after)
            return "BUSY"
        if decision.kind == "unavailable":
            return "CHANUNAVAIL"
        self.set_state(ch, 5)
        wait = timeout if decision.kind == "noanswer" or decision.after >= timeout else decision.after
        ended = asyncio.ensure_future(ch.ended.wait())
        try:  # ringing stops early if the channel is hung up (e.g. the caller gave up)
            await asyncio.wait({ended}, timeout=wait / self.clock.speed)
        finally:
            ended.cancel()
        if ch.gone:
            return "CANCEL"
        if wait == timeout:
            return "NOANSWER"
        self.answer(ch)
        if endpoint.talk_time == 0 and not endpoint.digits:
            # Picks up and drops at once: gone before anyone can act on the answer (so a
            # test of "the Bridge finds no channel" does not depend on the machine's load).
            self.request_hangup(ch, 16)
            return "ANSWER"
        self.spawn(self._endpoint_talk(ch, endpoint))
        return "ANSWER"

    async def _endpoint_talk(self, ch: Channel, endpoint: Endpoint) -> None:
        plan = endpoint.on_answer(self.rng)
        if plan.hangup_after is not None:
            # Patience (or talk time) runs from the start, whatever the keys are doing.
            extra = 0.0 if endpoint.reactive else sum(d for d, _ in plan.digits)
            self.spawn(self._hangup_after(ch, plan.hangup_after + extra))
        for delay, digit in plan.digits:
            if endpoint.reactive:
                # A person presses keys while hearing a prompt: wait for the IVR to listen.
                while not ch.gone and not ch.listening:
                    await ch.listen_evt.wait()
            await self.clock.sleep(delay)
            if ch.gone:
                return
            self.send_dtmf(ch, digit)

    async def _hangup_after(self, ch: Channel, seconds: float) -> None:
        waiter = asyncio.ensure_future(ch.ended.wait())
        try:
            await asyncio.wait({waiter}, timeout=seconds / self.clock.speed)
        finally:
            waiter.cancel()
        if not ch.gone:
            self.request_hangup(ch, 16)

    # --- inbound calls --------------------------------------------------------------

    def incoming_call(self, *, trunk: str, context: str, dnis: str, caller_num: str,
                      caller_name: str = "", endpoint: Endpoint | None = None) -> Channel:
        """A call arriving from outside (a SIP trunk or a phone) into `context`."""
        name = f"PJSIP/{trunk}-{next(self._chan_seq):08x}"
        ch = self._new_channel(name, 4, context, dnis, cid=(caller_num, caller_name))
        ch.endpoint = endpoint
        self.processed_calls += 1
        self.spawn(self.run_dialplan(ch), ch)
        if endpoint is not None:
            self.spawn(self._endpoint_talk(ch, endpoint))
        return ch

    # --- dialplan -------------------------------------------------------------------

    async def _run_app_only(self, ch: Channel, app: str, data: str) -> None:
        try:
            ch.app, ch.app_data = app, data
            await self._exec_app(ch, app, data)
            ch.hangup_cause = 16
        except asyncio.CancelledError:
            pass
        except Hungup:
            pass
        self._finish(ch)

    async def run_dialplan(self, ch: Channel) -> None:
        try:
            while not ch.gone:
                step = self.dialplan.step(ch.context, ch.exten, ch.priority)
                if step is None:
                    ch.hangup_cause = ch.hangup_cause or 16
                    break
                args = substitute(step.args, ch.lookup())
                self._chan_event("Newexten", "dialplan,all", ch, ("Extension", ch.exten),
                                 ("Application", step.app), ("AppData", args))
                ch.app, ch.app_data = step.app, args
                before = (ch.context, ch.exten, ch.priority)
                result = await self._exec_app(ch, step.app, args)
                if result == "hangup":
                    break
                if ch.redirect_to is not None:
                    ch.context, ch.exten, ch.priority = ch.redirect_to
                    ch.redirect_to = None
                elif (ch.context, ch.exten, ch.priority) == before:
                    ch.priority += 1
        except asyncio.CancelledError:
            pass
        except Hungup:
            pass
        self._finish(ch)

    def _finish(self, ch: Channel) -> None:
        if ch.gone:
            return
        if ch.moh:
            ch.moh = None
            self._chan_event("MusicOnHoldStop", "call,all", ch)
        self._chan_event("SoftHangupRequest", "call,all", ch, ("Cause", "16"))
        self.destroy(ch)

    def redirect(self, ch: Channel, context: str, exten: str, priority: int) -> None:
        ch.redirect_to = (context, exten, priority)
        if ch.bridge is not None:
            br = ch.bridge
            br.kick_on_leave = False  # the one left behind stays, as on 20.20.1
            self._leave_bridge(ch)
        ch.interrupt.set()
        if ch.agi_frozen:  # a new AsyncAGI session starts where it is sent
            ch.thaw.set()
            return
        if ch.task is None or ch.task.done():
            ch.context, ch.exten, ch.priority = ch.redirect_to
            ch.redirect_to = None
            self.spawn(self.run_dialplan(ch), ch)

    async def _wait(self, ch: Channel, seconds: float | None) -> bool:
        """Sleep on the channel; True if interrupted (redirect, bridge)."""
        ch.interrupt.clear()
        timeout = None if seconds is None else max(0.0, seconds) / self.clock.speed
        try:
            await asyncio.wait_for(ch.interrupt.wait(), timeout)
            return True
        except TimeoutError:
            return False

    async def _exec_app(self, ch: Channel, app: str, args: str) -> str:
        name = app.lower()
        parts = args.split(",") if args else []
        if name == "noop":
            return "next"
        if name == "answer":
            self.answer(ch)
            return "next"
        if name == "ringing":
            self.set_state(ch, 5)
            return "next"
        if name == "wait":
            await self._wait(ch, _float(parts[0] if parts else "0"))
            return "next"
        if name in ("busy", "congestion"):
            if ch.state != 6:
                self.set_state(ch, 7 if name == "busy" else 0)
                if ch.is_local and ch.peer is not None and ch.peer.state != 6:
                    # Tell the dialling side at once, as chan_local does with a control frame.
                    ch.peer.ring_status = name.upper()
                    ch.peer.progress.set()
            ch.hangup_cause = 17 if name == "busy" else 34
            await self._wait(ch, _float(parts[0]) if parts and parts[0] else None)
            return "hangup"
        if name == "hangup":
            ch.hangup_cause = int(parts[0]) if parts and parts[0].isdigit() else 16
            return "hangup"
        if name == "goto":
            self._goto(ch, parts)
            return "next"
        if name == "set":
            key, _, value = args.partition("=")
            if key.upper() == "CHANNEL(LANGUAGE)":
                ch.language = value
            self.set_var(ch, key, value)
            return "next"
        if name == "playback":
            for prompt in args.split(",")[0].split("&"):
                length = self.prompts.get(prompt)
                if length is None:
                    self.set_var(ch, "PLAYBACKSTATUS", "FAILED")
                    return "next"
                await self._wait(ch, length)
            self.set_var(ch, "PLAYBACKSTATUS", "SUCCESS")
            return "next"
        if name == "musiconhold":
            self._moh_on(ch, parts[0] if parts and parts[0] else "default")
            await self._wait(ch, _float(parts[1]) if len(parts) > 1 and parts[1] else None)
            if ch.moh:
                ch.moh = None
                self._chan_event("MusicOnHoldStop", "call,all", ch)
            return "next"
        if name == "dial":
            await self._dial(ch, parts)
            return "next"
        if name == "voicemail":
            self.answer(ch)
            await self._wait(ch, 8.0)  # greeting, beep and a short message
            self.set_var(ch, "VMSTATUS", "SUCCESS")
            return "next"
        if name == "agi":
            if args.strip() != "agi:async":
                return "next"  # only AsyncAGI is simulated
            return await self._async_agi(ch)
        if name == "bridgeadd":  # app_bridgeaddchan.c: BridgeAdd(channel)
            target = self.channels.get(parts[0].strip()) if parts else None
            if target is None or target.bridge is None:
                self.set_var(ch, "BRIDGERESULT", "FAILURE")
                return "next"
            self.answer(ch)
            br = target.bridge
            if ch.bridge is not None:
                self._leave_bridge(ch)
            br.channels.append(ch)
            ch.bridge = br
            if ch.moh:
                ch.moh = None
                self._chan_event("MusicOnHoldStop", "call,all", ch)
            self.emit("BridgeEnter", "call,all", [*br.pairs(), *ch.snapshot()])
            while not ch.gone and ch.bridge is br:
                await self._wait(ch, None)
            self.set_var(ch, "BRIDGERESULT", "SUCCESS")
            return "next"
        if name == "chanspy":
            await self._chanspy(ch, parts[0] if parts else "", parts[1] if len(parts) > 1 else "")
            return "next"
        # Asterisk hangs up a channel on an application it does not know.
        ch.hangup_cause = 0
        return "hangup"

    async def _chanspy(self, spyer: Channel, prefix: str, options: str) -> None:
        """ChanSpy(prefix,options): listen to the first channel whose name starts with
        `prefix` (w whisper, B barge; d: keys 4/5/6 switch spy/whisper/barge). `E` ends
        when the spied-on channel hangs up. The mode is kept in `spy_modes` for tests."""
        self.answer(spyer)
        spyee = next((c for name, c in self.channels.items() if c is not spyer
                      and name.startswith(prefix) and not c.gone), None) if prefix else None
        if spyee is None:
            await self._wait(spyer, 1.0)  # ChanSpy finds nobody: a beep and it gives up (q: quiet)
            return
        mode = "barge" if "B" in options else "whisper" if "w" in options else "listen"
        self.spy_modes.setdefault(spyer.name, []).append(mode)
        self.emit("ChanSpyStart", "call,all", [*spyer.snapshot("Spyer"), *spyee.snapshot("Spyee")])
        while not spyer.gone and not spyee.gone:
            getter = asyncio.ensure_future(spyer.dtmf.get())
            ended = asyncio.ensure_future(spyee.ended.wait())
            try:
                done, _ = await asyncio.wait({getter, ended}, return_when="FIRST_COMPLETED")
            finally:
                getter.cancel()
                ended.cancel()
            if getter in done and "d" in options:
                new = {"4": "listen", "5": "whisper", "6": "barge"}.get(getter.result())
                if new is not None:
                    self.spy_modes[spyer.name].append(new)
        if "E" not in options and not spyer.gone:
            await self._wait(spyer, None)
        self.emit("ChanSpyStop", "call,all", [*spyer.snapshot("Spyer"),
                                              *(spyee.snapshot("Spyee") if not spyee.gone else [])])

    def _goto(self, ch: Channel, parts: list[str]) -> None:
        parts = [p.strip() for p in parts]
        if len(parts) == 1:
            ctx, ext, pr = ch.context, ch.exten, parts[0]
        elif len(parts) == 2:
            ctx, ext, pr = ch.context, parts[0], parts[1]
        else:
            ctx, ext, pr = parts[0], parts[1], parts[2]
        prio = int(pr) if pr.isdigit() else self.dialplan.label(ctx, ext, pr)
        ch.context, ch.exten, ch.priority = ctx, ext, prio or 1

    def _moh_on(self, ch: Channel, klass: str) -> None:
        if not ch.moh:
            ch.moh = klass
            self._chan_event("MusicOnHoldStart", "call,all", ch, ("Class", klass))

    async def _dial(self, ch: Channel, parts: list[str]) -> str:
        """Dial(tech/resource[&...],timeout,options): ring, bridge on answer, wait for the end."""
        target = parts[0] if parts else ""
        timeout = _float(parts[1]) if len(parts) > 1 and parts[1] else 3600.0
        options = parts[2] if len(parts) > 2 else ""
        tech, _, resource = target.partition("/")
        callee: Channel | None = None
        status = "CHANUNAVAIL"
        if "m" in options:
            self._moh_on(ch, "default")
        if tech == "Local":
            tgt, _, _ = resource.partition("/")
            exten, _, context = tgt.partition("@")
            seq = f"{next(self._local_seq):08x}"
            base = f"Local/{exten}@{context}-{seq}"
            one = self._new_channel(base + ";1", 0, context, exten, linkedid=ch.linkedid)
            two = self._new_channel(base + ";2", 4, context, exten, linkedid=ch.linkedid)
            one.peer, two.peer = two, one
            for c in (one, two):
                c.cid_num, c.cid_name, c.con_num, c.con_name = ch.exten, ch.cid_name, ch.cid_num, ch.cid_name
            self.emit("DialBegin", "call,all", [*ch.snapshot(), *one.snapshot("Dest"),
                                                ("DialString", resource)])
            if self.dialplan.find(context, exten) is None:
                self.destroy(two)
                self.destroy(one)
                status = "CHANUNAVAIL"
            else:
                self.spawn(self.run_dialplan(two), two)
                status = await self._await_answer(ch, one, two, timeout)
                callee = one
        elif tech:
            endpoint = self.endpoints.get(resource)
            if endpoint is not None:
                callee = self._new_endpoint_channel(tech, resource, endpoint, None,
                                                    (ch.cid_num, ch.cid_name), ch.linkedid)
                self.emit("DialBegin", "call,all", [*ch.snapshot(), *callee.snapshot("Dest"),
                                                    ("DialString", resource)])
                status = await self._ring(callee, endpoint, timeout)
        if callee is not None:
            self.emit("DialEnd", "call,all", [*ch.snapshot(), *callee.snapshot("Dest"),
                                              ("DialStatus", status)])
        if ch.moh:
            ch.moh = None
            self._chan_event("MusicOnHoldStop", "call,all", ch)
        if status == "ANSWER" and callee is not None and not ch.gone:
            self.answer(ch)
            br = self.bridge(ch, callee)
            br.kick_on_leave = False
            while callee.bridge is br and ch.bridge is br and not ch.gone and not callee.gone:
                await self._wait(ch, None)
            if callee.bridge is br and not callee.gone:
                self._leave_bridge(callee)
                self.request_hangup(callee, 16)
            if ch.bridge is br:
                self._leave_bridge(ch)
        elif callee is not None and not callee.gone:
            self.request_hangup(callee, 16)
        self.set_var(ch, "DIALSTATUS", status)
        return status

    async def _await_answer(self, ch: Channel, one: Channel, two: Channel, timeout: float) -> str:
        waiters = {asyncio.ensure_future(e.wait()) for e in (one.answered, one.ended, one.progress)}
        try:
            done, _ = await asyncio.wait(waiters, timeout=timeout / self.clock.speed,
                                         return_when="FIRST_COMPLETED")
        finally:
            for w in waiters:
                w.cancel()
        if one.ring_status:
            return one.ring_status
        if one.gone or two.gone:
            return "BUSY" if two.hangup_cause == 17 else "CHANUNAVAIL"
        return "ANSWER" if done and one.state == 6 else "NOANSWER"

    # --- AsyncAGI -------------------------------------------------------------------

    async def _async_agi(self, ch: Channel) -> str:
        ch.agi_queue = asyncio.Queue()
        env = {
            "agi_request": "async", "agi_channel": ch.name, "agi_language": ch.language,
            "agi_type": ch.name.split("/", 1)[0], "agi_uniqueid": ch.uniqueid,
            "agi_version": "20.20.1", "agi_callerid": ch.cid_num or "unknown",
            "agi_calleridname": ch.cid_name or "unknown", "agi_callingpres": "0",
            "agi_callingani2": "0", "agi_callington": "0", "agi_callingtns": "0",
            "agi_dnid": ch.vars.get("DNID", "unknown"), "agi_rdnis": "unknown",
            "agi_context": ch.context, "agi_extension": ch.exten,
            "agi_priority": str(ch.priority), "agi_enhanced": "0.0", "agi_accountcode": "",
            "agi_threadid": str(140375600174784 + self.rng.randrange(1 << 20)),
        }
        self._chan_event("AsyncAGIStart", "agi,all", ch, ("Env", encode_agi_env(env)))
        try:
            while ch.redirect_to is None:
                if ch.agi_frozen:  # taken into a bridge by the Bridge action
                    await self._frozen(ch)  # until hung up, or thawed by a transfer
                assert ch.agi_queue is not None
                getter = asyncio.ensure_future(ch.agi_queue.get())
                ch.interrupt.clear()
                stopper = asyncio.ensure_future(ch.interrupt.wait())
                try:
                    done, _ = await asyncio.wait({getter, stopper}, return_when="FIRST_COMPLETED")
                except asyncio.CancelledError:  # hung up while waiting for a command
                    getter.cancel()
                    stopper.cancel()
                    raise
                stopper.cancel()
                if getter not in done:
                    getter.cancel()
                    if ch.redirect_to is not None:
                        break
                    continue
                command, command_id = getter.result()
                result = await self._agi_command(ch, command, command_id)
                if result == "hangup":
                    return "hangup"
                if result == "fail":  # res_agi ends the session (AGISTATUS=FAILURE)
                    self._agi_end(ch, "FAILURE")
                    return "next"
        except Thawed:
            ch.agi_frozen = False
            ch.agi_queue = None
            ch.thaw.clear()
            return "next"
        except asyncio.CancelledError:
            self._agi_end(ch, "HANGUP")
            raise
        self._agi_end(ch, "SUCCESS")
        return "next"

    @staticmethod
    async def _frozen(ch: Channel) -> None:
        await ch.thaw.wait()
        raise Thawed

    async def _until_frozen(self, ch: Channel) -> None:
        while not ch.agi_frozen:
            ch.interrupt.clear()
            await ch.interrupt.wait()

    def _agi_end(self, ch: Channel, status: str) -> None:
        if ch.agi_queue is None or ch.gone or ch.agi_frozen:
            return
        ch.agi_queue = None
        if ch.moh and status == "HANGUP":
            ch.moh = None
            self._chan_event("MusicOnHoldStop", "call,all", ch)
        self._chan_event("AsyncAGIEnd", "agi,all", ch)
        self.set_var(ch, "AGISTATUS", status)

    async def _agi_command(self, ch: Channel, command: str, command_id: str) -> str:
        internal = str(self.rng.randrange(10**8, 2 * 10**9))
        self._chan_event("AGIExecStart", "agi,all", ch, ("CommandId", internal), ("Command", command))
        reads = command.upper().startswith(("STREAM", "GET DATA", "WAIT FOR", "SAY", "CONTROL"))
        if reads:
            ch.listening = True
            ch.listen_evt.set()
        try:
            runner = asyncio.ensure_future(self._agi_run(ch, command))
            frozen = asyncio.ensure_future(self._until_frozen(ch))
            try:
                await asyncio.wait({runner, frozen}, return_when="FIRST_COMPLETED")
            finally:  # a hang-up cancels us: the command goes with the channel
                frozen.cancel()
                if not runner.done():
                    runner.cancel()
            if ch.agi_frozen:
                await self._frozen(ch)  # the command never completes (see bridge())
            code, text, outcome = runner.result()
        finally:
            ch.listening = False
            ch.listen_evt.clear()
            while not ch.dtmf.empty():  # digits beyond what the command wanted are dropped
                ch.dtmf.get_nowait()
        result_word = {200: "Success", 510: "Invalid or unknown command", 520: "End of proper usage"}
        word = result_word.get(code, "Failure")
        if code == 200 and "result=-1" in text:
            word = "Failure" if not command.upper().startswith("EXEC") else "Unknown Result"
        self._chan_event("AGIExecEnd", "agi,all", ch, ("CommandId", internal), ("Command", command),
                         ("ResultCode", str(code)), ("Result", word))
        self._chan_event("AsyncAGIExec", "agi,all", ch, ("Result", encode_agi_result(code, text)),
                         ("CommandId", command_id))
        return outcome

    async def _agi_run(self, ch: Channel, command: str) -> tuple[int, str, str]:
        words = _agi_split(command)
        if not words:
            return 510, "Invalid or unknown command", "next"
        verb = words[0].upper()
        two = " ".join(w.upper() for w in words[:2])
        if verb == "ANSWER":
            self.answer(ch)
            await self.clock.sleep(0.5)  # media setup, as measured in the transcripts
            return 200, "result=0", "next"
        if verb == "HANGUP":
            ch.hangup_cause = 16
            self.spawn(self._later_hangup(ch))
            return 200, "result=1", "next"
        if verb == "NOOP":
            return 200, "result=0", "next"
        if two == "STREAM FILE" and len(words) >= 3:
            return await self._stream(ch, words[2], words[3] if len(words) > 3 else "")
        if two == "GET DATA" and len(words) >= 3:
            timeout_ms = int(words[3]) if len(words) > 3 and words[3].isdigit() else 5000
            max_digits = int(words[4]) if len(words) > 4 and words[4].isdigit() else 1024
            return await self._get_data(ch, words[2], timeout_ms, max_digits)
        if two == "WAIT FOR":
            timeout_ms = int(words[3]) if len(words) > 3 and words[3].lstrip("-").isdigit() else -1
            return await self._wait_digit(ch, timeout_ms)
        if two in ("SAY DIGITS", "SAY NUMBER") and len(words) >= 3:
            escape = words[3] if len(words) > 3 else ""
            got = await self._collect(ch, 0.45 * len(words[2]), 1, escape) if escape else ""
            if not escape:
                await self._wait(ch, 0.45 * len(words[2]))
            return 200, f"result={ord(got) if got else 0}", "next"
        if two == "GET VARIABLE" and len(words) >= 3:
            value = ch.lookup().get(words[2])
            return (200, f"result=1 ({value})", "next") if value is not None else (200, "result=0", "next")
        if two == "SET VARIABLE" and len(words) >= 4:
            if words[2].upper() == "CHANNEL(LANGUAGE)":
                ch.language = words[3]
            self.set_var(ch, words[2], words[3])
            return 200, "result=1", "next"
        if two == "SET MUSIC" and len(words) >= 3:
            if words[2].lower() == "on":
                self._moh_on(ch, words[3] if len(words) > 3 else "default")
            elif ch.moh:
                ch.moh = None
                self._chan_event("MusicOnHoldStop", "call,all", ch)
            return 200, "result=0", "next"
        if verb == "EXEC" and len(words) >= 2:
            app_args = command.split(None, 2)[2] if len(command.split(None, 2)) > 2 else ""
            if words[1].lower() in ("dial",):
                status = await self._dial(ch, app_args.split(","))
                if status == "ANSWER":
                    return 200, "result=-1", "next"
                return 200, "result=0", "next"
            if words[1].lower() not in KNOWN_APPS:
                return 200, "result=-2", "next"  # as recorded: no such application
            outcome = await self._exec_app(ch, words[1], app_args)
            return 200, "result=0", outcome if outcome == "hangup" else "next"
        if two == "SPEECH CREATE":
            return 200, "result=0", "next"  # no speech engine loaded, as on a stock box
        return 510, "Invalid or unknown command", "next"

    async def _later_hangup(self, ch: Channel) -> None:
        await asyncio.sleep(0)
        self.request_hangup(ch, 16)

    async def _stream(self, ch: Channel, prompt: str, escape: str) -> tuple[int, str, str]:
        length = self.prompts.get(prompt)
        if length is None:
            # Recorded on 20.20.1: a missing file fails STREAM FILE and ends the AGI session.
            return 200, "result=-1 endpos=0", "fail"
        got = await self._collect(ch, length, 1, escape or "")
        endpos = int(length * 8000)
        if got:
            return 200, f"result={ord(got[0])} endpos={endpos // 2}", "next"
        self.set_var(ch, "PLAYBACKSTATUS", "SUCCESS")
        return 200, f"result=0 endpos={endpos}", "next"

    async def _get_data(self, ch: Channel, prompt: str, timeout_ms: int,
                        max_digits: int) -> tuple[int, str, str]:
        length = self.prompts.get(prompt)
        if length is None:
            return 200, "result=-1", "next"  # as recorded: a missing prompt, nothing read
        digits = ""
        # The prompt is interruptible by any key; then digits are read one at a time.
        first = await self._collect(ch, length, 1, "0123456789*#")
        if ch.redirect_to is not None:
            return 200, "result=-1", "next"
        if first:
            digits = first
        while len(digits) < max_digits and not digits.endswith("#"):
            got = await self._collect(ch, timeout_ms / 1000, 1, "0123456789*#")
            if not got:
                if ch.redirect_to is not None:
                    return 200, "result=-1", "next"
                return 200, f"result={digits} (timeout)", "next"
            digits += got
        return 200, f"result={digits.rstrip('#')}", "next"

    async def _wait_digit(self, ch: Channel, timeout_ms: int) -> tuple[int, str, str]:
        got = await self._collect(ch, None if timeout_ms < 0 else timeout_ms / 1000, 1, None)
        if ch.redirect_to is not None:
            return 200, "result=-1", "next"
        return 200, f"result={ord(got) if got else 0}", "next"

    async def _collect(self, ch: Channel, seconds: float | None, count: int,
                       accept: str | None) -> str:
        """Wait up to `seconds` for a digit in `accept` (None: any); '' on timeout/interrupt."""
        loop = asyncio.get_running_loop()
        deadline = None if seconds is None else loop.time() + seconds / self.clock.speed
        ch.interrupt.clear()
        while True:
            if not ch.dtmf.empty():
                digit = ch.dtmf.get_nowait()
                if accept is None or digit in accept:
                    return digit
                continue
            remaining = None if deadline is None else deadline - loop.time()
            if remaining is not None and remaining <= 0:
                return ""
            getter = asyncio.ensure_future(ch.dtmf.get())
            stopper = asyncio.ensure_future(ch.interrupt.wait())
            try:
                done, _ = await asyncio.wait({getter, stopper}, timeout=remaining,
                                             return_when="FIRST_COMPLETED")
            finally:  # a hang-up cancels us: leave nothing pending behind
                stopper.cancel()
                if not getter.done():
                    getter.cancel()
            if getter in done:
                digit = getter.result()
                if accept is None or digit in accept:
                    return digit
                continue
            getter.cancel()
            return ""

    # --- recording ------------------------------------------------------------------

    def mixmonitor(self, ch: Channel, path: str, options: str) -> None:
        ch.mixmonitor = path
        self.recordings[path] = {"channel": ch.name, "started": self.clock.now(), "muted": [],
                                 "options": options}
        self.set_var(ch, "MIXMONITOR_FILENAME", path)
        self._chan_event("MixMonitorStart", "call,all", ch)

    def mixmonitor_mute(self, ch: Channel, direction: str, state: str) -> None:
        if ch.mixmonitor:
            rec = self.recordings[ch.mixmonitor]
            muted = rec["muted"]
            assert isinstance(muted, list)
            muted.append((self.clock.now(), state == "1"))
        self._chan_event("MixMonitorMute", "call,all", ch, ("Direction", direction), ("State", state))

    def _stop_mixmonitor(self, ch: Channel, *, event: bool = True) -> None:
        if ch.mixmonitor:
            rec = self.recordings[ch.mixmonitor]
            rec["ended"] = self.clock.now()
            if self.monitor_dir is not None:
                full = os.path.join(self.monitor_dir, ch.mixmonitor)  # absolute paths stay
                self._write_recording(full, float(rec["ended"]) - float(rec["started"]))  # type: ignore[arg-type]
            ch.mixmonitor = None
            if event:
                self._chan_event("MixMonitorStop", "call,all", ch)

    @staticmethod
    def _write_recording(path: str, seconds: float) -> None:
        """As Asterisk does: the directories are made, the file holds the call's audio (here
        silence: 8 kHz, 16-bit); a directory it cannot write leaves no file at all."""
        data = b"\0" * min(2_000_000, int(max(0.0, seconds) * 16000))
        header = b"RIFF" + struct.pack("<I", 36 + len(data)) + b"WAVEfmt " + struct.pack(
            "<IHHIIHH", 16, 1, 1, 8000, 16000, 2, 16) + b"data" + struct.pack("<I", len(data))
        try:
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "wb") as f:
                f.write(header + data)
        except OSError:
            pass

    def stop_mixmonitor(self, ch: Channel) -> bool:
        if not ch.mixmonitor:
            return False
        self._stop_mixmonitor(ch)
        return True

    # --- transfer -------------------------------------------------------------------

    def blind_transfer(self, ch: Channel, context: str, exten: str) -> bool:
        """The channel's bridge peer is sent to context/exten; the transferer is hung up."""
        br = ch.bridge
        if br is None:
            return False
        others = [c for c in br.channels if c is not ch]
        if not others:
            return False
        transferee = others[0]
        self.emit("BlindTransfer", "call,all", [
            ("Result", "Success"), *ch.snapshot("Transferer"), *transferee.snapshot("Transferee"),
            *br.pairs(), ("IsExternal", "Yes"), ("Context", context), ("Extension", exten)])
        br.kick_on_leave = False
        # The transferer leaves and goes on in its dialplan (after AGI: Hangup); then the
        # transferee leaves for context/exten, where AGI(agi:async) starts a new session.
        self._leave_bridge(ch)
        if ch.agi_frozen:
            ch.thaw.set()
        self._leave_bridge(transferee)
        transferee.redirect_to = (context, exten, 1)
        transferee.interrupt.set()
        if transferee.agi_frozen:
            transferee.thaw.set()
        elif transferee.task is None or transferee.task.done():
            self.redirect(transferee, context, exten, 1)
        return True

    async def shutdown(self) -> None:
        self.emit("Shutdown", "system,all", [("Shutdown", "Cleanly"), ("Restart", "False")])
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(BaseException):
                await task


def _float(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        return 0.0


def _cause_txt(cause: int) -> str:
    return {0: "Unknown", 1: "Unallocated (unassigned) number", 16: "Normal Clearing",
            17: "User busy", 19: "No user responding", 21: "Call Rejected",
            34: "Circuit/channel congestion"}.get(cause, "Unknown")


def _agi_split(command: str) -> list[str]:
    """Split an AGI command line the way res_agi does: spaces, with "quoted" words."""
    words: list[str] = []
    cur: list[str] = []
    quoted = False
    had_quotes = False
    for ch in command:
        if ch == '"':
            quoted = not quoted
            had_quotes = True
        elif ch == " " and not quoted:
            if cur or had_quotes:
                words.append("".join(cur))
            cur, had_quotes = [], False
        else:
            cur.append(ch)
    if cur or had_quotes:
        words.append("".join(cur))
    return words

KNOWN_APPS = frozenset({"noop", "answer", "ringing", "wait", "busy", "congestion", "hangup", "goto",
                        "set", "playback", "musiconhold", "dial", "agi", "voicemail", "chanspy",
                        "bridgeadd"})

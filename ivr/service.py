"""Runs the IVR on inbound calls: the machine's actions become AGI commands.

Prompt playing and key collection use GET DATA (a missing prompt file makes it return
-1 and the call goes on, where STREAM FILE would end the AGI session: observed on
Asterisk 20.20.1); keys after the first are read with WAIT FOR DIGIT so that the
inter-digit timeout is the node's own.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import structlog

from asterisk import agi as cmd
from asterisk import dialplan as dp
from asterisk.agi import AgiSession
from asterisk.client import AmiClient
from asterisk.errors import AgiChannelGone, AgiError, AmiError
from core.bus import Bus
from core.events import (
    CallConnected,
    CallDataUpdated,
    CallRouted,
    CallSentToMenu,
    CallStarted,
    CallStepped,
    CardDataCollection,
)
from core.store import Store
from ivr.machine import (
    Action,
    Caller,
    Capture,
    Collect,
    Event,
    Finish,
    HandOver,
    IvrState,
    Keys,
    LookedUp,
    Lookup,
    PromptFailed,
    Record,
    SayDigits,
    SetLanguage,
    route_target,
    start,
    start_at,
    step,
)
from ivr.model import IvrConfig, Route

#: the payment step: (call_id, field, card data) -> done; e.g. your provider's client
PaymentStep = Callable[[str, str, str], Awaitable[None]]


class IvrService:
    def __init__(self, bus: Bus, ami: AmiClient, store: Store, config: IvrConfig, *,
                 path: Path | None = None, contexts: tuple[str, ...] = (dp.INBOUND,),
                 now: Callable[[], datetime] | None = None, hand_off: bool = False,
                 payments: PaymentStep | None = None) -> None:
        """`config` is replaced by the engine's reload (app/engine.py) for new calls."""
        self.bus = bus
        self.ami = ami
        self.store = store
        self.config = config
        self.path = path
        self.contexts = contexts
        self.now = now or (lambda: datetime.now(UTC))
        self.tasks: set[asyncio.Task[None]] = set()
        self.parked: dict[str, str] = {}  # call_id -> channel, waiting for the ACD
        #: an ACD takes queued callers over; without one the IVR parks them on hold
        self.hand_off = hand_off
        #: where card data goes (your payment provider's client); nowhere else
        self.payments = payments
        self._runs: dict[str, asyncio.Task[None]] = {}
        self.log = structlog.get_logger("ivr")
        bus.subscribe(CallStarted, self._started)
        bus.subscribe(CallConnected, self._connected)
        bus.subscribe(CallSentToMenu, self._transferred)

    def _connected(self, ev: CallConnected) -> None:
        """The ACD took the call: stop holding it (its parked AGI command never returns)."""
        task = self._runs.pop(ev.call_id, None)
        if task is not None and ev.call_id in self.parked:
            task.cancel()

    def _started(self, ev: CallStarted) -> None:
        if ev.context not in self.contexts:
            return
        task = asyncio.ensure_future(self._run(ev))
        self.tasks.add(task)
        self._runs[ev.call_id] = task
        task.add_done_callback(self.tasks.discard)
        task.add_done_callback(lambda _t: self._runs.pop(ev.call_id, None))

    # --- one call -------------------------------------------------------------------

    async def _resume(self, ev: CallStarted) -> bool:
        """A call found again after a restart: back to its queue if it was waiting there
        (with its original wait), left alone if it is talking; otherwise the menus run."""
        if ev.bridged:
            return True
        try:
            row = await self.store.interaction(ev.call_id)
        except Exception as exc:
            self.log.warning("ivr.resume_lookup_failed", call_id=ev.call_id, error=str(exc)[:200])
            return False
        if row is None or row.queue is None or row.queued_at is None or row.connected_at:
            return False
        route = (row.data or {}).get("route", {})
        data = {k: v for k, v in (row.data or {}).items() if k in ("customer", "captured")}
        self.bus.publish(CallStepped(ev.call_id, "ivr.resumed_in_queue", time.time(),
                                     {"queue": row.queue}))
        self.bus.publish(CallRouted(ev.call_id, ev.channel, row.queued_at.timestamp(), "queue",
                                    row.queue, skills=dict(route.get("skills", {})),
                                    priority=int(route.get("priority", 0)),
                                    language=row.language or self.config.language, data=data))
        return True

    def _transferred(self, ev: CallSentToMenu) -> None:
        """An agent sent the caller to a menu node (`ivr:<node>`): the menus run from there."""
        started = CallStarted(ev.call_id, ev.channel, str(ev.data.get("caller_num", "")), "",
                              str(ev.data.get("dnis", "")), dp.LEGS, ev.at)
        task = asyncio.ensure_future(self._run(started, at_node=ev.node, language=ev.language))
        self.tasks.add(task)
        self._runs[ev.call_id] = task
        task.add_done_callback(self.tasks.discard)

    async def _run(self, ev: CallStarted, *, at_node: str | None = None,
                   language: str | None = None) -> None:
        if ev.adopted and await self._resume(ev):
            return
        config = self.config  # a reload mid-call does not change this caller's menus
        log = self.log.bind(call_id=ev.call_id, channel=ev.channel)
        call = _Call(self, ev, config, log)
        state: IvrState | None = None
        try:
            caller = await call.identify()
            if at_node is None:
                await AgiSession(self.ami, ev.channel).answer(timeout=15)
                await call.check_speech()
                state, actions = start(config, caller, self.now())
            else:
                state, actions = start_at(config, at_node, caller, self.now(), language)
            while True:
                event: Event | None = None
                for action in actions:
                    got = await call.do(action)
                    event = got if got is not None else event
                if state.done or event is None:
                    break
                state, actions = step(config, state, caller, event, self.now())
        except AgiChannelGone:
            if state is None or not state.done:
                node = state.node if state else None
                call.record("ivr.caller_hung_up", {"node": node})
                self.bus.publish(CallDataUpdated(ev.call_id, time.time(),
                                                 {"ivr": {"path": list(state.path) if state else [],
                                                          "left_at": node}},
                                                 outcome="abandoned_in_ivr"))
                log.info("ivr.caller_hung_up", node=node)
        except AmiError as exc:
            log.warning("ivr.failed", error=str(exc), node=state.node if state else None)
            call.record("ivr.failed", {"error": str(exc)[:200]})
        finally:
            self.parked.pop(ev.call_id, None)


class _Call:
    """One caller's trip through the IVR: carries out actions, reports what happened."""

    def __init__(self, service: IvrService, ev: CallStarted, config: IvrConfig,
                 log: Any) -> None:
        self.s = service
        self.ev = ev
        self.config = config
        self.log = log
        self.channel = ev.channel
        self.language = config.language
        self.data: dict[str, Any] = {}
        self.early_key = ""  # a key pressed during a read-back answers the next question

    def record(self, kind: str, data: dict[str, Any]) -> None:
        self.s.bus.publish(CallStepped(self.ev.call_id, kind, time.time(), data))

    async def agi(self, command: str, timeout: float = 120.0) -> Any:
        return await self.s.ami.agi(self.channel, command, timeout=timeout)

    async def identify(self) -> Caller:
        profile = None
        try:
            profile = await self.s.store.customer_profile(self.ev.caller_num)
        except Exception as exc:  # the IVR still runs without the customer record
            self.log.warning("ivr.lookup_failed", error=str(exc)[:200])
        if profile is None:
            self.record("ivr.caller", {"known": False})
            return Caller(self.ev.caller_num, self.ev.dnis)
        customer = {"id": profile.id, "name": profile.name, "account": profile.account,
                    "vip": "vip" in profile.tags, "open_ticket": profile.open_ticket,
                    "language": profile.language, "tags": list(profile.tags)}
        self.data["customer"] = customer
        self.record("ivr.caller", {"known": True, **customer})
        return Caller(self.ev.caller_num, self.ev.dnis, known=True, vip="vip" in profile.tags,
                      open_ticket=profile.open_ticket, language=profile.language,
                      tags=frozenset(profile.tags))

    async def check_speech(self) -> None:
        engine = self.config.speech.engine
        if not engine:
            return
        result = await self.agi(cmd.speech_create(engine))
        if result.value != 1:
            # No speech engine loaded in this Asterisk: keypad only, as configured fallback.
            self.record("ivr.speech_unavailable", {"engine": engine})
        else:
            await self.agi(cmd.speech_destroy())
            self.record("ivr.speech_available", {"engine": engine})

    async def do(self, action: Action) -> Event | None:
        if isinstance(action, Record):
            self.record(action.kind, action.data)
        elif isinstance(action, SetLanguage):
            self.language = action.language
            await self.agi(cmd.set_variable("CHANNEL(language)", action.language))
            self.s.bus.publish(CallDataUpdated(self.ev.call_id, time.time(), {},
                                               language=action.language))
        elif isinstance(action, Collect):
            return await self.collect(action)
        elif isinstance(action, SayDigits):
            say = cmd.say_number if action.as_number else cmd.say_digits
            r = await self.agi(say(action.digits, cmd.ALL_KEYS))
            if r.value > 0:
                self.early_key = chr(r.value)
        elif isinstance(action, Lookup):
            try:
                found = await self.s.store.account_exists(action.value)
            except Exception as exc:
                self.log.warning("ivr.lookup_failed", error=str(exc)[:200])
                found = False
            return LookedUp(found)
        elif isinstance(action, HandOver):
            await self.hand_over(action)
        elif isinstance(action, Capture):
            self.data.setdefault("captured", {})[action.field] = action.value
            self.s.bus.publish(CallDataUpdated(self.ev.call_id, time.time(),
                                               {"captured": dict(self.data["captured"])}))
        elif isinstance(action, Finish):
            await self.finish(action.route, action.language)
        return None

    async def hand_over(self, action: HandOver) -> None:
        """Card data to the payment step, then forgotten (only the masked value stays)."""
        step = self.s.payments
        if step is None:
            self.log.warning("ivr.payment_not_taken", field=action.field,
                             reason="no payment step is configured: the card data was dropped")
            return
        try:
            await step(self.ev.call_id, action.field, action.value)
        except Exception as exc:  # the provider's error must not carry the number out
            self.log.error("ivr.payment_failed", field=action.field, error=type(exc).__name__)

    async def collect(self, c: Collect) -> Event:
        if c.payment:
            self.record("ivr.payment_capture", {"state": "started"})
            self.s.bus.publish(CardDataCollection(self.ev.call_id, time.time(), True))
        try:
            return await self._collect(c)
        finally:
            if c.payment:
                self.record("ivr.payment_capture", {"state": "ended"})
                self.s.bus.publish(CardDataCollection(self.ev.call_id, time.time(), False))

    async def _collect(self, c: Collect) -> Event:
        digits = ""
        timed_out = False
        if self.early_key:  # the caller answered while we were still talking
            digits, self.early_key = self.early_key, ""
            return Keys(digits)
        # Leading prompts: interruptible by any key (barge-in); a key ends the prompts.
        for prompt in c.prompts[:-1]:
            r = await self.agi(cmd.get_data(prompt))
            if r.result == "-1":
                return PromptFailed(prompt)
            got = _key_of(r)
            if got:
                digits = got
                break
        if not digits:
            last = c.prompts[-1]
            r = await self.agi(cmd.get_data(last, int(c.timeout * 1000), 1))
            if r.result == "-1":
                return PromptFailed(last)
            digits = _key_of(r)
            timed_out = not digits
        # The rest of a multi-digit entry, each key within the inter-digit timeout.
        while digits and len(digits) < c.max_digits and not (c.terminator and
                                                             digits.endswith(c.terminator)):
            r = await self.agi(cmd.wait_for_digit(int(c.inter_digit_timeout * 1000)))
            if r.value <= 0:
                timed_out = True
                break
            digits += chr(r.value)
        if c.terminator and digits.endswith(c.terminator) and len(digits) > 1:
            digits = digits[: -len(c.terminator)]
        return Keys(digits, timed_out)

    async def finish(self, route: Route, language: str) -> None:
        ev = self.ev
        self.data["ivr"] = {"ended_in": route.kind}
        self.s.bus.publish(CallRouted(
            ev.call_id, self.channel, time.time(), route.kind, route_target(route),
            skills=dict(route.skills), priority=route.priority, language=language,
            data=dict(self.data)))
        if route.kind == "queue":
            if self.s.hand_off:
                return  # the ACD drives the waiting caller's AsyncAGI from here
            # No ACD configured: park on music on hold until the caller hangs up.
            self.s.parked[ev.call_id] = self.channel
            await self.agi(cmd.music_on())
            while True:
                await self.agi(cmd.wait_for_digit(60000), timeout=90)
        elif route.kind == "agent":
            await self.agi(cmd.exec_app("Dial", f"{route.device},30"), timeout=3600)
            await self._hangup()
        elif route.kind == "voicemail":
            await self.agi(cmd.exec_app("VoiceMail", f"{route.voicemail},u"), timeout=600)
            await self._hangup()
        elif route.kind == "message":
            for prompt in route.message or []:
                name = prompt if isinstance(prompt, str) else prompt.get(language) or \
                    next(iter(prompt.values()))
                await self.agi(cmd.exec_app("Playback", name), timeout=600)
                status = await self.agi(cmd.get_variable("PLAYBACKSTATUS"))
                if status.data == "FAILED":
                    self.log.warning("ivr.prompt_missing", prompt=name)
                    self.record("ivr.prompt_failed", {"prompt": name})
            await self._hangup()
        elif route.kind == "callback":
            now = time.time()
            self.s.bus.publish(CallDataUpdated(ev.call_id, now, {"callback": {
                "number": ev.caller_num, "requested_at": now, "from": "ivr"}}, outcome="callback"))
            await self.agi(cmd.exec_app("Playback", "queue-thankyou"), timeout=60)
            await self._hangup()
        elif route.kind == "external":
            dial = self.config.external_dial.format(number=route.external)
            await self.agi(cmd.exec_app("Dial", f"{dial},60"), timeout=7200)
            await self._hangup()
        else:
            await self._hangup()

    async def _hangup(self) -> None:
        with contextlib.suppress(AgiChannelGone, AgiError):
            await self.agi(cmd.hangup(), timeout=10)


def _key_of(r: Any) -> str:
    """Keys from GET DATA: '' on timeout; a lone '#' comes back as an empty, untimed result."""
    if r.result:
        return str(r.result)
    return "" if r.timed_out else "#"

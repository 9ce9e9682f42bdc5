"""Originate on the simulated Asterisk: Local pairs and endpoints rung, answered, busy,
congested or unanswered, with the OriginateResponse Reasons of ../shared/ami-transcripts
(dialer/README.md), and scripted endpoints talking and pressing keys once answered."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from sim.agi import AsyncAgi
from sim.channels import Channel, Hungup, OriginateRequest
from sim.endpoints import Endpoint


class Originating(AsyncAgi):
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
        if self.dialplan.find(context, exten) is None:
            # No such extension or context: both halves go at once, nothing is dialled.
            self._fail_pair(one, two, cause_one=0, cause_two=0, ran=False)
            return False, 0, None
        self.emit("LocalBridge", "call,all", [
            *one.snapshot("LocalOne"), *two.snapshot("LocalTwo"),
            ("Context", context), ("Exten", exten), ("LocalOptimization", "Yes")])
        self.emit("DialBegin", "call,all", [*one.snapshot("Dest"), ("DialString", target)])
        self.spawn(self.run_dialplan(two), two)
        waiters = {asyncio.ensure_future(e.wait()) for e in (one.answered, one.ended, one.progress)}
        done, pending = await asyncio.wait(waiters, timeout=req.timeout_ms / 1000 / self.clock.speed,
                                           return_when="FIRST_COMPLETED")
        for w in pending:
            w.cancel()
        if one.ring_status and not one.answered.is_set():
            # Busy() / Congestion() on the far half: the Originate fails at once, Reason 5 / 8
            # (dialer transcripts, originate_outcomes).
            busy = one.ring_status == "BUSY"
            self.emit("DialEnd", "call,all", [*one.snapshot("Dest"), ("DialStatus", one.ring_status)])
            self._fail_pair(one, two, cause_one=0, cause_two=17 if busy else 34, ran=True)
            return False, 5 if busy else 8, None
        if not done:
            # Rang until the Originate's Timeout: Reason 3, no DialEnd, cause 19 on both.
            self._fail_pair(one, two, cause_one=19, cause_two=19, ran=True)
            return False, 3, None
        if one.gone:
            return False, 0, None
        self.emit("DialEnd", "call,all", [*one.snapshot("Dest"), ("DialStatus", "ANSWER")])
        return True, 4, one

    def _fail_pair(self, one: Channel, two: Channel, *, cause_one: int, cause_two: int,
                   ran: bool) -> None:
        """An Originate of a Local pair failed: the first half just goes; the second is asked
        to hang up and ends its dialplan (`ran`), or goes at once if it never ran."""
        one.peer = two.peer = None  # each half goes its own way
        one.hangup_cause, two.hangup_cause = cause_one, cause_two
        if not ran:
            self.destroy(two)
            self.destroy(one)
            return
        self.destroy(one)
        self._chan_event("HangupRequest", "call,all", two, ("Cause", str(cause_two)))
        self._stop(two)

    async def _originate_endpoint(self, req: OriginateRequest, tech: str, resource: str,
                                  cid: tuple[str, str]) -> tuple[bool, int, Channel | None]:
        endpoint = self.endpoints.get(resource)
        if endpoint is None and self.network is not None:
            endpoint = self.network(resource)
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


    async def _run_app_only(self, ch: Channel, app: str, data: str) -> None:
        ch.app_only = True
        try:
            ch.app, ch.app_data = app, data
            await self._exec_app(ch, app, data)
            ch.hangup_cause = 16
        except asyncio.CancelledError:
            pass
        except Hungup:
            pass
        self._finish(ch)


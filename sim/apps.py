"""Dialplan applications on the simulated Asterisk, one method each, found through a table
(as Asterisk's pbx finds registered applications); an unknown one hangs the channel up."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from sim.amd import MEDIA, amd_params, amd_result
from sim.channels import Channel, parse_float
from sim.originate import Originating

AppFn = Callable[["Applications", Channel, list[str], str], Awaitable[str]]


class Applications(Originating):
    async def _exec_app(self, ch: Channel, app: str, args: str) -> str:
        run = APPS.get(app.lower())
        if run is None:
            # Asterisk hangs up a channel on an application it does not know.
            ch.hangup_cause = 0
            return "hangup"
        return await run(self, ch, args.split(",") if args else [], args)

    def _has_app(self, name: str) -> bool:
        return name.lower() in APPS

    async def app_noop(self, ch: Channel, parts: list[str], args: str) -> str:
        return "next"

    async def app_answer(self, ch: Channel, parts: list[str], args: str) -> str:
        self.answer(ch)
        return "next"

    async def app_ringing(self, ch: Channel, parts: list[str], args: str) -> str:
        if ch.is_local and ch.peer is not None and ch.name.endswith(";2"):
            # A Local pair's far half indicates ringing to the calling half; its own state
            # stays Ring (dialer transcripts, originate_outcomes).
            if ch.peer.state != 6:
                self.set_state(ch.peer, 5)
            return "next"
        self.set_state(ch, 5)
        return "next"

    async def app_wait(self, ch: Channel, parts: list[str], args: str) -> str:
        await self._wait(ch, parse_float(parts[0] if parts else "0"))
        return "next"

    async def app_busy(self, ch: Channel, parts: list[str], args: str) -> str:
        return await self._refuse(ch, parts, "busy")

    async def app_congestion(self, ch: Channel, parts: list[str], args: str) -> str:
        return await self._refuse(ch, parts, "congestion")

    async def _refuse(self, ch: Channel, parts: list[str], name: str) -> str:
        if ch.state != 6:
            self.set_state(ch, 7 if name == "busy" else 0)
            if ch.is_local and ch.peer is not None and ch.peer.state != 6:
                # Tell the dialling side at once, as chan_local does with a control frame.
                ch.peer.ring_status = name.upper()
                ch.peer.progress.set()
        ch.hangup_cause = 17 if name == "busy" else 34
        await self._wait(ch, parse_float(parts[0]) if parts and parts[0] else None)
        return "hangup"

    async def app_hangup(self, ch: Channel, parts: list[str], args: str) -> str:
        ch.hangup_cause = int(parts[0]) if parts and parts[0].isdigit() else 16
        return "hangup"

    async def app_goto(self, ch: Channel, parts: list[str], args: str) -> str:
        self._goto(ch, parts)
        return "next"

    async def app_set(self, ch: Channel, parts: list[str], args: str) -> str:
        key, _, value = args.partition("=")
        if key.upper() == "CHANNEL(LANGUAGE)":
            ch.language = value
        self.set_var(ch, key, value)
        return "next"

    async def app_playback(self, ch: Channel, parts: list[str], args: str) -> str:
        for prompt in args.split(",")[0].split("&"):
            length = self.prompts.get(prompt)
            if length is None:
                self.set_var(ch, "PLAYBACKSTATUS", "FAILED")
                return "next"
            if prompt in self.voices and ch.voice is None:
                ch.voice, ch.voice_length = self.voices[prompt]
            await self._wait(ch, length)
        self.set_var(ch, "PLAYBACKSTATUS", "SUCCESS")
        return "next"

    async def app_musiconhold(self, ch: Channel, parts: list[str], args: str) -> str:
        self._moh_on(ch, parts[0] if parts and parts[0] else "default")
        await self._wait(ch, parse_float(parts[1]) if len(parts) > 1 and parts[1] else None)
        self._moh_off(ch)
        return "next"

    async def app_dial(self, ch: Channel, parts: list[str], args: str) -> str:
        await self._dial(ch, parts)
        return "next"

    async def app_voicemail(self, ch: Channel, parts: list[str], args: str) -> str:
        self.answer(ch)
        await self._wait(ch, 8.0)  # greeting, beep and a short message
        self.set_var(ch, "VMSTATUS", "SUCCESS")
        return "next"

    async def app_agi(self, ch: Channel, parts: list[str], args: str) -> str:
        if not parts or parts[0].strip() != "agi:async":
            return "next"  # only AsyncAGI is simulated
        return await self._async_agi(ch, [p.strip() for p in parts[1:]])

    async def app_userevent(self, ch: Channel, parts: list[str], args: str) -> str:
        """UserEvent(name,Header: value,...) (app_userevent.c)."""
        extra = [("UserEvent", parts[0].strip() if parts else "")]
        for part in parts[1:]:
            key, _, value = part.partition(":")
            extra.append((key.strip(), value.strip()))
        self._chan_event("UserEvent", "user,all", ch, *extra)
        return "next"

    async def app_amd(self, ch: Channel, parts: list[str], args: str) -> str:
        waited = 0.0
        while self._far_voice(ch)[0] == "deadair" and waited < MEDIA:
            await self.clock.sleep(0.05)  # the far end starts sending once media is up
            waited += 0.05
        status, cause, after = amd_result(self._far_voice(ch), amd_params(parts))
        await self._wait(ch, after - waited)
        self.set_var(ch, "AMDSTATUS", status)
        self.set_var(ch, "AMDCAUSE", cause)
        return "next"

    def _far_voice(self, ch: Channel) -> tuple[str, float]:
        """What the other end sends: a scripted customer's voice, or (a Local pair) what
        its other half is playing."""
        if ch.endpoint is not None and ch.endpoint.voice is not None:
            return ch.endpoint.voice, ch.endpoint.greeting
        far = ch.peer if ch.peer is not None else ch
        if far.voice is not None:
            return far.voice, far.voice_length
        return "deadair", 0.0

    async def app_bridgeadd(self, ch: Channel, parts: list[str], args: str) -> str:
        """app_bridgeaddchan.c: BridgeAdd(channel) joins the channel's bridge."""
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
        self._moh_off(ch)
        self.emit("BridgeEnter", "call,all", [*br.pairs(), *ch.snapshot()])
        while not ch.gone and ch.bridge is br:
            await self._wait(ch, None)
        self.set_var(ch, "BRIDGERESULT", "SUCCESS")
        return "next"

    async def app_chanspy(self, ch: Channel, parts: list[str], args: str) -> str:
        await self._chanspy(ch, parts[0] if parts else "", parts[1] if len(parts) > 1 else "")
        return "next"

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


    async def _dial(self, ch: Channel, parts: list[str]) -> str:
        """Dial(tech/resource[&...],timeout,options): ring, bridge on answer, wait for the end."""
        target = parts[0] if parts else ""
        timeout = parse_float(parts[1]) if len(parts) > 1 and parts[1] else 3600.0
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
        self._moh_off(ch)
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



APPS: dict[str, AppFn] = {
    "noop": Applications.app_noop, "answer": Applications.app_answer,
    "ringing": Applications.app_ringing, "wait": Applications.app_wait,
    "busy": Applications.app_busy, "congestion": Applications.app_congestion,
    "hangup": Applications.app_hangup, "goto": Applications.app_goto,
    "set": Applications.app_set, "playback": Applications.app_playback,
    "musiconhold": Applications.app_musiconhold, "dial": Applications.app_dial,
    "voicemail": Applications.app_voicemail, "agi": Applications.app_agi,
    "bridgeadd": Applications.app_bridgeadd, "chanspy": Applications.app_chanspy,
    "userevent": Applications.app_userevent, "amd": Applications.app_amd,
}

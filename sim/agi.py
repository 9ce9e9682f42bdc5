"""AsyncAGI on the simulated Asterisk: `AGI(agi:async)` sessions, the AGI commands the
engine uses and their results as Asterisk 20.20.1 gives them (see res/res_agi.c and
../shared/ami-transcripts), including a Bridge action freezing the running command."""

from __future__ import annotations

import asyncio

from asterisk.wire import encode_agi_env, encode_agi_result
from sim.channels import Channel, Thawed
from sim.recording import Recording


class AsyncAgi(Recording):
    # --- provided by sim/apps.py ----------------------------------------------------------

    async def _dial(self, ch: Channel, parts: list[str]) -> str:
        raise NotImplementedError

    def _has_app(self, name: str) -> bool:
        raise NotImplementedError

    async def _async_agi(self, ch: Channel, args: list[str] | None = None) -> str:
        ch.agi_queue = asyncio.Queue()
        for queued in ch.agi_backlog:  # commands sent while it was frozen in a bridge
            ch.agi_queue.put_nowait(queued)
        ch.agi_backlog.clear()
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
        for n, arg in enumerate(args or [], 1):  # AGI(agi:async,arg1,arg2,...)
            env[f"agi_arg_{n}"] = arg
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
                if result == "agi_hangup":
                    self._agi_end(ch, "HANGUP")
                    ch.hangup_cause = 0
                    return "hangup"
                if result == "fail":  # res_agi ends the session (AGISTATUS=FAILURE)
                    self._agi_end(ch, "FAILURE")
                    return "next"
        except Thawed:
            ch.agi_frozen = False
            queue, ch.agi_queue = ch.agi_queue, None
            while queue is not None and not queue.empty():
                ch.agi_backlog.append(queue.get_nowait())
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
            # The explicit soft hang-up (32) at once; the command completes, the session
            # ends, the dialplan stops; the channel goes with cause 0 (safe_harbour).
            self._chan_event("SoftHangupRequest", "call,all", ch, ("Cause", "32"))
            return 200, "result=1", "agi_hangup"
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
            if not self._has_app(words[1]):
                return 200, "result=-2", "next"  # as recorded: no such application
            outcome = await self._exec_app(ch, words[1], app_args)
            return 200, "result=0", outcome if outcome == "hangup" else "next"
        if two == "SPEECH CREATE":
            return 200, "result=0", "next"  # no speech engine loaded, as on a stock box
        return 510, "Invalid or unknown command", "next"

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


"""The simulated Asterisk's switch: channel lifecycle, bridges, DTMF, music on hold and
the dialplan runner, with the events Asterisk 20.20.1 sends for each.

The layers above add MixMonitor (sim/recording.py), AsyncAGI (sim/agi.py), Originate
(sim/originate.py) and the dialplan applications (sim/apps.py); sim/pbx.py is the whole.
"""

from __future__ import annotations

import asyncio
import itertools
import random
import uuid
from collections.abc import Callable, Coroutine
from typing import Any

from asterisk.sounds import stock_prompts
from asterisk.wire import format_message
from sim.channels import Bridge, Channel, Clock, Hungup, cause_txt
from sim.dialplan import Dialplan, substitute
from sim.endpoints import Endpoint

Listener = Callable[[bytes], None]


class Switch:
    def __init__(
        self,
        dialplan: Dialplan,
        *,
        clock: Clock | None = None,
        prompts: dict[str, float] | None = None,
        endpoints: dict[str, Endpoint] | None = None,
        seed: int | None = None,
        timestamps: bool = False,
    ) -> None:
        self.dialplan = dialplan
        #: manager.conf `timestampevents = yes`: every event carries Asterisk's clock
        self.timestamps = timestamps
        #: prompts that are a voice on the line, for AMD: prompt -> (kind, seconds spoken)
        self.voices: dict[str, tuple[str, float]] = {}
        self.clock = clock or Clock()
        # A stock Asterisk's sounds with their real lengths; anything else is "missing".
        self.prompts = dict(stock_prompts()) if prompts is None else dict(prompts)
        self.endpoints: dict[str, Endpoint] = dict(endpoints or {})
        #: phones not in `endpoints` (customers the dialer calls): resource -> its endpoint;
        #: None, or None returned: no such peer
        self.network: Callable[[str], Endpoint | None] | None = None
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

    # --- provided by the layers above; declared here so the switch can call them ---------

    def _stop_mixmonitor(self, ch: Channel, *, event: bool = True) -> None:
        raise NotImplementedError

    async def _exec_app(self, ch: Channel, app: str, args: str) -> str:
        raise NotImplementedError

    # --- events ---------------------------------------------------------------------

    def emit(self, event: str, privilege: str, pairs: list[tuple[str, str]]) -> None:
        head = [("Event", event), ("Privilege", privilege)]
        if self.timestamps:
            head.append(("Timestamp", f"{self.clock.now():.6f}"))
        data = format_message([*head, *pairs])
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
        self._moh_off(ch)
        if ch.mixmonitor:  # the file is closed; no MixMonitorStop on a hang-up (app_mixmonitor.c)
            self._stop_mixmonitor(ch, event=False)
        bridge = ch.bridge
        if bridge is not None:
            self._leave_bridge(ch)
        self._chan_event("Hangup", "call,all", ch, ("Cause", str(ch.hangup_cause)),
                         ("Cause-txt", cause_txt(ch.hangup_cause)))
        self.channels.pop(ch.name, None)
        peer = ch.peer
        if peer is not None and not peer.gone:
            peer.hangup_cause = ch.hangup_cause
            if peer.agi_queue is not None and not peer.agi_frozen and peer.task is not None \
                    and not peer.task.done():
                if not ch.torn_by_peer:  # the far half hung up by itself (originate_outcomes)
                    self._chan_event("HangupRequest", "call,all", peer, ("Cause", "16"))
                peer.task.cancel()  # a half in AsyncAGI ends its AGI session first
            else:
                if not ch.torn_by_peer:
                    self._chan_event("HangupRequest", "call,all", peer, ("Cause", "16"))
                if peer.task is not None and not peer.task.done() and not peer.agi_frozen \
                        and not peer.app_only and peer.task is not asyncio.current_task():
                    peer.task.cancel()  # its dialplan ends: SoftHangupRequest, Hangup
                else:
                    self.destroy(peer)
                    if peer.task is not None and not peer.task.done():
                        peer.task.cancel()
        if bridge is not None:
            self._kick_last(bridge)

    def _kick_last(self, bridge: Bridge) -> None:
        """The last one left in a bridge the Bridge action made (a three-way goes on)."""
        if not bridge.kick_on_leave or len(bridge.channels) > 1:
            return
        for other in list(bridge.channels):
            self._leave_bridge(other)
            other.hangup_cause = 16
            if other.agi_frozen:
                # Its AGI() returns and the dialplan goes on after it (dialer transcripts,
                # nailed_bridge_action/loop): Hangup(), or back into AGI.
                other.thaw.set()
            else:
                self._stop(other)  # kicked: a soft hang-up, no HangupRequest

    # --- bridges --------------------------------------------------------------------

    def bridge(self, a: Channel, b: Channel, *, from_action: bool = False) -> Bridge:
        br = Bridge(str(uuid.UUID(int=self.rng.getrandbits(128))))
        self.emit("BridgeCreate", "call,all", br.pairs())
        for ch in (a, b):
            if ch.bridge is not None:
                self._leave_bridge(ch)
            self._moh_off(ch)
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
        self._moh_off(ch)
        self._chan_event("SoftHangupRequest", "call,all", ch, ("Cause", "16"))
        self.destroy(ch)

    def redirect(self, ch: Channel, context: str, exten: str, priority: int) -> None:
        ch.redirect_to = (context, exten, priority)
        if ch.bridge is not None:
            # The one left behind goes on in its dialplan (Hangup, or back into AGI); a
            # dual Redirect moves it too, right after (redirect, nailed_bridge_loop).
            br = ch.bridge
            self._leave_bridge(ch)
            self._kick_last(br)
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


    def _moh_on(self, ch: Channel, klass: str) -> None:
        if not ch.moh:
            ch.moh = klass
            self._chan_event("MusicOnHoldStart", "call,all", ch, ("Class", klass))


    def _moh_off(self, ch: Channel) -> None:
        if ch.moh:
            ch.moh = None
            self._chan_event("MusicOnHoldStop", "call,all", ch)

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

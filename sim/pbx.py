"""The simulated Asterisk: an AMI server's PBX (sim/server.py serves it) whose calls behave
as on Asterisk 20.20.1 in ../shared/ami-transcripts.

Built in layers, each a module of its own: the switch (channels, bridges, DTMF, music,
dialplan runner), MixMonitor, AsyncAGI, Originate, and the dialplan applications. Known
differences (tested by name in tests/integration/test_sim_transcripts.py): the sim does not
emit DeviceStateChange, QueueMemberStatus, RTCPSent, DialState, nor the per-call VarSet
noise of app_dial; it emits VarSet only for Set(), SET VARIABLE, AGISTATUS, DIALSTATUS and
PLAYBACKSTATUS.
"""

from __future__ import annotations

import contextlib

from sim.apps import APPS, Applications
from sim.channels import Bridge, Channel, Clock, OriginateRequest
from sim.endpoints import Endpoint

__all__ = ["KNOWN_APPS", "Bridge", "Channel", "Clock", "OriginateRequest", "Pbx"]

KNOWN_APPS = frozenset(APPS)


class Pbx(Applications):
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


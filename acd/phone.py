"""What agents do from their desk phones: feature codes they dial (`*21` log in, `*22`
log out, `*23N` pause, `*24` ready) and keys they press during a call (`*2<ext>#`
transfer, `*4<ext>#` consult, then `*5` complete, `*6` back to the caller, `*8`
conference). The phone layer (core/phone.py) hands each finished code here."""

from __future__ import annotations

from acd.consult import Consults
from acd.desk import Desk
from acd.state import AcdState
from acd.targets import keyed_target
from acd.transfers import Transfers
from asterisk.errors import AmiError
from core.events import CallStarted
from core.people import Directory
from core.phone import FeatureCodes, Keypad
from core.ports import Ports

FEATURE_CODES = {"*21": "login", "*22": "logout", "*23": "pause", "*24": "ready"}
PAUSE_CODES = {"1": "break", "2": "lunch", "3": "training", "4": "meeting"}
FEATURE_PROMPTS = {"login": "agent-loginok", "logout": "agent-loggedoff"}
CONSULT_STEPS = {"*5": "complete", "*6": "cancel", "*8": "conference"}


class PhoneCodes:
    def __init__(self, state: AcdState, ports: Ports, directory: Directory, desk: Desk,
                 transfers: Transfers, consults: Consults, *, queue_extensions: dict[str, str]
                 ) -> None:
        self.state = state
        self.ports = ports
        self.directory = directory
        self.desk = desk
        self.transfers = transfers
        self.consults = consults
        self.queue_extensions = queue_extensions

    def register(self, codes: FeatureCodes, keypad: Keypad) -> None:
        codes.on("*2", self._dialled)  # *21-*24, and any other *2x (refused)
        codes.on("*", self._dialled)  # codes nobody registered: refused with a prompt
        for code in CONSULT_STEPS:
            keypad.on(code, self._keyed)
        keypad.on("*2", self._keyed, terminator="#")
        keypad.on("*4", self._keyed, terminator="#")

    # --- dialled from a desk phone ---------------------------------------------------------

    def _dialled(self, ev: CallStarted) -> None:
        self.ports.spawn(self._feature_code(ev))

    async def _feature_code(self, ev: CallStarted) -> None:
        """The agent is the phone's extension (caller number) or device."""
        agent = self.directory.of_phone(ev.caller_num, ev.channel)
        code, rest = ev.dnis[:3], ev.dnis[3:]
        action = FEATURE_CODES.get(code)
        reason = PAUSE_CODES.get(rest, "other") if action == "pause" else None
        if agent is None:
            error: str | None = f"no agent on this phone ({ev.caller_num or ev.channel})"
        elif action is None:
            error = f"unknown feature code {ev.dnis}"
        else:
            error = self.desk.command(agent.id, action, reason)
        self.ports.step(ev.call_id, "acd.feature_code", {
            "code": ev.dnis, "agent": agent.id if agent else None, "action": action,
            "error": error})
        prompt = "beep" if error is None else "invalid"
        if error is None and action in FEATURE_PROMPTS:
            prompt = FEATURE_PROMPTS[action]
        agi = self.ports.agi(ev.channel)
        try:
            await agi.answer()
            await agi.play(prompt, timeout=30)
            await agi.hangup()
        except AmiError:
            pass

    # --- pressed during a call -------------------------------------------------------------

    def _keyed(self, channel: str, code: str, body: str) -> bool:
        call_id = self.state.call_of_leg(channel)
        conn = self.state.connections.get(call_id) if call_id is not None else None
        if call_id is None or conn is None:
            return False
        agent_id = conn.agent
        if code in CONSULT_STEPS:
            action = CONSULT_STEPS[code]
            error = self.consults.finish(agent_id, action)
            keys = code
        elif code == "*4":
            action, error = "consult", self.consults.consult(agent_id, body)
            keys = f"*4{body}#"
        else:
            target = keyed_target(body, queue_extensions=self.queue_extensions,
                                  agent_of=lambda ext: (a.id if (a := self.directory.find(ext))
                                                        else None))
            action, error = "transfer", self.transfers.transfer(agent_id, target)
            keys = f"*2{body}#"
        self.ports.step(call_id, "acd.keys", {"agent": agent_id, "keys": keys, "action": action,
                                              "error": error})
        return True

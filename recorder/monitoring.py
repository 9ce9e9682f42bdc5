"""Live monitoring: a supervisor listens to, whispers to or barges in on an agent's call
with a `ChanSpy` leg on their own phone, from MQTT (the engine rings their phone) or from
their desk phone (`*31`/`*32`/`*33` + agent); keys 4/5/6 switch modes during it. Only
supervisors may; every access, allowed or refused, is written to the audit log."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import structlog

from asterisk import actions
from asterisk.agi import AgiSession
from asterisk.client import AmiClient
from asterisk.errors import AmiError
from core.bus import Bus
from core.events import CallStarted, CallStepped
from core.people import Directory
from core.store import Journal
from core.tasks import Tasks
from recorder.index import RecordingIndex

SPY_OPTIONS = {"listen": "qEd", "whisper": "qEdw", "barge": "qEdB"}
SPY_CODES = {"*31": "listen", "*32": "whisper", "*33": "barge"}
#: an agent's current call: (call_id, the agent's channel), or None
OnCall = Callable[[str], tuple[str, str] | None]


class Monitoring:
    def __init__(self, bus: Bus, ami: AmiClient, index: RecordingIndex, journal: Journal,
                 people: Directory, tasks: Tasks, clock: Callable[[], float],
                 on_call: OnCall) -> None:
        self.bus = bus
        self.ami = ami
        self.index = index
        self.journal = journal
        self.people = people
        self.tasks = tasks
        self.clock = clock
        self.on_call = on_call
        self.log = structlog.get_logger("recorder")

    def spy_code(self, ev: CallStarted) -> None:
        """`*31N` listen, `*32N` whisper, `*33N` barge, dialled from a desk phone."""
        self.tasks.spawn(self._spy_from_phone(ev, SPY_CODES.get(ev.dnis[:3]), ev.dnis[3:]))

    def monitor(self, supervisor: str, agent: str, mode: str) -> str | None:
        """A supervisor's own phone rings; answered, it spies on the agent's call."""
        why = self._may_spy(supervisor, agent, mode)
        if why is not None:
            return why
        _, channel = self.on_call(agent) or ("", "")
        self.tasks.spawn(self._spy_leg(supervisor, agent, channel, mode))
        return None

    def _may_spy(self, supervisor: str, agent: str, mode: str) -> str | None:
        person = self.people.get(supervisor)
        if person is None or person.role != "supervisor":
            self.index.submit_audit(self.journal, self.clock(), supervisor, mode, agent,
                                    allowed=False, detail={"why": "not a supervisor"})
            return "only supervisors may listen to live calls"
        if agent not in self.people:
            return f"unknown agent {agent!r}"
        if self.on_call(agent) is None:
            return f"agent {agent} is not on a call"
        if mode not in SPY_OPTIONS:
            return f"unknown mode {mode!r}"
        return None

    async def _spy_leg(self, supervisor: str, agent: str, channel: str, mode: str) -> None:
        person = self.people[supervisor]
        call_id = (self.on_call(agent) or ("", ""))[0]
        now = self.clock()
        self.index.submit_audit(self.journal, now, supervisor, mode, agent, allowed=True,
                                detail={"call_id": call_id, "from": "mqtt"})
        self.bus.publish(CallStepped(call_id, "monitor.started", now,
                                     {"supervisor": supervisor, "agent": agent, "mode": mode}))
        try:
            outcome = await self.ami.originate(actions.originate_app(
                channel=person.device, application="ChanSpy",
                data=f"{channel},{SPY_OPTIONS[mode]}", ring_timeout=30,
                caller_id=f"{mode} {agent} <{agent}>"))
            response = await asyncio.wait_for(outcome, 60)
        except (AmiError, TimeoutError) as exc:
            self.log.warning("recording.spy_failed", supervisor=supervisor, agent=agent,
                             error=str(exc))
            return
        if not response.success:
            self.bus.publish(CallStepped(call_id, "monitor.unanswered", self.clock(),
                                         {"supervisor": supervisor, "agent": agent}))

    async def _spy_from_phone(self, ev: CallStarted, mode: str | None, agent_key: str) -> None:
        """*31N listen, *32N whisper, *33N barge (N: agent id or extension), dialled from
        the supervisor's own desk phone; keys 4/5/6 switch modes during it."""
        person = self.people.of_phone(ev.caller_num, ev.channel)
        supervisor = person.id if person is not None else ""
        found = self.people.find(agent_key)
        agent = found.id if found is not None else agent_key
        if mode is None:
            why: str | None = f"unknown feature code {ev.dnis}"
        else:
            why = self._may_spy(supervisor, agent, mode) if supervisor else "no agent on this phone"
        agi = AgiSession(self.ami, ev.channel)
        try:
            await agi.answer()
            if why is not None or mode is None:
                self.bus.publish(CallStepped(ev.call_id, "monitor.refused", self.clock(),
                                             {"supervisor": supervisor, "agent": agent,
                                              "why": why}))
                await agi.play("invalid", timeout=30)
                await agi.hangup()
                return
            call_id, channel = self.on_call(agent) or ("", "")
            self.index.submit_audit(self.journal, self.clock(), supervisor, mode, agent,
                                    allowed=True, detail={"call_id": call_id, "from": "phone"})
            self.bus.publish(CallStepped(call_id, "monitor.started", self.clock(),
                                         {"supervisor": supervisor, "agent": agent, "mode": mode}))
            await agi.exec("ChanSpy", f"{channel},{SPY_OPTIONS[mode]}", timeout=14400)
            await agi.hangup()
        except AmiError:
            return

"""The caller on hold: music, the entry message, position and estimated wait, a periodic
message, keys the caller may press, and the way out when waiting is over (maximum wait,
escalation steps, a full or emptied queue): another queue, voicemail, a message or a
callback. The timing decisions are acd/holdplan.py's."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import structlog

from acd import holdplan
from acd.figures import Figures
from acd.model import AcdConfig, Queue, Target
from acd.ringer import Ringer
from acd.state import AcdState, Waiting
from asterisk.errors import AgiChannelGone, AmiError
from core.people import Directory
from core.pool import AgentChanged
from core.ports import Ports

#: the caller leaves a number and hangs up, keeping their place (waiting caller, reason);
#: False when they gave no number that can be called
TakeCallback = Callable[[Waiting, str], Awaitable[bool]]


def hold_rules(q: Queue) -> holdplan.HoldRules:
    ann = q.announcements
    return holdplan.HoldRules(q.max_wait, q.overflow is not None, ann.position_every,
                              ann.periodic, ann.periodic_every,
                              tuple(st.after for st in q.escalation))


class Holding:
    def __init__(self, state: AcdState, ports: Ports, config: AcdConfig, directory: Directory,
                 figures: Figures, ringer: Ringer, *, take_callback: TakeCallback,
                 entry_prompts: Callable[[str], list[str]]) -> None:
        self.state = state
        self.ports = ports
        self.config = config
        self.directory = directory
        self.figures = figures
        self.ringer = ringer
        self.take_callback = take_callback
        self.entry_prompts = entry_prompts  # e.g. "calls may be recorded", before the entry
        self.rules = {name: hold_rules(q) for name, q in config.queues.items()}
        #: the router names escalation overflows by label; here are the targets
        self.step_targets = {name: {st.overflow.label: st.overflow for st in q.escalation
                                    if st.overflow is not None}
                             for name, q in config.queues.items()}
        self.log = structlog.get_logger("acd")

    def start(self, w: Waiting, *, refused: str | None = None, entry: bool = False) -> None:
        w.hold = self.ports.spawn(self.hold(w, refused=refused, entry=entry))

    async def hold(self, w: Waiting, *, refused: str | None = None, entry: bool = False) -> None:
        q = self.config.queues[w.queue]
        rules = self.rules[w.queue]
        agi = self.ports.agi(w.channel)
        try:
            if refused is not None and q.overflow is not None:
                await self.overflow(w, q.overflow, refused)
                return
            await agi.music_on(q.moh)
            first = self.entry_prompts(w.queue) if entry else []
            if entry and q.announcements.entry:
                first.append(q.announcements.entry)
            if first:
                await self._announce(w, first)
            due = holdplan.first_due(rules, self.ports.clock())
            while self.state.is_waiting(w.key):
                wait = holdplan.wake_in(rules, due, entered=w.entered, now=self.ports.clock())
                r = await agi.wait_for_digit(int(wait * 1000), timeout=wait + 30)
                if not self.state.is_waiting(w.key):
                    return
                if r.value > 0 and not self._ringing(w):
                    key = chr(r.value)
                    self.ports.step(w.call_id, "acd.key", {"queue": w.queue, "key": key})
                    target = q.keys.get(key)
                    if target is not None:
                        await self.overflow(w, target, f"key {key}")
                        return
                now = self.ports.clock()
                step = self.state.router.overflow_due(w.key, now)
                decision = holdplan.on_wake(rules, entered=w.entered, now=now,
                                            ringing=self._ringing(w),
                                            step_due=step.target if step else None)
                if isinstance(decision, holdplan.Overflow):
                    target = q.overflow if decision.step is None \
                        else self.step_targets[w.queue][decision.step]
                    assert target is not None
                    await self.overflow(w, target, decision.reason)
                    return
                if isinstance(decision, holdplan.Dispatch):
                    self.ringer.dispatch(w.key)  # escalation may have relaxed the levels
                wanted, due = holdplan.announcements(rules, due, now)
                if "position" in wanted:
                    await self._announce_position(w)
                if "periodic" in wanted and q.announcements.periodic:
                    await self._announce(w, [q.announcements.periodic])
        except AgiChannelGone:
            return
        except AmiError as exc:
            self.log.warning("acd.hold_failed", call_id=w.call_id, error=str(exc))

    def _ringing(self, w: Waiting) -> bool:
        call = self.state.router.calls.get(w.key)
        return call is not None and call.offered

    async def _announce_position(self, w: Waiting) -> None:
        if w.key not in self.state.router.calls:
            return
        position = self.state.router.position(w.key)
        ewt = self.figures.eta(w.queue, position)
        minutes = max(1, round(ewt / 60))
        self.ports.step(w.call_id, "acd.announced",
                        {"position": position, "estimated_wait": round(ewt)})
        if position == 1:
            await self._announce(w, ["queue-youarenext"])
        else:
            await self._announce(w, ["queue-thereare"], number=position - 1,
                                 after=["queue-callswaiting"])
        await self._announce(w, ["queue-holdtime"], number=minutes, after=["queue-minutes"])

    async def _announce(self, w: Waiting, prompts: list[str], *, number: int | None = None,
                        after: list[str] | None = None) -> None:
        """Music off, prompts (a key pressed during them is ignored), music on again."""
        agi = self.ports.agi(w.channel)
        await agi.music_off()
        for prompt in prompts:
            await agi.prompt(prompt)
        if number is not None:
            await agi.say_number(number)
        for prompt in after or []:
            await agi.prompt(prompt)
        await agi.music_on(self.config.queues[w.queue].moh)

    # --- the way out ----------------------------------------------------------------------

    async def overflow(self, w: Waiting, target: Target, reason: str) -> None:
        now = self.ports.clock()
        self.ports.step(w.call_id, "acd.overflowed", {
            "from": w.queue, "to": target.label, "reason": reason,
            "wait": round(now - w.entered, 3)}, at=now)
        if target.callback:
            if not await self.take_callback(w, reason):
                self.start(w)  # no number to call: they go on waiting on the line
            return
        self.figures.count(w.queue, "overflowed")
        if target.queue:  # keeps the caller's original arrival time
            self.state.move(w, target.queue)
            self.figures.count(target.queue, "entered")
            self.state.router.move_call(w.key, target.queue)
            self.ports.update(w.call_id, queue=target.queue)
            self.ringer.dispatch(w.key)
            self.start(w)
            return
        self.state.remove(w.key)
        self.state.router.remove_call(w.key)
        self.ports.data(w.call_id, {"overflow": {"from": w.queue, "to": target.label,
                                                 "reason": reason}}, outcome="overflowed", at=now)
        agi = self.ports.agi(w.channel)
        await agi.music_off()
        if target.voicemail:
            await agi.voicemail(target.voicemail, "u")
        else:
            for prompt in target.message or []:
                await agi.play(prompt)
        await agi.hangup()

    def agent_changed(self, change: AgentChanged) -> None:
        """The last agent of a `leave_empty` queue logged out: its callers overflow."""
        if change.after.state != "logged_out" or change.before.state == "logged_out":
            return
        agent = self.directory.get(change.agent_id)
        for queue in agent.queues if agent is not None else ():
            q = self.config.queues[queue]
            if not q.leave_empty or q.overflow is None or self.figures.logged_in(queue):
                continue
            for w in self.state.in_queue(queue):
                if not isinstance(w, Waiting):
                    continue
                if w.hold is not None:
                    w.hold.cancel()
                w.hold = self.ports.spawn(self.overflow(w, q.overflow, "no agents left"))

"""Callbacks that keep the caller's place, and follow-ups: a place in a queue with no one
on the line. At its turn an agent is rung; once they answer, the engine dials the
customer and bridges them. Unanswered dial-backs are retried; every place is stored
(`callbacks` table) and survives a restart."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import structlog

from acd.callbacks import callback_number, next_try
from acd.figures import Figures
from acd.model import AcdConfig
from acd.ringer import Ringer
from acd.state import AcdState, Callback, Waiting
from asterisk import actions
from asterisk import dialplan as dp
from asterisk.errors import AmiError
from asterisk.events import OriginateResponse
from core.events import CallConnected
from core.ports import Ports

FOLLOW_UP_GRACE = 600.0  # seconds a follow-up waits for its agent before the queue takes it
OWNER = "acd"


class Dialback:
    def __init__(self, state: AcdState, ports: Ports, config: AcdConfig, figures: Figures,
                 ringer: Ringer) -> None:
        self.state = state
        self.ports = ports
        self.config = config
        self.figures = figures
        self.ringer = ringer
        self.log = structlog.get_logger("acd")

    # --- a caller asks to be called back ---------------------------------------------------

    async def take(self, w: Waiting, reason: str) -> bool:
        """The caller leaves a number and hangs up; their place in the queue is kept.
        False when they gave no number that can be called (they go on waiting)."""
        q = self.config.queues[w.queue]
        agi = self.ports.agi(w.channel)
        await agi.music_off()
        typed = ""
        if q.callback.ask_number:
            r = await agi.get_data("vm-enter-num-to-call", 6000, 16, timeout=60)
            typed = r.result if r.result != "-1" else ""
        number = callback_number(typed, w.caller_num)
        now = self.ports.clock()
        if number is not None and not self.config.may_dial(number):
            number, why = None, "a number this center may not call (outside_numbers)"
        else:
            why = "no valid number to call back"
        if number is None or not self.state.is_waiting(w.key):
            self.ports.step(w.call_id, "acd.callback_refused", {
                "queue": w.queue, "typed": typed[:20], "why": why}, at=now)
            await agi.prompt("privacy-incorrect")
            return False
        call = self.state.router.calls[w.key]
        cb = Callback(f"cb{uuid.uuid4().hex[:14]}", w.call_id, w.queue, number, w.entered,
                      dict(w.data))
        priority = call.priority - q.priority
        self.state.remove(w.key)
        self.state.router.remove_call(w.key)
        self._save(cb.id, now, origin_call_id=w.call_id, number=number, queue=w.queue,
                   skills=call.needs, priority=priority, data=w.data, requested_at=now,
                   entered_at=w.entered, due_at=now, attempts=0, status="pending", result="")
        self.ports.step(w.call_id, "acd.callback_requested", {
            "queue": w.queue, "number": number, "reason": reason, "callback_id": cb.id}, at=now)
        self.ports.data(w.call_id, {"callback": {"id": cb.id, "number": number,
                                                 "queue": w.queue, "requested_at": now}},
                        outcome="callback", at=now)
        self.enqueue(cb, call.needs, priority)
        self.figures.count(w.queue, "callback")
        await agi.prompt("you-entered")
        await agi.say_digits(number.lstrip("+"))
        await agi.play("auth-thankyou", timeout=60)
        await agi.hangup()
        return True

    def enqueue(self, cb: Callback, needs: dict[str, int], priority: int) -> None:
        self.state.add(cb)
        pinned = cb.pinned if cb.pinned is not None and cb.pinned in self.ports.pool else None
        self.state.router.add_call(cb.id, cb.queue, needs=needs, priority=priority,
                                   entered=cb.entered, agent=pinned)
        self.ringer.dispatch(cb.id)
        cb.hold = self.ports.spawn(self._follow_escalation(cb))
        if pinned is not None:  # their follow-up; if they are away, the queue takes it
            self.ringer.unpin_later(cb.id, FOLLOW_UP_GRACE)

    def schedule_follow_up(self, origin: str, number: str, queue: str, due: float,
                           agent: str | None, data: dict[str, Any]) -> str:
        """A ticket needing follow-up: at `due` the agent (or the queue) is offered the
        call, and the customer is dialled when they answer; retried as callbacks are."""
        now = self.ports.clock()
        cb = Callback(f"fu{uuid.uuid4().hex[:14]}", origin, queue, number, due, dict(data),
                      pinned=agent)
        self._save(cb.id, now, origin_call_id=origin, number=number, queue=queue, agent=agent,
                   skills={}, priority=0, data=data, requested_at=now, entered_at=due,
                   due_at=due, attempts=0, status="pending", result="")
        self.ports.step(origin, "acd.follow_up_scheduled", {
            "callback_id": cb.id, "due": due, "agent": agent, "queue": queue}, at=now)
        self.ports.spawn(self._retry_later(cb, {}, 0, due))
        return cb.id

    async def _follow_escalation(self, cb: Callback) -> None:
        """Nobody holds the line for a callback: look for agents again as its wait reaches
        each escalation step (the router relaxes the levels by itself)."""
        for step in self.config.queues[cb.queue].escalation:
            if step.min_level is None:
                continue
            delay = cb.entered + step.after - self.ports.clock()
            if delay > 0:
                await asyncio.sleep(delay)
            if not self.state.is_waiting(cb.key):
                return
            self.ringer.dispatch(cb.key)

    async def load(self) -> int:
        """After a start: callbacks still owed go back to their queues in their places."""
        now = self.ports.clock()
        rows = [r for r in await self.ports.store.callbacks() if r.status in ("pending", "dialing")]
        for row in rows:
            if row.queue not in self.config.queues:
                self.log.error("acd.callback_queue_gone", callback=row.id, queue=row.queue)
                self._save(row.id, now, status="failed", result="queue_gone")
                continue
            cb = Callback(row.id, row.origin_call_id or row.id, row.queue, row.number,
                          row.entered_at.timestamp(), dict(row.data or {}),
                          attempts=row.attempts, pinned=row.agent)
            due = row.due_at.timestamp()
            if due > now:
                self.ports.spawn(self._retry_later(cb, dict(row.skills), row.priority, due))
            else:
                self.enqueue(cb, dict(row.skills), row.priority)
        self.log.info("acd.callbacks_loaded", count=len(rows))
        return len(rows)

    async def _retry_later(self, cb: Callback, needs: dict[str, int], priority: int,
                           due: float) -> None:
        await asyncio.sleep(max(0.0, due - self.ports.clock()))
        self.enqueue(cb, needs, priority)

    # --- the agent answered: dial the customer ----------------------------------------------

    async def dial_back(self, cb: Callback, agent_id: str, agent_channel: str) -> None:
        now = self.ports.clock()
        pool = self.ports.pool
        rules = self.config.queues[cb.queue].callback
        call = self.state.router.calls.get(cb.key)
        needs, priority = (dict(call.needs), call.priority - self.config.queues[cb.queue].priority) \
            if call is not None else ({}, 0)
        self.state.remove(cb.key)
        self.state.router.remove_call(cb.key)
        if cb.hold is not None:
            cb.hold.cancel()
        call_id = uuid.uuid4().hex[:16]  # this attempt is an interaction of its own
        if self.ports.registry.open(call_id, agent_channel, caller_num=cb.caller_num,
                                    kind="callback", dnis=cb.queue) is None:
            pool.release(agent_id)  # the agent's leg went already
            self.enqueue(cb, needs, priority)
            return
        cb.attempts += 1
        self.state.last_queue[agent_id] = cb.queue
        pool.connect(agent_id, call_id, OWNER)
        self.ports.update(call_id, queue=cb.queue, agent=agent_id, queued_at=cb.entered,
                          offered_at=now)
        self.ports.data(call_id, {**cb.data, "callback": {
            "id": cb.id, "origin_call_id": cb.origin, "attempt": cb.attempts}}, at=now)
        self._save(cb.id, now, status="dialing", attempts=cb.attempts, last_call_id=call_id)
        agent = self.ports.agi(agent_channel)
        try:
            await agent.prompt("pls-hold-while-try", timeout=30)
            await agent.music_on("default", timeout=10)
        except AmiError:
            pass
        leg = f"cbk-{uuid.uuid4().hex[:12]}"
        self.ports.registry.expect(leg, call_id)
        response: OriginateResponse | None = None
        try:
            outcome = await self.ports.ami.originate(actions.originate(
                channel=rules.dial.format(number=cb.caller_num), context=dp.LEGS,
                exten=dp.CALLBACK, channel_id=leg, ring_timeout=rules.ring_timeout,
                caller_id=rules.caller_id or cb.queue, variables={dp.CALL_ID: call_id}))
            response = await asyncio.wait_for(outcome, rules.ring_timeout + 30)
        except (AmiError, TimeoutError) as exc:
            self.log.warning("acd.callback_originate_failed", call_id=call_id, error=str(exc))
        now = self.ports.clock()
        if call_id not in self.ports.registry.calls:  # the agent hung up while it rang
            if response is not None and response.success:
                await self.ports.hangup(response.channel)
            self._failed(cb, call_id, agent_id, "agent_left", needs, priority, count=False)
            return
        if response is None or not response.success:
            why = {3: "no_answer", 5: "busy"}.get(response.reason if response else -1, "failed")
            try:
                await agent.music_off(timeout=10)
                await agent.play("number-not-answering", timeout=30)
            except AmiError:
                pass
            await self.ports.hangup(agent_channel)
            self._failed(cb, call_id, agent_id, why, needs, priority)
            return
        try:
            await self.ports.ami.send(actions.bridge(agent_channel, response.channel))
        except AmiError as exc:
            self.log.warning("acd.bridge_failed", call_id=call_id, agent=agent_id, error=str(exc))
            await self.ports.hangup(response.channel)
            await self.ports.hangup(agent_channel)
            self._failed(cb, call_id, agent_id, "bridge_failed", needs, priority)
            return
        self.state.connect(call_id, agent_id, now, agent_channel, cb.queue)
        self.state.numbers[call_id] = cb.caller_num
        self.figures.count(cb.queue, "answered", now - cb.entered)
        self.ports.bus.publish(CallConnected(call_id, agent_id, agent_channel, now, queue=cb.queue))
        self.ports.step(call_id, "acd.connected", {
            "agent": agent_id, "queue": cb.queue, "wait": round(now - cb.entered, 3),
            "callback_id": cb.id}, at=now)
        self.ports.update(call_id, connected_at=now, wait_s=round(now - cb.entered, 3))
        self._save(cb.id, now, status="done", result="connected")
        self.ports.step(cb.record, "acd.callback_connected", {"call_id": call_id, "agent": agent_id},
                        at=now)

    def _failed(self, cb: Callback, call_id: str, agent_id: str, why: str,
                needs: dict[str, int], priority: int, *, count: bool = True) -> None:
        now = self.ports.clock()
        if not count:
            cb.attempts -= 1
        self.ports.step(call_id, "acd.callback_failed", {"why": why, "attempt": cb.attempts},
                        at=now)
        self.ports.data(call_id, {}, outcome=f"callback_{why}"[:32], at=now)
        self.ports.step(cb.record, "acd.callback_failed",
                        {"call_id": call_id, "why": why, "attempt": cb.attempts}, at=now)
        self.ports.pool.release(agent_id, call_id)
        rules = self.config.queues[cb.queue].callback
        due = next_try(cb.attempts, rules.attempts, rules.retry_after, now) if count else now
        if due is None:
            self._save(cb.id, now, status="failed", result=why, attempts=cb.attempts)
            self.log.info("acd.callback_given_up", callback=cb.id, attempts=cb.attempts)
            return
        self._save(cb.id, now, status="pending", result=why, due_at=due, attempts=cb.attempts)
        self.ports.spawn(self._retry_later(cb, needs, priority, due))

    def _save(self, callback_id: str, at: float, **fields: Any) -> None:
        store = self.ports.store

        async def op() -> None:
            await store.save_callback(callback_id, at, **fields)

        self.ports.journal.submit(f"callback {callback_id}", op)

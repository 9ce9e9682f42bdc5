"""Writes every call to the store: an interaction row and its events (with their MQTT
outbox messages), from the bus's domain events."""

from __future__ import annotations

from typing import Any

from core.bus import Bus
from core.events import CallAnswered, CallDataUpdated, CallEnded, CallRouted, CallStarted, CallStepped
from core.store import Journal, Store
from core.topics import Topics


class CallLog:
    def __init__(self, bus: Bus, store: Store, journal: Journal, topics: Topics | None) -> None:
        self.store = store
        self.journal = journal
        self.topics = topics
        self._seq: dict[str, int] = {}
        bus.subscribe(CallStarted, self._started)
        bus.subscribe(CallAnswered, self._answered)
        bus.subscribe(CallStepped, self._stepped)
        bus.subscribe(CallEnded, self._ended)
        bus.subscribe(CallDataUpdated, self._data)
        bus.subscribe(CallRouted, self._routed)

    def _event(self, call_id: str, kind: str, at: float, data: dict[str, Any],
               *, last: bool = False) -> None:
        topic = self.topics.call_events(call_id) if self.topics is not None else None

        async def op() -> None:
            seq = self._seq.get(call_id)
            if seq is None:  # a call adopted after a restart continues its numbering
                seq = await self.store.max_seq(call_id)
            seq += 1
            await self.store.add_event(call_id, seq, kind, at, data, topic)
            if last:
                self._seq.pop(call_id, None)
            else:
                self._seq[call_id] = seq

        self.journal.submit(f"event {kind} {call_id}", op, outbox=topic is not None)

    def _started(self, ev: CallStarted) -> None:
        async def op() -> None:
            await self.store.start_interaction(
                ev.call_id, kind=ev.kind, caller_num=ev.caller_num, caller_name=ev.caller_name,
                dnis=ev.dnis, channel=ev.channel, at=ev.at)

        self.journal.submit(f"interaction {ev.call_id}", op)
        self._event(ev.call_id, "call.adopted" if ev.adopted else "call.started", ev.at, {
            "channel": ev.channel, "caller_num": ev.caller_num, "caller_name": ev.caller_name,
            "dnis": ev.dnis, "context": ev.context})

    def _answered(self, ev: CallAnswered) -> None:
        async def op() -> None:
            await self.store.answer_interaction(ev.call_id, ev.at)

        self.journal.submit(f"answer {ev.call_id}", op)
        self._event(ev.call_id, "call.answered", ev.at, {"channel": ev.channel})

    def _stepped(self, ev: CallStepped) -> None:
        self._event(ev.call_id, ev.kind, ev.at, ev.data)

    def _data(self, ev: CallDataUpdated) -> None:
        async def op() -> None:
            await self.store.merge_interaction_data(ev.call_id, ev.data, ev.language, ev.outcome)

        self.journal.submit(f"data {ev.call_id}", op)

    def _routed(self, ev: CallRouted) -> None:
        routing = {"route": {"kind": ev.kind, "target": ev.target, "skills": ev.skills,
                             "priority": ev.priority}}

        async def op() -> None:
            await self.store.merge_interaction_data(ev.call_id, routing, ev.language)

        self.journal.submit(f"routed {ev.call_id}", op)

    def _ended(self, ev: CallEnded) -> None:
        outcome = "lost" if ev.lost else "completed"
        self._event(ev.call_id, "call.ended", ev.at,
                    {"channel": ev.channel, "cause": ev.cause, "outcome": outcome}, last=True)

        async def op() -> None:
            await self.store.end_interaction(ev.call_id, ev.at, cause=ev.cause, outcome=outcome)

        self.journal.submit(f"end {ev.call_id}", op)

"""Writes every call to the store: an interaction row and its events (with their MQTT
outbox messages), from the bus's domain events."""

from __future__ import annotations

from typing import Any

import structlog

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
        #: each call's outcome as the services set it (call.ended says the same as its row)
        self._outcomes: dict[str, str] = {}
        self.log = structlog.get_logger("calls")
        bus.subscribe(CallStarted, self._started)
        bus.subscribe(CallAnswered, self._answered)
        bus.subscribe(CallStepped, self._stepped)
        bus.subscribe(CallEnded, self._ended)
        bus.subscribe(CallDataUpdated, self._data)
        bus.subscribe(CallRouted, self._routed)

    def _event(self, call_id: str, kind: str, at: float, data: dict[str, Any],
               *, last: bool = False) -> None:
        topic = self.topics.call_events(call_id) if self.topics is not None else None
        # the same event, under the same name, in the log as in SQL and on MQTT
        self.log.info(kind, call_id=call_id, **_loggable(data))

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
        if ev.outcome is not None:
            self._outcomes[ev.call_id] = ev.outcome  # the latest, as the row keeps it

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
        # what the row will say: the outcome a service set (abandoned, answered, ...), else
        # completed (or lost: the channel vanished while the engine was away)
        outcome = self._outcomes.pop(ev.call_id, None) or ("lost" if ev.lost else "completed")
        self._event(ev.call_id, "call.ended", ev.at,
                    {"channel": ev.channel, "cause": ev.cause, "outcome": outcome}, last=True)

        async def op() -> None:
            await self.store.end_interaction(ev.call_id, ev.at, cause=ev.cause, outcome=outcome)

        self.journal.submit(f"end {ev.call_id}", op)


#: fields a log line takes from an event's data (the rest: in SQL and on MQTT)
LOGGED = ("queue", "agent", "campaign", "outcome", "node", "key", "keys", "wait", "reason",
          "caller_num", "dnis", "channel", "cause", "code", "from", "to", "segment", "why",
          "status", "lead", "priority", "position", "target", "route", "digits", "misses")


def _loggable(data: dict[str, Any]) -> dict[str, Any]:
    """A call event's data for one log line: the fields people look for (queue, agent,
    campaign first), short values only; the event name must not be overwritten."""
    out: dict[str, Any] = {}
    for key in LOGGED:
        value = data.get(key)
        if value is None or isinstance(value, dict | list):
            continue
        out[key if key not in ("from", "to") else f"{key}_"] = value if not isinstance(value, str) \
            else value[:120]
    return out

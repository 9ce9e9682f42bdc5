"""After-call work: the agent closes the call (disposition, notes, ticket status, a
follow-up), updates the customer's record, or escalates to the next tier.

Every command is checked at once and answered with a reason when refused; what it
stores is written in one transaction through the journal (retried, never half-way).
"""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Any

import structlog

from acd.records import AfterCallRecords
from acd.wrapup import Closing, check_closing, fill_template, template_fields
from core.events import CallStepped
from ivr.schedule import is_open

if TYPE_CHECKING:
    from acd.service import AcdService

CUSTOMER_FIELDS = {"name": 200, "email": 200, "address": 500, "notes": 4000}
EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]{2,}$")


class AfterCall:
    def __init__(self, acd: AcdService, records: AfterCallRecords) -> None:
        self.acd = acd
        self.records = records
        self.closed: set[str] = set()  # calls whose disposition the agent gave
        self.log = structlog.get_logger("acd.aftercall")

    def _current(self, agent_id: str) -> tuple[str, str] | str:
        """(call_id, queue) of the call the agent is on or wrapping up, or why there is none."""
        if agent_id not in self.acd.agents:
            return f"unknown agent {agent_id!r}"
        status = self.acd.status[agent_id]
        if status.state not in ("on_call", "wrapup") or not status.call_id:
            return f"not on a call or in wrap-up ({status.state})"
        return status.call_id, self.acd._queue_of(agent_id)

    # --- the disposition --------------------------------------------------------------

    def disposition(self, agent_id: str, code: str, notes: str = "", *, ticket: str | None = None,
                    follow_up_at: str | None = None, follow_up_to: str | None = None) -> str | None:
        current = self._current(agent_id)
        if isinstance(current, str):
            return current
        call_id, queue = current
        config = self.acd.config
        hours = config.hours
        closing = check_closing(
            config.queues[queue].dispositions, code, notes, notes_max=config.notes_max,
            ticket=ticket, follow_up_at=follow_up_at, follow_up_to=follow_up_to,
            now=self.acd.clock(),
            is_open=(lambda when: is_open(hours, when)) if hours is not None else None)
        if isinstance(closing, str):
            self.log.info("acd.disposition_refused", call_id=call_id, agent=agent_id, why=closing)
            return closing
        self.closed.add(call_id)
        self._close(call_id, agent_id, queue, closing, flagged=False)
        return None

    def _close(self, call_id: str, agent_id: str, queue: str, c: Closing, *, flagged: bool) -> None:
        now = self.acd.clock()
        tier = self.acd.config.queues[queue].tier
        self.acd.bus.publish(CallStepped(call_id, "acd.disposition", now, {
            "agent": agent_id, "code": c.code, "ticket": c.ticket, "flagged": flagged,
            "follow_up_at": c.follow_up_at}))
        number = self.acd.numbers.get(call_id, "")  # kept from the connection to wrap-up's end

        async def op() -> None:
            await self.records.close_call(call_id, agent=agent_id, code=c.code, notes=c.notes,
                                          status=c.ticket, at=now, flagged=flagged, queue=queue,
                                          tier=tier)

        self.acd.journal.submit(f"disposition {call_id}", op)
        if c.ticket == "closed":
            self.acd.surveys.after_close(call_id, number)
        if c.follow_up_at is not None and number:
            self.acd.schedule_follow_up(call_id, number, queue, c.follow_up_at,
                                        agent_id if c.follow_up_to == "agent" else None,
                                        {"follow_up": True, "disposition": c.code})

    def wrapup_started(self, agent_id: str, call_id: str, queue: str) -> None:
        """The agent's desktop gets the queue's codes with their templates filled in."""
        d = self.acd.config.queues[queue].dispositions
        if d is None or self.acd.prefix is None:
            return
        self.acd.spawn(self._offer_templates(agent_id, call_id, queue))

    async def _offer_templates(self, agent_id: str, call_id: str, queue: str) -> None:
        d = self.acd.config.queues[queue].dispositions
        assert d is not None
        try:  # the interaction's row was written when the call started
            facts = await self.records.call_facts(call_id)
        except Exception as exc:  # a locked database: the templates go out unfilled
            self.log.warning("acd.template_facts_failed", call_id=call_id, error=str(exc)[:200])
            facts = {}
        fields = template_fields(customer_name=facts.get("customer_name", ""),
                                 account=facts.get("account", ""),
                                 number=facts.get("number", ""), at=self.acd.clock(),
                                 reference=facts.get("reference", call_id), agent=agent_id,
                                 queue=queue)
        payload = json.dumps({"v": 1, "call_id": call_id, "agent": agent_id, "queue": queue,
                              "default": d.default, "codes": [
                                  {"code": code, "notes": spec.notes, "ticket": spec.ticket,
                                   "template": fill_template(spec.template, fields)
                                   if spec.template else None}
                                  for code, spec in d.codes.items()]})
        topic = f"{self.acd.prefix}agents/{agent_id}/wrapup"
        now = self.acd.clock()

        async def op() -> None:
            await self.acd.store.add_outbox(topic, payload, now)

        self.acd.journal.submit(f"wrapup codes {call_id}", op, outbox=True)

    def wrapup_ended(self, agent_id: str, call_id: str, queue: str) -> None:
        """No disposition given: the queue's default, and the interaction is flagged."""
        if call_id in self.closed:
            self.closed.discard(call_id)
            return
        d = self.acd.config.queues[queue].dispositions
        if d is None:
            return
        spec = d.codes[d.default]
        self._close(call_id, agent_id, queue, Closing(d.default, "", spec.ticket, None, "agent"),
                    flagged=True)

    # --- the customer's record --------------------------------------------------------

    def update_customer(self, agent_id: str, fields: dict[str, Any]) -> str | None:
        current = self._current(agent_id)
        if isinstance(current, str):
            return current
        call_id, _ = current
        if not fields:
            return "no fields to update"
        clean: dict[str, str] = {}
        for key, value in fields.items():
            limit = CUSTOMER_FIELDS.get(key)
            if limit is None:
                return f"unknown customer field {key!r} (one of {sorted(CUSTOMER_FIELDS)})"
            if not isinstance(value, str):
                return f"{key} must be text"
            value = value.strip()
            if len(value) > limit:
                return f"{key} is {len(value)} characters; the limit is {limit}"
            if key == "email" and value and not EMAIL.match(value):
                return f"email {value!r} is not an email address"
            clean[key] = value
        number = self.acd.numbers.get(call_id, "")
        if not number:
            return "the caller's number is unknown: no customer record to update"
        now = self.acd.clock()

        async def op() -> None:
            changed = await self.records.update_customer(number, clean, agent=agent_id,
                                                         call_id=call_id, at=now)
            self.log.info("acd.customer_updated", call_id=call_id, agent=agent_id,
                          fields=changed)

        self.acd.journal.submit(f"customer {call_id}", op)
        self.acd.bus.publish(CallStepped(call_id, "acd.customer_updated", now,
                                         {"agent": agent_id, "fields": sorted(clean)}))
        return None

    # --- escalation -------------------------------------------------------------------

    def escalate(self, agent_id: str, notes: str) -> str | None:
        """The caller goes to this queue's next tier, with the ticket and the agent's note."""
        current = self._current(agent_id)
        if isinstance(current, str):
            return current
        call_id, queue = current
        if self.acd.status[agent_id].state != "on_call":
            return "escalate during the call (the caller is no longer on the line)"
        to = self.acd.config.queues[queue].escalate_to
        if to is None:
            return f"queue {queue!r} has no next tier (escalate_to)"
        notes = notes.strip()
        if not notes:
            return "an escalation needs a note for the next tier"
        if len(notes) > self.acd.config.notes_max:
            return f"notes are {len(notes)} characters; the limit is {self.acd.config.notes_max}"
        why = self.acd.transfer(agent_id, f"queue:{to}")
        if why is not None:
            return why
        now = self.acd.clock()
        tier = self.acd.config.queues[to].tier

        async def op() -> None:
            await self.records.escalate(call_id, agent=agent_id, to_queue=to, tier=tier,
                                        note=notes, at=now)

        self.acd.journal.submit(f"escalate {call_id}", op)
        self.acd.bus.publish(CallStepped(call_id, "acd.escalated", now, {
            "agent": agent_id, "from": queue, "to": to, "tier": tier}))
        self.closed.add(call_id)  # the next tier closes it
        return None

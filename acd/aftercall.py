"""After-call work: the agent closes the call (disposition, notes, ticket status, a
follow-up), updates the customer's record, or escalates to the next tier.

Every command is checked at once and answered with a reason when refused; what it
stores is written in one transaction through the journal (retried, never half-way).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import structlog

from acd.dialback import Dialback
from acd.model import AcdConfig
from acd.state import AcdState
from acd.survey import Surveys
from core.dispositions import Closing, check_closing, fill_template, template_fields
from core.payloads import WrapupCode, WrapupCodes
from core.people import Directory
from core.pool import AgentChanged
from core.ports import Ports
from core.records import AfterCallRecords
from core.schedule import is_open

#: a blind transfer of the agent's caller (agent, target) -> why refused, or None
TransferCaller = Callable[[str, str], str | None]



class AfterCall:
    def __init__(self, state: AcdState, ports: Ports, config: AcdConfig, directory: Directory,
                 records: AfterCallRecords, *, dialback: Dialback, surveys: Surveys,
                 transfer: TransferCaller) -> None:
        self.state = state
        self.ports = ports
        self.config = config
        self.directory = directory
        self.records = records
        self.dialback = dialback
        self.surveys = surveys
        self.transfer = transfer
        self.log = structlog.get_logger("acd.aftercall")

    def _current(self, agent_id: str) -> tuple[str, str] | str:
        """(call_id, queue) of the call the agent is on or wrapping up, or why there is none."""
        if agent_id not in self.directory:
            return f"unknown agent {agent_id!r}"
        status = self.ports.pool.status(agent_id)
        if status.state not in ("on_call", "wrapup") or not status.call_id:
            return f"not on a call or in wrap-up ({status.state})"
        return status.call_id, self.state.queue_of(agent_id)

    def agent_changed(self, change: AgentChanged) -> None:
        """Wrap-up starts: the codes go to the agent's desktop. It ends without a
        disposition: the queue's default, flagged."""
        before, after = change.before, change.after
        if before.owner != "acd" and after.owner != "acd":
            return
        if after.state == "wrapup" and before.state != "wrapup" and after.call_id:
            self.wrapup_started(change.agent_id, after.call_id,
                                self.state.queue_of(change.agent_id))
        elif before.state == "wrapup" and after.state != "wrapup" and before.call_id:
            self.wrapup_ended(change.agent_id, before.call_id,
                              self.state.queue_of(change.agent_id))
            self.state.numbers.pop(before.call_id, None)

    # --- the disposition --------------------------------------------------------------

    def disposition(self, agent_id: str, code: str, notes: str = "", *, ticket: str | None = None,
                    follow_up_at: str | None = None, follow_up_to: str | None = None) -> str | None:
        current = self._current(agent_id)
        if isinstance(current, str):
            return current
        call_id, queue = current
        config = self.config
        hours = config.hours
        closing = check_closing(
            config.queues[queue].dispositions, code, notes, notes_max=config.notes_max,
            ticket=ticket, follow_up_at=follow_up_at, follow_up_to=follow_up_to,
            now=self.ports.clock(),
            is_open=(lambda when: is_open(hours, when)) if hours is not None else None)
        if not isinstance(closing, str) and closing.follow_up_at is not None:
            number = self.state.numbers.get(call_id, "")
            if number and not config.may_dial(number):
                closing = (f"a follow-up would call {number}, a number this center may not "
                           f"call (outside_numbers)")
        if isinstance(closing, str):
            self.log.info("acd.disposition_refused", call_id=call_id, agent=agent_id, why=closing)
            return closing
        self.state.closed.add(call_id)
        self._close(call_id, agent_id, queue, closing, flagged=False)
        return None

    def _close(self, call_id: str, agent_id: str, queue: str, c: Closing, *, flagged: bool) -> None:
        now = self.ports.clock()
        tier = self.config.queues[queue].tier
        self.ports.step(call_id, "acd.disposition", {
            "agent": agent_id, "code": c.code, "ticket": c.ticket, "flagged": flagged,
            "follow_up_at": c.follow_up_at}, at=now)
        number = self.state.numbers.get(call_id, "")  # kept from the connection to wrap-up's end

        async def op() -> None:
            await self.records.close_call(call_id, agent=agent_id, code=c.code, notes=c.notes,
                                          status=c.ticket, at=now, flagged=flagged, queue=queue,
                                          tier=tier)

        self.ports.journal.submit(f"disposition {call_id}", op)
        if c.ticket == "closed":
            self.surveys.after_close(call_id, number)
        if c.follow_up_at is not None and number:
            self.dialback.schedule_follow_up(call_id, number, queue, c.follow_up_at,
                                             agent_id if c.follow_up_to == "agent" else None,
                                             {"follow_up": True, "disposition": c.code})

    def wrapup_started(self, agent_id: str, call_id: str, queue: str) -> None:
        """The agent's desktop gets the queue's codes with their templates filled in."""
        d = self.config.queues[queue].dispositions
        if d is None or self.ports.topics is None:
            return
        self.ports.spawn(self._offer_templates(agent_id, call_id, queue))

    async def _offer_templates(self, agent_id: str, call_id: str, queue: str) -> None:
        d = self.config.queues[queue].dispositions
        topics = self.ports.topics
        assert d is not None and topics is not None
        try:  # the interaction's row was written when the call started
            facts = await self.records.call_facts(call_id)
        except Exception as exc:  # a locked database: the templates go out unfilled
            self.log.warning("acd.template_facts_failed", call_id=call_id, error=str(exc)[:200])
            facts = {}
        fields = template_fields(customer_name=facts.get("customer_name", ""),
                                 account=facts.get("account", ""),
                                 number=facts.get("number", ""), at=self.ports.clock(),
                                 reference=facts.get("reference", call_id), agent=agent_id,
                                 queue=queue)
        codes = WrapupCodes(call_id=call_id, agent=agent_id, queue=queue, default=d.default,
                            codes=[WrapupCode(code=code, notes=spec.notes, ticket=spec.ticket,
                                              template=fill_template(spec.template, fields)
                                              if spec.template else None)
                                   for code, spec in d.codes.items()])
        self.ports.outbox(f"wrapup codes {call_id}", topics.agent_wrapup(agent_id), codes.encode())

    def wrapup_ended(self, agent_id: str, call_id: str, queue: str) -> None:
        """No disposition given: the queue's default, and the interaction is flagged."""
        if call_id in self.state.closed:
            self.state.closed.discard(call_id)
            return
        d = self.config.queues[queue].dispositions
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
        return self.records.change_customer(self.ports, self.state.numbers.get(call_id, ""),
                                            fields, agent=agent_id, call_id=call_id,
                                            kind="acd.customer_updated")

    # --- escalation -------------------------------------------------------------------

    def escalate(self, agent_id: str, notes: str) -> str | None:
        """The caller goes to this queue's next tier, with the ticket and the agent's note."""
        current = self._current(agent_id)
        if isinstance(current, str):
            return current
        call_id, queue = current
        if self.ports.pool.state(agent_id) != "on_call":
            return "escalate during the call (the caller is no longer on the line)"
        to = self.config.queues[queue].escalate_to
        if to is None:
            return f"queue {queue!r} has no next tier (escalate_to)"
        notes = notes.strip()
        if not notes:
            return "an escalation needs a note for the next tier"
        if len(notes) > self.config.notes_max:
            return f"notes are {len(notes)} characters; the limit is {self.config.notes_max}"
        why = self.transfer(agent_id, f"queue:{to}")
        if why is not None:
            return why
        now = self.ports.clock()
        tier = self.config.queues[to].tier

        async def op() -> None:
            await self.records.escalate(call_id, agent=agent_id, to_queue=to, tier=tier,
                                        note=notes, at=now)

        self.ports.journal.submit(f"escalate {call_id}", op)
        self.ports.step(call_id, "acd.escalated", {
            "agent": agent_id, "from": queue, "to": to, "tier": tier}, at=now)
        self.state.closed.add(call_id)  # the next tier closes it
        return None

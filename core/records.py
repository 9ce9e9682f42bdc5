"""What after-call work writes (for queues' calls and campaigns' alike): dispositions and
notes, tickets and their history, customer changes. Each operation is one transaction:
nothing is stored half-way."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import structlog
from sqlalchemy import select

from core.models import Customer, CustomerChange, EmailRow, Interaction, Ticket, TicketEvent
from core.ports import Ports
from core.store import Store, ts

OPEN = ("open", "requires_follow_up")
#: what an agent may change on a customer's record, and how long each may be
CUSTOMER_FIELDS = {"name": 200, "email": 200, "address": 500, "notes": 4000}
EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]{2,}$")


def customer_fields(fields: Mapping[str, Any]) -> dict[str, str] | str:
    """The fields cleaned, or why they are refused (pure)."""
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
    return clean


class AfterCallRecords:
    def __init__(self, store: Store) -> None:
        self.store = store

    async def close_call(self, call_id: str, *, agent: str, code: str, notes: str,
                         status: str | None, at: float, flagged: bool, queue: str | None,
                         tier: int) -> int | None:
        """The disposition on the interaction; the customer's open ticket updated (or a
        new one opened) with `status`, and a line in its history. Returns the ticket id."""
        async with self.store.session.begin() as s:
            row = await s.get(Interaction, call_id)
            if row is None:
                return None
            row.disposition, row.notes, row.flagged = code, notes, flagged
            if status is None or row.customer_id is None:
                return row.ticket_id
            ticket = await self._open_ticket(s, row.customer_id, row.ticket_id)
            if ticket is None:
                ticket = Ticket(customer_id=row.customer_id, status=status, subject=code,
                                interaction_id=call_id, created_at=ts(at), updated_at=ts(at),
                                tier=tier, queue=queue)
                s.add(ticket)
                await s.flush()
            else:
                ticket.status, ticket.updated_at = status, ts(at)
                ticket.tier = max(ticket.tier, tier)
            s.add(TicketEvent(ticket_id=ticket.id, at=ts(at), status=status,
                              interaction_id=call_id, agent=agent, disposition=code,
                              tier=tier, note=notes))
            row.ticket_id = ticket.id
            return int(ticket.id)

    @staticmethod
    async def _open_ticket(s: Any, customer_id: int, ticket_id: int | None) -> Ticket | None:
        if ticket_id is not None:
            found: Ticket | None = await s.get(Ticket, ticket_id)
            if found is not None:
                return found
        result: Ticket | None = await s.scalar(
            select(Ticket).where(Ticket.customer_id == customer_id, Ticket.status.in_(OPEN))
            .order_by(Ticket.updated_at.desc()).limit(1))
        return result

    async def escalate(self, call_id: str, *, agent: str, to_queue: str, tier: int, note: str,
                       at: float) -> int | None:
        """The call's ticket goes to the next tier with the agent's note (opened if the call
        had none); the caller's interaction carries it on."""
        async with self.store.session.begin() as s:
            row = await s.get(Interaction, call_id)
            if row is None or row.customer_id is None:
                return None
            ticket = await self._open_ticket(s, row.customer_id, row.ticket_id)
            if ticket is None:
                ticket = Ticket(customer_id=row.customer_id, status="open",
                                subject=f"escalated to {to_queue}", interaction_id=call_id,
                                created_at=ts(at), updated_at=ts(at), tier=tier, queue=to_queue)
                s.add(ticket)
                await s.flush()
            ticket.tier, ticket.queue, ticket.updated_at = tier, to_queue, ts(at)
            s.add(TicketEvent(ticket_id=ticket.id, at=ts(at), status="escalated",
                              interaction_id=call_id, agent=agent, tier=tier, note=note))
            row.ticket_id = ticket.id
            row.notes = (row.notes + "\n" if row.notes else "") + note
            return int(ticket.id)

    def change_customer(self, ports: Ports, number: str, fields: Mapping[str, Any], *,
                        agent: str, call_id: str, kind: str) -> str | None:
        """An agent's changes to the caller's record (`update_customer`): checked, written
        by the journal with their history, and a call event `kind`; why not, or None."""
        clean = customer_fields(fields)
        if isinstance(clean, str):
            return clean
        if not number:
            return "the caller's number is unknown: no customer record to update"
        now = ports.clock()

        async def op() -> None:
            changed = await self.update_customer(number, clean, agent=agent, call_id=call_id,
                                                 at=now)
            structlog.get_logger("records").info(kind, call_id=call_id, agent=agent,
                                                 fields=changed)

        ports.journal.submit(f"customer {call_id}", op)
        ports.step(call_id, kind, {"agent": agent, "fields": sorted(clean)}, at=now)
        return None

    async def update_customer(self, number: str, fields: dict[str, str], *, agent: str,
                              call_id: str, at: float) -> list[str]:
        """Set fields on the caller's customer record, with one history row per change."""
        async with self.store.session.begin() as s:
            customer = await s.scalar(select(Customer).where(Customer.number == number))
            if customer is None:
                return []
            changed = []
            for field, value in fields.items():
                old = getattr(customer, field) or ""
                if old == value:
                    continue
                setattr(customer, field, value)
                s.add(CustomerChange(customer_id=customer.id, at=ts(at), field=field, old=old,
                                     new=value, agent=agent, interaction_id=call_id))
                changed.append(field)
            return changed

    async def call_facts(self, call_id: str) -> dict[str, str]:
        """What a note template may use: the customer's name, account and number, the
        ticket as reference."""
        async with self.store.session() as s:
            row = await s.get(Interaction, call_id)
            if row is None:
                return {}
            customer = await s.get(Customer, row.customer_id) if row.customer_id else None
            return {"customer_name": customer.name if customer else row.caller_name,
                    "account": customer.account if customer else "",
                    "number": row.caller_num,
                    "reference": f"T{row.ticket_id}" if row.ticket_id else call_id}

    async def ticket_events(self, ticket_id: int) -> list[TicketEvent]:
        async with self.store.session() as s:
            return list(await s.scalars(select(TicketEvent).where(
                TicketEvent.ticket_id == ticket_id).order_by(TicketEvent.id)))

    async def customer_email(self, number: str) -> str:
        async with self.store.session() as s:
            email = await s.scalar(select(Customer.email).where(Customer.number == number))
            return str(email or "")

    async def queue_email(self, to: str, subject: str, body: str, interaction_id: str,
                          at: float) -> None:
        async with self.store.session.begin() as s:
            s.add(EmailRow(to=to, subject=subject, body=body, interaction_id=interaction_id,
                           created_at=ts(at)))

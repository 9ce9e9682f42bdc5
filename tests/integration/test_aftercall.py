"""After-call work on the simulated PBX: dispositions with notes and templates, tickets
and their history, follow-up callbacks dialled at their time, customer updates and
escalation to the next tier carrying the ticket."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select

from core.models import Customer, CustomerChange, Interaction, Ticket, TicketEvent
from core.store import Store
from sim.endpoints import Endpoint
from tests.conftest import until
from tests.integration.conftest import TIER_QUEUES as QUEUES
from tests.integration.conftest import Rig, Subscriber

AGENTS = """\
skills: [support]
agents:
  - {id: "1001", device: PJSIP/agent1001, skills: {support: 5}, queues: {support: 0}, login: true}
  - {id: "2001", device: PJSIP/agent2001, queues: {tier2: 0}, login: true}
"""
NUMBER = "+34911000000"


async def rows(rig: Rig, model: Any, *where: Any) -> list[Any]:
    await rig.engine.journal.drain()
    store = Store(rig.db)
    try:
        async with store.session() as s:
            return list(await s.scalars(select(model).where(*where)))
    finally:
        await store.close()


async def connected(rig: Rig, patience: float = 60) -> tuple[Any, str]:
    ch = rig.call(NUMBER, patience=patience)
    await until(lambda: rig.state("1001") == "on_call", 10, "the caller with 1001")
    call_id = rig.status("1001").call_id
    assert call_id is not None
    return ch, call_id


async def test_a_disposition_with_notes_closes_the_call_and_keeps_the_ticket_history(
        acd: Callable[..., Awaitable[Rig]], mqtt_url: str) -> None:
    prefix = f"ac{uuid.uuid4().hex[:6]}/"
    async with Subscriber(mqtt_url, prefix) as sub:
        rig = await acd({"agent1001": Endpoint(answer_after=0.5, talk_time=None)}, prefix,
                        queues=QUEUES, agents=AGENTS)
        assert rig.send("1001", "disposition", code="support/resolved") == \
            "not on a call or in wrap-up (ready)"
        ch, call_id = await connected(rig)
        assert rig.send("1001", "disposition", code="sales/order") .startswith(
            "disposition 'sales/order' is not one of this queue's")
        assert rig.send("1001", "disposition", code="support/complaint") == \
            "disposition 'support/complaint' requires notes"
        assert rig.send("1001", "disposition", code="support/complaint", notes="x" * 201) == \
            "notes are 201 characters; the limit is 200"
        assert rig.send("1001", "disposition", code="support/resolved", ticket="lost") == \
            "ticket status 'lost' must be one of ['open', 'resolved', 'closed', 'requires_follow_up']"
        rig.pbx.request_hangup(ch)
        await until(lambda: any(t.endswith("1001/wrapup") for t, _ in sub.messages), 10,
                    "the wrap-up codes with templates")
        [(_, codes)] = [(t, p) for t, p in sub.messages if t.endswith("1001/wrapup")]
        resolved = next(c for c in codes["codes"] if c["code"] == "support/resolved")
        today = datetime.now(UTC).strftime("%Y-%m-%d")
        assert resolved["template"] == f"Helped  ({NUMBER}) on {today}. Ref {call_id}."
        assert rig.send("1001", "disposition", code="support/complaint",
                        notes="  Billed twice for March.  ") is None
    [row] = await rows(rig, Interaction, Interaction.id == call_id)
    assert (row.disposition, row.notes, row.flagged) == ("support/complaint",
                                                         "Billed twice for March.", False)
    [ticket] = await rows(rig, Ticket, Ticket.id == row.ticket_id)
    assert (ticket.status, ticket.subject, ticket.tier) == ("open", "support/complaint", 1)

    # the next call from the same customer updates that ticket, and the screen-pop shows it
    history = await rig.engine.store.customer_history(NUMBER)
    assert [t["id"] for t in history["open_tickets"]] == [ticket.id]
    assert history["ticket_history"][0]["note"] == "Billed twice for March."
    await until(lambda: rig.state("1001") == "ready", 10, "ready")
    ch, second = await connected(rig)
    assert rig.send("1001", "disposition", code="support/resolved", notes="Refunded.") is None
    rig.pbx.request_hangup(ch)
    await asyncio.sleep(0.3)
    [ticket] = await rows(rig, Ticket, Ticket.id == ticket.id)
    assert ticket.status == "resolved"
    events = await rows(rig, TicketEvent, TicketEvent.ticket_id == ticket.id)
    assert [(e.status, e.interaction_id, e.agent) for e in events] == [
        ("open", call_id, "1001"), ("resolved", second, "1001")]


async def test_no_disposition_by_the_end_of_wrap_up_gets_the_default_and_a_flag(
        acd: Callable[..., Awaitable[Rig]]) -> None:
    rig = await acd({"agent1001": Endpoint(answer_after=0.5, talk_time=None)},
                    queues=QUEUES, agents=AGENTS)
    ch, call_id = await connected(rig)
    rig.pbx.request_hangup(ch)
    await until(lambda: rig.state("1001") == "ready", 10, "wrap-up over")
    [row] = await rows(rig, Interaction, Interaction.id == call_id)
    assert (row.disposition, row.flagged) == ("general/other", True)


async def test_a_follow_up_is_dialled_at_its_time_by_the_same_agent(
        acd: Callable[..., Awaitable[Rig]]) -> None:
    rig = await acd({"agent1001": Endpoint(answer_after=0.5, talk_time=None),
                     f"{NUMBER}@trunk": Endpoint(answer_after=0.5, talk_time=3.0)},
                    queues=QUEUES, agents=AGENTS)
    ch, call_id = await connected(rig)
    past = datetime.fromtimestamp(time.time() - 60, UTC).isoformat()
    soon = datetime.fromtimestamp(time.time() + 3, UTC).isoformat()
    assert rig.send("1001", "disposition", code="support/follow_up", notes="Call back with the quote") == \
        "a ticket that requires follow-up needs follow_up_at (ISO 8601 with a zone)"
    assert rig.send("1001", "disposition", code="support/follow_up", notes="n", follow_up_at=past) == \
        f"follow_up_at {past} is in the past"
    assert rig.send("1001", "disposition", code="support/follow_up", notes="n", follow_up_at="tomorrow") == \
        "follow_up_at 'tomorrow' is not an ISO 8601 date and time"
    assert rig.send("1001", "disposition", code="support/follow_up", notes="n",
                    follow_up_at="2030-01-01T10:00:00") == \
        "follow_up_at '2030-01-01T10:00:00' needs a time zone (e.g. +01:00 or Z)"
    assert rig.send("1001", "disposition", code="support/follow_up",
                    notes="Call back with the quote", follow_up_at=soon) is None
    rig.pbx.request_hangup(ch)
    await until(lambda: any(c.name.startswith(f"PJSIP/{NUMBER}@trunk") and c.bridge is not None
                            for c in rig.pbx.channels.values()), 20,
                "the customer called back at the follow-up time")
    rings = [m.get("Channel") for m in rig.server.received if m.get("Action") == "Originate"]
    assert rings == ["PJSIP/agent1001", "PJSIP/agent1001", f"PJSIP/{NUMBER}@trunk"]
    from core.models import CallbackRow

    [cb] = await rows(rig, CallbackRow)
    assert (cb.origin_call_id, cb.agent, cb.data["follow_up"]) == (call_id, "1001", True)
    await until(lambda: rig.state("1001") == "wrapup", 15, "the follow-up ends")
    [cb] = await rows(rig, CallbackRow)
    assert (cb.status, cb.result) == ("done", "connected")
    [row] = await rows(rig, Interaction, Interaction.id == call_id)
    [ticket] = await rows(rig, Ticket, Ticket.id == row.ticket_id)
    assert ticket.status == "requires_follow_up"


async def test_follow_ups_outside_business_hours_are_refused(
        acd: Callable[..., Awaitable[Rig]]) -> None:
    closed = QUEUES.split("notes_max")[0].split("hours:")[0] + \
        "hours: {timezone: Europe/Madrid, weekly: {mon: ['09:00-17:00']}}\nnotes_max" + \
        QUEUES.split("notes_max")[1]
    rig = await acd({"agent1001": Endpoint(answer_after=0.5, talk_time=None)},
                    queues=closed, agents=AGENTS)
    await connected(rig)
    sunday_night = "2030-01-06T23:00:00+01:00"
    assert rig.send(
        "1001", "disposition", code="support/follow_up", notes="n", follow_up_at=sunday_night) == \
        f"follow_up_at {sunday_night} is outside business hours"


async def test_agents_update_the_customer_record_with_history_and_checks(
        acd: Callable[..., Awaitable[Rig]]) -> None:
    rig = await acd({"agent1001": Endpoint(answer_after=0.5, talk_time=None)},
                    queues=QUEUES, agents=AGENTS)
    ch, call_id = await connected(rig)
    assert rig.send("1001", "update_customer", fields={"email": "not-an-email"}) == \
        "email 'not-an-email' is not an email address"
    assert rig.send("1001", "update_customer", fields={"shoe_size": "44"}).startswith(
        "unknown customer field 'shoe_size'")
    assert rig.send("1001", "update_customer", fields={"address": "x" * 501}) == \
        "address is 501 characters; the limit is 500"
    assert rig.send("1001", "update_customer", fields={"name": 7}) == "name must be text"
    assert rig.send("1001", "update_customer", fields={"email": "ana@example.com",
                                          "address": "Calle Mayor 1, Madrid"}) is None
    assert rig.send("1001", "update_customer", fields={"email": "ana.b@example.com"}) is None
    [customer] = await rows(rig, Customer, Customer.number == NUMBER)
    assert (customer.email, customer.address) == ("ana.b@example.com", "Calle Mayor 1, Madrid")
    changes = await rows(rig, CustomerChange, CustomerChange.customer_id == customer.id)
    assert [(c.field, c.old, c.new, c.agent, c.interaction_id) for c in changes] == [
        ("email", "", "ana@example.com", "1001", call_id),
        ("address", "", "Calle Mayor 1, Madrid", "1001", call_id),
        ("email", "ana@example.com", "ana.b@example.com", "1001", call_id)]
    rig.pbx.request_hangup(ch)


async def test_an_escalation_carries_the_ticket_and_notes_to_the_next_tier(
        acd: Callable[..., Awaitable[Rig]]) -> None:
    rig = await acd({"agent1001": Endpoint(answer_after=0.5, talk_time=None),
                     "agent2001": Endpoint(answer_after=0.5, talk_time=None)},
                    queues=QUEUES, agents=AGENTS)
    ch, call_id = await connected(rig)
    assert rig.send("1001", "escalate", notes="") == "an escalation needs a note for the next tier"
    assert rig.send("1001", "escalate", notes="Router keeps rebooting; tried a reset.") is None
    await until(lambda: rig.state("2001") == "on_call", 15, "tier 2 has the caller")
    assert rig.send("2001", "escalate", notes="again") == "queue 'tier2' has no next tier (escalate_to)"
    await until(lambda: rig.state("1001") == "ready", 10, "tier 1 wrapped up")
    [row] = await rows(rig, Interaction, Interaction.id == call_id)
    assert row.flagged is False  # tier 1 passed it on: no default disposition for them
    [ticket] = await rows(rig, Ticket, Ticket.id == row.ticket_id)
    assert (ticket.tier, ticket.queue) == (2, "tier2")
    [event] = await rows(rig, TicketEvent, TicketEvent.ticket_id == ticket.id)
    assert (event.status, event.agent, event.tier, event.note) == (
        "escalated", "1001", 2, "Router keeps rebooting; tried a reset.")
    # tier2 has no dispositions configured: refused with a reason
    assert rig.send("2001", "disposition", code="general/other") == \
        "this queue has no dispositions configured"
    rig.pbx.request_hangup(ch)


SURVEY = """survey:
  delay: 0.5
  ring_timeout: 5
  questions:
    - {id: overall, prompt: beep}
    - {id: agent, prompt: beep, lowest: 1, highest: 5}
"""


async def test_a_closed_ticket_brings_a_survey_call_whose_answers_are_stored(
        acd: Callable[..., Awaitable[Rig]]) -> None:
    from sim.endpoints import caller

    queues = SURVEY + QUEUES.replace("support/resolved: {ticket: resolved,",
                                     "support/resolved: {ticket: closed,")
    rig = await acd({"agent1001": Endpoint(answer_after=0.5, talk_time=None),
                     f"{NUMBER}@trunk": caller(((0.2, "9"), (0.2, "4"), (0.2, "5")),
                                              patience=30, reactive=True)},
                    queues=queues, agents=AGENTS)
    ch, call_id = await connected(rig)
    assert rig.send("1001", "disposition", code="support/resolved") is None
    rig.pbx.request_hangup(ch)

    async def surveyed() -> Any:
        for _ in range(200):
            [row] = await rows(rig, Interaction, Interaction.id == call_id)
            if row.data and "survey" in row.data:
                return row
            await asyncio.sleep(0.1)
        raise AssertionError("no survey answers")

    row = await surveyed()
    # '9' is out of range: asked again, then 4; the second question got 5
    assert row.data["survey"]["answers"] == {"overall": 4, "agent": 5}
    assert row.data["survey"]["complete"] is True
    [survey] = await rows(rig, Interaction, Interaction.id == row.data["survey"]["call_id"])
    assert (survey.kind, survey.caller_num, survey.outcome) == ("survey", NUMBER,
                                                                "survey_complete")


async def test_a_customer_with_an_email_gets_a_survey_email_instead(
        acd: Callable[..., Awaitable[Rig]]) -> None:
    from core.models import EmailRow

    queues = SURVEY + QUEUES.replace("support/resolved: {ticket: resolved,",
                                     "support/resolved: {ticket: closed,")
    rig = await acd({"agent1001": Endpoint(answer_after=0.5, talk_time=None)},
                    queues=queues, agents=AGENTS)
    ch, call_id = await connected(rig)
    assert rig.send("1001", "update_customer", fields={"email": "ana@example.com"}) is None
    assert rig.send("1001", "disposition", code="support/resolved") is None
    rig.pbx.request_hangup(ch)
    for _ in range(100):
        emails = await rows(rig, EmailRow)
        if emails:
            break
        await asyncio.sleep(0.1)
    [email] = emails
    assert (email.to, email.interaction_id, email.sent_at) == ("ana@example.com", call_id, None)
    assert call_id in email.body
    assert not [m for m in rig.server.received if m.get("Action") == "Originate"
                and "@trunk" in m.get("Channel", "")]

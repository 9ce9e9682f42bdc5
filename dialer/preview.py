"""Preview dialing: a free agent (with their line up) is offered the next lead on
`agents/{id}/preview` and held for it; `accept_lead` dials it (no AMD: the agent hears
who answers), `skip_lead` or the campaign's `preview_timeout` gives it back for later.
An offer left to time out pauses the agent (no_answer): they are not at their desk."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable, Coroutine
from typing import Any

import structlog

from core.agentstate import Pause
from core.payloads import LeadOffer
from core.ports import Ports
from dialer.outcomes import skipped
from dialer.state import Offer, Run, owner_of
from dialer.store import LeadRow, LeadStore

#: dial a lead for a run with the agent held for it, under the given call id
Dial = Callable[[Run, LeadRow, str, str], Coroutine[Any, Any, None]]


class Previews:
    def __init__(self, runs: dict[str, Run], ports: Ports, leads: LeadStore, dial: Dial) -> None:
        self.runs = runs
        self.ports = ports
        self.leads = leads
        self.dial = dial
        self.log = structlog.get_logger("dialer")

    def offer(self, run: Run, agent: str, now: float) -> bool:
        """Offer `agent` (free, line idle) the next lead; False when there is none."""
        if agent in run.offers:
            return False
        lead = run.hopper.pop(now)
        if lead is None:
            return False
        call_id = uuid.uuid4().hex[:16]
        if not self.ports.pool.reserve(agent, call_id, owner_of(run.name)):
            run.hopper.push(lead)
            return False
        expires = now + run.config.preview_timeout
        offer = Offer(agent, lead, call_id, expires)
        offer.timer = asyncio.get_running_loop().call_later(
            run.config.preview_timeout, self._expired, run, offer)
        run.offers[agent] = offer
        self._publish(run, agent, lead, expires)
        self.log.info("dialer.lead_offered", campaign=run.name, agent=agent, lead=lead.id)
        return True

    def _publish(self, run: Run, agent: str, lead: LeadRow | None, expires: float) -> None:
        topics = self.ports.topics
        if topics is None:
            return
        shown = run.config.screenpop
        msg = LeadOffer(agent=agent, campaign=run.name, lead=lead.id if lead else None,
                        number=lead.number if lead else "",
                        fields={k: v for k, v in (lead.fields if lead else {}).items()
                                if not shown or k in shown},
                        attempts=lead.attempts if lead else 0, expires_at=expires)
        self.ports.outbox(f"preview {agent}", topics.agent_preview(agent), msg.encode())

    def _find(self, agent: str, lead: int | None) -> tuple[Run, Offer] | str:
        for run in self.runs.values():
            offer = run.offers.get(agent)
            if offer is not None:
                if lead is not None and lead != offer.lead.id:
                    return f"lead {lead} is not the one on offer ({offer.lead.id})"
                return run, offer
        return "no lead is on offer to you"

    def accept(self, agent: str, lead: int | None) -> str | None:
        found = self._find(agent, lead)
        if isinstance(found, str):
            return found
        run, offer = found
        self._withdraw(run, offer, publish=False)
        self.ports.spawn(self.dial(run, offer.lead, agent, offer.call_id))
        self.log.info("dialer.lead_accepted", campaign=run.name, agent=agent, lead=offer.lead.id)
        return None

    def skip(self, agent: str, lead: int | None) -> str | None:
        found = self._find(agent, lead)
        if isinstance(found, str):
            return found
        run, offer = found
        self._give_back(run, offer, "dialer.lead_skipped")
        self.ports.pool.release(agent, offer.call_id)  # ready: the next lead comes
        return None

    def _expired(self, run: Run, offer: Offer) -> None:
        if run.offers.get(offer.agent) is not offer:
            return
        self._give_back(run, offer, "dialer.offer_expired")
        self.ports.pool.release(offer.agent, offer.call_id)
        self.ports.pool.try_apply(offer.agent, Pause("no_answer"), why="no_answer")

    def _give_back(self, run: Run, offer: Offer, event: str) -> None:
        self._withdraw(run, offer, publish=True)
        now = self.ports.clock()
        u = skipped(offer.lead.tries, now)
        run.hopper.hold_back(offer.lead.id)
        self.ports.write(f"lead {offer.lead.id}", run.hopper.save, offer.lead.id, now,
                         state=u.state, dial_rank=u.rank, next_at=u.next_at, tries=u.tries)
        self.log.info(event, campaign=run.name, agent=offer.agent, lead=offer.lead.id)

    def _withdraw(self, run: Run, offer: Offer, *, publish: bool) -> None:
        run.offers.pop(offer.agent, None)
        if offer.timer is not None:
            offer.timer.cancel()
        if publish:
            self._publish(run, offer.agent, None, self.ports.clock())

    def withdraw_all(self, run: Run) -> None:
        """The campaign stopped or paused: offers go back (not counted as skips)."""
        for offer in list(run.offers.values()):
            self._withdraw(run, offer, publish=True)
            run.hopper.push(offer.lead)
            self.ports.pool.release(offer.agent, offer.call_id)
